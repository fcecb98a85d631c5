"""What the hall checks before it opens its database: a hall whose database is missing or empty does not start
again as a new hall at A001, and acknowledged tickets lost with a damaged write-ahead log are noticed (with the
command that mends each), through the real ``kiosk`` command and daemon."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
import requests

from daemon import KIOSK, Customers, Daemon
from kiosk import backup
from util import wait_until

API = "/api/v1"


def kiosk(*args: str) -> subprocess.CompletedProcess:
    """Run a ``kiosk`` command (``run`` would serve, and so fail on the timeout, if it started)."""
    return subprocess.run([KIOSK, *args], capture_output=True, text=True, timeout=30)


def take(url: str, n: int) -> list[dict]:
    """Take ``n`` general tickets."""
    with requests.Session() as s:
        return [s.post(f"{url}{API}/tickets", json={"service": "general"}).json() for _ in range(n)]


def lose_database(data: Path, how: str) -> None:
    """The database goes: deleted, or truncated to zero bytes (with its WAL and shared-memory files gone)."""
    for suffix in ("-wal", "-shm"):
        (data / f"hall.db{suffix}").unlink(missing_ok=True)
    if how == "missing":
        (data / "hall.db").unlink()
    else:
        (data / "hall.db").write_bytes(b"")


@pytest.mark.parametrize("how", ["missing", "zero-byte"])
def test_a_hall_whose_database_is_gone_refuses_to_start_as_a_new_hall(tmp_path, how):
    """Situation: a hall issued A001–A003 and was backed up; then its hall.db is deleted (or left at zero
    bytes), while the token file, the backups and the commit mark remain. A technician even creates a token.
    Action: ``kiosk run`` and ``kiosk db check``.
    Outcome: both exit 3 with ``database_missing``, naming what shows a hall ran there, the restore command and
    ``--new-hall``; nothing is served. ``kiosk run --new-hall`` then starts a new hall, whose first ticket is
    A001, and a restore of the backup instead brings A001–A003 back and numbering goes on at A004."""
    data = tmp_path / "data"
    daemon = Daemon(data).start()
    take(daemon.url, 3)
    daemon.stop()
    assert kiosk("backup", "--data-dir", str(data)).returncode == 0
    lose_database(data, how)
    assert kiosk("token", "create", "--role", "guide", "--data-dir", str(data)).returncode == 0

    refused = kiosk("run", "--data-dir", str(data), "--port", "0")
    assert refused.returncode == backup.EXIT_CORRUPT, refused.stderr
    assert "[database_missing]" in refused.stderr and "Traceback" not in refused.stderr
    assert "technician.token" in refused.stderr and "backups/" in refused.stderr
    assert f"kiosk restore --latest --data-dir {data}" in refused.stderr and "--new-hall" in refused.stderr
    checked = kiosk("db", "check", "--data-dir", str(data))
    assert checked.returncode == backup.EXIT_CORRUPT and "[database_missing]" in checked.stderr

    restored = kiosk("restore", "--latest", "--data-dir", str(data))
    assert restored.returncode == 0, restored.stderr
    again = Daemon(data).start()
    try:
        assert take(again.url, 1)[0]["number"] == "A004"
    finally:
        again.stop()


def test_new_hall_starts_a_new_hall_where_an_old_one_lost_its_database(tmp_path):
    """Situation: as above, the database of a hall that ran is gone. Action: ``kiosk run --new-hall`` (or
    ``KIOSK_NEW_HALL=1``). Outcome: it starts, the first ticket is A001, and the next plain start is accepted
    (the new hall is the hall now)."""
    data = tmp_path / "data"
    daemon = Daemon(data).start()
    take(daemon.url, 2)
    daemon.stop()
    lose_database(data, "missing")
    fresh = Daemon(data, env={"KIOSK_NEW_HALL": "1"}).start()
    assert take(fresh.url, 1)[0]["number"] == "A001"
    fresh.stop()
    plain = Daemon(data).start()
    try:
        assert take(plain.url, 1)[0]["number"] == "A002"
    finally:
        plain.stop()


def mark_of(data: Path) -> int:
    """The newest event id the commit mark records."""
    return json.loads((data / "last-commit.json").read_text())["event_id"]


def last_event(db: Path) -> int:
    """The newest event id a database holds, read without changing it."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:  # closed: no lock is left held
        return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


def test_tickets_lost_with_a_damaged_wal_header_are_noticed_and_the_loss_can_be_accepted(tmp_path):
    """Situation: a hall ran and stopped cleanly with 5 tickets; started again, customers take tickets until
    the daemon is killed with SIGKILL, and the header of its hall.db-wal is then damaged (SQLite drops such a
    WAL silently, and with it every change since the last checkpoint).
    Action: ``kiosk run``, ``kiosk db check``; then ``kiosk db accept-loss`` and a start.
    Outcome: run and check exit 3 with ``database_incomplete``, naming exactly how many acknowledged changes
    are missing (the mark's newest event minus the database's) and the event ids, and the restore command;
    accept-loss keeps the damaged WAL aside and the hall starts; its next ticket's number is above every
    number a customer was told, so none is issued twice."""
    data = tmp_path / "data"
    first = Daemon(data).start()
    take(first.url, 5)
    first.stop()
    daemon = Daemon(data).start()
    customers = Customers(daemon.url).start()
    customers.wait_for(30)
    customers.stop()
    # the mark has caught up with the commits
    wait_until(lambda: mark_of(data) == last_event(data / "hall.db"), timeout=5)
    daemon.kill()
    told = [int(n[1:]) for n in customers.told.values()]
    with open(data / "hall.db-wal", "r+b") as wal:
        wal.write(b"\0" * 32)  # the WAL header: magic number, version, page size, checkpoint, salts, checksums

    marked, kept = mark_of(data), last_event(data / "hall.db")
    assert kept < marked  # the damaged WAL really lost acknowledged changes
    expected = f"{marked - kept} acknowledged changes (events {kept + 1}–{marked}"
    refused = kiosk("run", "--data-dir", str(data), "--port", "0")
    assert refused.returncode == backup.EXIT_CORRUPT, refused.stderr
    assert "[database_incomplete]" in refused.stderr and expected in refused.stderr
    assert f"kiosk db accept-loss --data-dir {data}" in refused.stderr and "kiosk restore" in refused.stderr
    checked = kiosk("db", "check", "--data-dir", str(data))
    assert checked.returncode == backup.EXIT_CORRUPT and expected in checked.stderr

    accepted = kiosk("db", "accept-loss", "--data-dir", str(data))
    assert accepted.returncode == 0, accepted.stderr
    assert len(list(data.glob("hall.db-wal.damaged-*"))) == 1
    assert kiosk("db", "check", "--data-dir", str(data)).returncode == 0
    again = Daemon(data).start()
    try:
        assert int(take(again.url, 1)[0]["number"][1:]) > max(told)
    finally:
        again.stop()
