"""Keeping the database safe: the integrity check, online backups with retention, and restore.

A backup is taken with SQLite's backup API in one step, which reads one consistent snapshot while the hall
goes on writing (WAL lets readers and the writer run side by side); it is written under a temporary name,
checked with ``PRAGMA integrity_check``, synced and only then renamed to ``hall-YYYYMMDDTHHMMSSZ.db``, so a
file with that name is always a whole, checked backup. Restore refuses to run beside a running daemon (the
daemon holds ``DATA_DIR/hall.lock``) and keeps the database it replaces beside it.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import sqlite3
from pathlib import Path

from . import commit_mark
from .errors import HallError
from .files import open_private, private_dir, private_file, sync_dir

log = logging.getLogger(__name__)

DB_NAME = "hall.db"
LOCK_NAME = "hall.lock"
BACKUP_DIR = "backups"
BACKUP_GLOB = "hall-*Z.db"
EXIT_CORRUPT = 3  # the unit's RestartPreventExitStatus: restarting cannot repair a damaged file


def backup_dir(data_dir: Path) -> Path:
    """Where the backups of a data directory are kept."""
    return Path(data_dir) / BACKUP_DIR


def _read_only(path: Path) -> str:
    """A URI that opens a database file read-only (any character in the path is escaped)."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def integrity_problem(path: Path) -> str | None:
    """Run ``PRAGMA integrity_check`` on a database file; return what is wrong, or None when it is sound."""
    try:
        conn = sqlite3.connect(_read_only(path), uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check(5)").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows == [("ok",)]:
        return None
    return "; ".join(line for r in rows for line in r[0].splitlines() if not line.startswith("***"))


class DataDirLock:
    """An exclusive lock on a data directory: one daemon (or one restore) at a time."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, doing: str) -> "DataDirLock":
        """Take the lock or raise ``data_dir_in_use``; ``doing`` says what the lock is for, in the message."""
        private_dir(self.path.parent)
        fd = open_private(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise HallError(f"Another kiosk process is using {self.path.parent}, so it cannot {doing}. "
                            "Stop it first (sudo systemctl stop hall-kiosk).", code="data_dir_in_use",
                            status=409) from None
        self._fd = fd
        return self

    def release(self) -> None:
        """Let go of the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def newest(directory: Path) -> Path | None:
    """The newest complete backup in ``directory`` (None when there is none)."""
    found = sorted(Path(directory).glob(BACKUP_GLOB)) if Path(directory).is_dir() else []
    return found[-1] if found else None


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """Copy a whole database with the backup API (one step: one consistent snapshot) and sync it to disk."""
    dest = sqlite3.connect(private_file(target))  # created 0600: it holds what the database holds
    try:
        source.backup(dest)  # pages=-1: everything in one step, so writers never force a restart
    finally:
        dest.close()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take(data_dir: Path, *, to: Path | None = None, keep: int = 14, now: dt.datetime | None = None) -> Path:
    """Back up the live database of ``data_dir`` into ``to`` (default ``DATA_DIR/backups``); keep the newest
    ``keep`` backups there. Returns the new backup's path."""
    db = Path(data_dir) / DB_NAME
    if not db.exists():
        raise HallError(f"There is no database at {db} to back up.", code="no_database", status=404)
    target_dir = Path(to) if to else backup_dir(data_dir)
    private_dir(target_dir)
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    final = target_dir / f"hall-{stamp}.db"
    partial = target_dir / f".hall-{stamp}.db.partial"
    source = sqlite3.connect(_read_only(db), uri=True, timeout=30)
    try:
        _copy(source, partial)
    finally:
        source.close()
    problem = integrity_problem(partial)
    if problem is not None:
        partial.unlink(missing_ok=True)
        raise HallError(f"The backup of {db} failed its integrity check ({problem}); the live database may be "
                        f"damaged. Run: kiosk db check --data-dir {data_dir}", code="backup_corrupt", status=500)
    os.replace(partial, final)
    sync_dir(target_dir)
    for old in prune(target_dir, keep):
        log.info("removed old backup %s", old)
    log.info("backup of %s written to %s", db, final)
    return final


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``directory``; return what was deleted."""
    found = sorted(Path(directory).glob(BACKUP_GLOB))
    doomed = found[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def restore(source: Path, data_dir: Path, *, now: dt.datetime | None = None) -> Path | None:
    """Replace ``DATA_DIR/hall.db`` with a checked copy of the backup ``source``.

    The daemon must be stopped (the data dir lock is taken). The database that is replaced, with its WAL, is
    kept as ``hall.db.replaced-STAMP``; returns that path (None when there was no database)."""
    source = Path(source)
    if not source.is_file():
        raise HallError(f"There is no backup file {source}.", code="no_backup", status=404)
    problem = integrity_problem(source)
    if problem is not None:
        raise HallError(f"The backup {source} is damaged ({problem}); choose an older one "
                        f"(ls {source.parent}).", code="backup_corrupt", status=422)
    data_dir = Path(data_dir)
    lock = DataDirLock(data_dir).acquire("restore a backup")
    try:
        db = data_dir / DB_NAME
        incoming = data_dir / f".{DB_NAME}.restoring"
        conn = sqlite3.connect(_read_only(source), uri=True)
        try:
            _copy(conn, incoming)
        finally:
            conn.close()
        stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        kept = data_dir / f"{DB_NAME}.replaced-{stamp}" if db.exists() else None
        for suffix in ("", "-wal", "-shm"):
            old = data_dir / f"{DB_NAME}{suffix}"
            if old.exists():
                os.replace(old, data_dir / f"{DB_NAME}.replaced-{stamp}{suffix}")
        os.replace(incoming, db)
        sync_dir(data_dir)
        commit_mark.write(data_dir, commit_mark.database_last_event(db))  # the restored database is the reference
    finally:
        lock.release()
    log.info("restored %s from %s", db, source)
    return kept

