"""Database safety: backups under load restore whole, retention, a damaged database refuses to start."""
from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
from pathlib import Path

import requests

from daemon import KIOSK, Customers, Daemon
from kiosk import backup
from kiosk.store import Store


def kiosk(*args: str) -> subprocess.CompletedProcess:
    """Run a ``kiosk`` command; capture what it says."""
    return subprocess.run([KIOSK, *args], capture_output=True, text=True, timeout=30)


def damage(db: Path) -> None:
    """Overwrite the header of every page after the first, as a failing disk would."""
    conn = sqlite3.connect(db)
    page, count = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    conn.close()
    with open(db, "r+b") as fh:
        for n in range(1, count):
            fh.seek(n * page)
            fh.write(b"\xde\xad\xbe\xef" * 4)


def test_backup_under_write_load_restores_every_ticket_issued_before_it(tmp_path):
    """Situation: customers take tickets in a steady stream from a running daemon.
    Action: ``kiosk backup`` runs (a separate process, as the daily timer runs it) while tickets keep coming;
    the backup is restored into a new data dir with ``kiosk restore``.
    Outcome: the restored database passes PRAGMA integrity_check and holds every ticket whose number was told
    before the backup began, with the same number."""
    daemon = Daemon(tmp_path / "data").start()
    customers = Customers(daemon.url).start()
    try:
        customers.wait_for(100)
        before = dict(customers.told)
        made = kiosk("backup", "--data-dir", str(tmp_path / "data"))
        during = len(customers.told) - len(before)
    finally:
        customers.stop()
        daemon.stop()
    assert made.returncode == 0, made.stderr
    assert during > 0  # tickets were being issued while the backup command ran
    path = Path(made.stdout.strip())
    assert path.parent == tmp_path / "data" / "backups" and path.name.startswith("hall-")

    restored = kiosk("restore", str(path), "--data-dir", str(tmp_path / "restored"))
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(tmp_path / "restored" / "hall.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        numbers = dict(conn.execute("SELECT id, number FROM tickets"))
    assert {i: numbers.get(i) for i in before} == before


def test_restore_refuses_while_the_daemon_runs(tmp_path):
    """Replacing the database under a running hall would lose what it writes: restore says to stop it first
    and leaves the database as it was."""
    daemon = Daemon(tmp_path / "data").start()
    try:
        ticket = requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "consult"}).json()
        made = backup.take(tmp_path / "data")
        refused = kiosk("restore", str(made), "--data-dir", str(tmp_path / "data"))
        assert refused.returncode == 2
        assert "[data_dir_in_use]" in refused.stderr and "systemctl stop hall-kiosk" in refused.stderr
        assert requests.get(f"{daemon.url}/api/v1/tickets/{ticket['id']}").json()["number"] == ticket["number"]
    finally:
        daemon.stop()


def test_retention_keeps_the_newest_backups(tmp_path):
    """Backups taken on five days with keep=3 leave the three newest; a half-written backup never counts."""
    Store(tmp_path / "data").close()
    days = [dt.datetime(2026, 11, d, 22, 0, tzinfo=dt.timezone.utc) for d in range(1, 6)]
    made = [backup.take(tmp_path / "data", keep=3, now=day) for day in days]
    (tmp_path / "data" / "backups" / ".hall-20261130T220000Z.db.partial").write_bytes(b"half")
    assert sorted((tmp_path / "data" / "backups").glob(backup.BACKUP_GLOB)) == made[2:]
    assert backup.newest(tmp_path / "data" / "backups") == made[-1]


def test_damaged_database_refuses_to_start_and_restore_brings_the_hall_back(tmp_path):
    """Situation: a hall with a waiting ticket was backed up; then its database file is damaged on disk.
    Action: start the daemon; run ``kiosk db check``; then ``kiosk restore --latest`` and start again.
    Outcome: the daemon refuses with exit 3 (which the unit does not restart on), naming the file, the code
    ``database_corrupt`` and the restore command; after the restore it starts, the ticket is there and the
    damaged file is kept beside the database."""
    data = tmp_path / "data"
    daemon = Daemon(data).start()
    ticket = requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "claims"}).json()
    daemon.stop()
    assert kiosk("backup", "--data-dir", str(data)).returncode == 0
    damage(data / "hall.db")

    refused = kiosk("run", "--data-dir", str(data), "--port", "0")  # were it to start, the timeout fails it
    assert refused.returncode == backup.EXIT_CORRUPT
    assert "[database_corrupt]" in refused.stderr and f"kiosk restore --latest --data-dir {data}" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert kiosk("db", "check", "--data-dir", str(data)).returncode == backup.EXIT_CORRUPT

    restored = kiosk("restore", "--latest", "--data-dir", str(data))
    assert restored.returncode == 0, restored.stderr
    assert kiosk("db", "check", "--data-dir", str(data)).stdout.strip().endswith("OK")
    assert len(list(data.glob("hall.db.replaced-*"))) >= 1
    again = Daemon(data).start()
    try:
        assert requests.get(f"{again.url}/api/v1/tickets/{ticket['id']}").json()["number"] == ticket["number"]
    finally:
        again.stop()


def test_restore_of_a_damaged_backup_is_refused_and_changes_nothing(tmp_path):
    """A damaged backup is not put in place of a sound database: the answer names the file and says to pick
    an older one."""
    Store(tmp_path / "data").close()
    made = backup.take(tmp_path / "data")
    damage(made)
    before = (tmp_path / "data" / "hall.db").read_bytes()
    refused = kiosk("restore", str(made), "--data-dir", str(tmp_path / "data"))
    assert refused.returncode == 2 and "[backup_corrupt]" in refused.stderr and str(made) in refused.stderr
    assert (tmp_path / "data" / "hall.db").read_bytes() == before
