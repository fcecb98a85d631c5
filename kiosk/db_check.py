"""What is checked before the hall opens its database (``kiosk run``) and by ``kiosk db check``.

Three things make the hall refuse to start, with exit code 3 (``EXIT_CORRUPT``, which the systemd unit does not
restart on) and the command that mends it:

* the database is missing or holds no hall (zero bytes, no events) although the data directory shows that a
  hall ran here (``technician.token``, backups, a saved ``config.toml``, the voice's folders, the commit
  mark): starting would begin a new hall with the numbering back at 001. ``--new-hall`` starts one on purpose;
* the database fails ``PRAGMA integrity_check``;
* the database lacks acknowledged events that the commit mark (:mod:`kiosk.commit_mark`) says were committed,
  e.g. after its write-ahead log was damaged. ``kiosk db accept-loss`` goes on with what is left.

Nothing here writes to the database, so a refused start leaves the evidence as it was.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import sqlite3
import time
from pathlib import Path

from . import backup, commit_mark
from .errors import HallError
from .files import private_file
from .store import connect

log = logging.getLogger(__name__)

DB_NAME = backup.DB_NAME
TRACES = ("technician.token", "config.toml", "announcements", "speech-cache", commit_mark.MARK_NAME)
"""Files and folders a hall leaves in its data directory (besides backups and replaced databases)."""
CHECKED = "database checked"


def refusal(message: str, code: str) -> HallError:
    """An error that makes ``kiosk`` exit with 3 (restarting cannot mend it)."""
    error = HallError(message, code=code, status=500)
    error.exit_code = backup.EXIT_CORRUPT
    return error


def restore_hint(data_dir: Path) -> str:
    """The restore command for ``data_dir``: the latest backup if there is one."""
    latest = backup.newest(backup.backup_dir(data_dir))
    if latest:
        return f"Restore the latest backup with: kiosk restore --latest --data-dir {data_dir} (it is {latest.name})"
    return (f"No backup was found in {backup.backup_dir(data_dir)}; restore one with: kiosk restore FILE "
            f"--data-dir {data_dir}")


def holds_hall(db: Path) -> bool:
    """Whether a database file holds a hall that has run: it exists and has at least one event.

    Read through SQLite (read-only), so a database whose content is still in its write-ahead log counts."""
    if not db.exists():
        return False
    try:
        conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'events'").fetchone()[0] == 0:
                return False
            return conn.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone()[0] == 1
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True  # unreadable: not an empty file; the integrity check says what is wrong


def traces(data_dir: Path) -> list[str]:
    """What in ``data_dir`` shows that a hall ran there (names relative to it)."""
    found = [name for name in TRACES if (data_dir / name).exists()]
    if backup.newest(backup.backup_dir(data_dir)):
        found.append(f"{backup.BACKUP_DIR}/")
    found += sorted(p.name for p in data_dir.glob(f"{DB_NAME}.replaced-*"))[:1]
    return found


def check_at_start(data_dir: Path, *, new_hall: bool = False) -> str:
    """Refuse to run on a lost, damaged or incomplete database; return what was found, for the log.

    ``new_hall``: a missing or empty database may start a new hall even where an earlier one left traces (its
    commit mark is then discarded, since it belongs to the earlier hall)."""
    data_dir = Path(data_dir)
    db = data_dir / DB_NAME
    if not holds_hall(db):
        found = traces(data_dir)
        if not found:
            return "a new hall (empty data directory)"
        if not new_hall:
            state = "is empty (it holds no events)" if db.exists() else "is missing"
            mark = commit_mark.read(data_dir)
            last = f"; its last commit recorded was event {mark.event_id} at {mark.written_at}" if mark else ""
            raise refusal(
                f"The database {db} {state}, but {data_dir} shows that a hall ran here (found: {', '.join(found)}"
                f"{last}). Starting would begin a new hall with the ticket numbers back at 001. "
                f"{restore_hint(data_dir)}. To start a new, empty hall on purpose: kiosk run --new-hall "
                "(or KIOSK_NEW_HALL=1).",
                "database_missing")
        commit_mark.discard(data_dir)
        log.warning("starting a new hall in %s as asked (--new-hall), although an earlier hall left %s",
                    data_dir, ", ".join(found))
        return "a new hall (--new-hall)"
    problem = backup.integrity_problem(db)
    if problem is not None:
        raise refusal(f"The database {db} is damaged ({problem}). The hall will not start on it, so that nothing "
                      f"more is lost. {restore_hint(data_dir)}; the damaged file is kept beside it.",
                      "database_corrupt")
    lost = commit_mark.gap(data_dir, db)
    if lost is not None:
        raise refusal(
            f"The database {db} is incomplete: {lost.describe()}. Its write-ahead log ({DB_NAME}-wal) was "
            "probably damaged, which SQLite ignores silently. The hall will not start on it, so that no ticket "
            f"number is issued twice. {restore_hint(data_dir)} if that backup holds more; or go on with what the "
            f"database holds: kiosk db accept-loss --data-dir {data_dir}", "database_incomplete")
    return CHECKED


def accept_loss(data_dir: Path, *, now: dt.datetime | None = None) -> str:
    """Go on with an incomplete database (the daemon must be stopped); return what was done, in words.

    The damaged write-ahead log is kept as ``hall.db-wal.damaged-STAMP`` (what it holds may still be recovered
    by hand); the numbering of the business day of the lost changes is moved on by as many numbers as changes
    were lost in every series, so no number a customer may hold is issued again; a ``changes_lost`` event
    records the gap in the ledger, and the commit mark is set to the database as it now is."""
    data_dir = Path(data_dir)
    db = data_dir / DB_NAME
    lock = backup.DataDirLock(data_dir).acquire("accept the loss")
    try:
        lost = commit_mark.gap(data_dir, db)
        if lost is None:
            raise HallError(f"Nothing acknowledged is missing from {db}; there is no loss to accept.",
                            code="nothing_missing", status=409)
        if not holds_hall(db):
            raise refusal(f"The database {db} holds nothing of the hall any more. {restore_hint(data_dir)}; or "
                          "start a new, empty hall: kiosk run --new-hall", "database_missing")
        problem = backup.integrity_problem(db)
        if problem is not None:
            raise refusal(f"The database {db} is damaged ({problem}); restore a backup instead. "
                          f"{restore_hint(data_dir)}.", "database_corrupt")
        stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        wal = db.with_name(DB_NAME + "-wal")
        kept = None
        if wal.exists():
            kept = private_file(db.with_name(f"{DB_NAME}-wal.damaged-{stamp}"))
            shutil.copyfile(wal, kept)
        conn = connect(db)
        try:
            conn.execute("BEGIN IMMEDIATE")
            series = _skip_numbers(conn, lost.mark.business_day, lost.missing)
            conn.execute("INSERT INTO events (at, type, data) VALUES (?, 'changes_lost', ?)",
                         (time.time(), json.dumps({"missing": lost.missing, "first": lost.db_last + 1,
                                                   "last": lost.mark.event_id})))
            conn.execute("COMMIT")
        finally:
            conn.close()
        commit_mark.write(data_dir, commit_mark.database_last_event(db), lost.mark.business_day)
    finally:
        lock.release()
    log.warning("accepted the loss of %d acknowledged changes in %s", lost.missing, db)
    done = [f"accepted: {lost.describe()}"]
    if kept is not None:
        done.append(f"the damaged write-ahead log is kept as {kept}")
    if series:
        done.append(f"numbers of {lost.mark.business_day} move on by {lost.missing} in {', '.join(series)}, so "
                    "none a customer may hold is issued again")
    return "\n".join(done)


def _skip_numbers(conn: sqlite3.Connection, day: str | None, count: int) -> list[str]:
    """Move each number series of ``day`` on by ``count`` (a series not yet begun that day starts after it)."""
    if day is None:
        return []
    prefixes = sorted({r[0] for r in conn.execute("SELECT prefix FROM number_seq UNION SELECT prefix FROM tickets")})
    for prefix in prefixes:
        conn.execute("INSERT INTO number_seq (prefix, business_day, last) VALUES (?, ?, ?) "
                     "ON CONFLICT (prefix, business_day) DO UPDATE SET last = last + excluded.last",
                     (prefix, day, count))
    return prefixes
