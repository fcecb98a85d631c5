"""What the hall keeps on disk is its own: the data directory is 0700 and its database files 0600 whatever the
umask, and the technician token is printed only when it is created (so systemd's journal does not collect it
at every start)."""
from __future__ import annotations

import os
import select
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from daemon import KIOSK, Daemon


def mode(path: Path) -> int:
    """The permission bits of a file or folder."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_the_data_directory_and_its_files_are_private_whatever_the_umask(tmp_path, umask):
    """Situation: the daemon and the daily backup start with a permissive umask (``make run`` in a shell with
    022, or 000) on a fresh data directory. Action: a ticket is taken and a backup made while the hall runs.
    Outcome: the data directory and the backups folder are 0700; the database with its -wal and -shm, the
    backup, the technician token, the lock and the commit mark are 0600 (nobody else may read agents' codes
    or token hashes)."""
    data = tmp_path / "data"
    daemon = Daemon(data, umask=umask).start()
    try:
        assert requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "general"}).status_code == 201
        made = subprocess.run([KIOSK, "backup", "--data-dir", str(data)], capture_output=True, text=True,
                              timeout=60, umask=umask)
        assert made.returncode == 0, made.stderr
        files = {name: data / name for name in ("hall.db", "hall.db-wal", "hall.db-shm", "technician.token",
                                                "hall.lock", "last-commit.json")}
        files["backup"] = Path(made.stdout.strip())
        assert {name: oct(mode(p)) for name, p in files.items()} == {name: "0o600" for name in files}
        assert (oct(mode(data)), oct(mode(data / "backups"))) == ("0o700", "0o700")
    finally:
        daemon.stop()


def test_an_existing_world_readable_hall_is_made_private_at_start(tmp_path):
    """Situation: a hall that ran before this fix left its data directory 0755 and its database 0644.
    Action: the daemon starts on it. Outcome: the directory is 0700 and the database files 0600 again."""
    data = tmp_path / "data"
    Daemon(data).start().stop()
    data.chmod(0o755)
    for name in ("hall.db", "technician.token"):
        (data / name).chmod(0o644)
    daemon = Daemon(data).start()
    try:
        assert oct(mode(data)) == "0o700"
        assert [oct(mode(data / n)) for n in ("hall.db", "hall.db-wal", "technician.token")] == ["0o600"] * 3
    finally:
        daemon.stop()


def test_the_technician_token_is_printed_when_created_and_not_at_later_starts(tmp_path):
    """Situation: a hall starts for the first time, is stopped, and starts again (stdout is not a terminal,
    as under systemd, where it goes to the journal). Outcome: the first banner shows the new token; the
    second shows only where it is kept, and neither the second banner nor the log holds the token; it still
    works."""
    data = tmp_path / "data"
    first = Daemon(data).start()
    first.stop()
    token = (data / "technician.token").read_text().strip()
    assert token in first.banner and "(new)" in first.banner
    again = Daemon(data, log=tmp_path / "second.log").start()
    try:
        assert token not in again.banner
        assert f"kept in {data / 'technician.token'}" in again.banner
        assert requests.get(f"{again.url}/api/v1/config", headers=again.technician).status_code == 200
    finally:
        again.stop()
    assert token not in (tmp_path / "second.log").read_text()


def test_on_a_terminal_the_token_is_shown_at_every_start(tmp_path):
    """Situation: a hall that has run before is started by hand in a terminal (``make run``). Outcome: its
    banner shows the technician token again, since nobody's journal records a terminal."""
    data = tmp_path / "data"
    Daemon(data).start().stop()
    token = (data / "technician.token").read_text().strip()
    master, slave = os.openpty()
    proc = subprocess.Popen([KIOSK, "run", "--data-dir", str(data), "--port", "0"], stdout=slave,
                            stderr=subprocess.DEVNULL)
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 20
        while b"kept in" not in seen and time.monotonic() < deadline:  # the line after the token's
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                seen += os.read(master, 4096)
        assert f"technician token:   {token}".encode() in seen
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        os.close(master)
