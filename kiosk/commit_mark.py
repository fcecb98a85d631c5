"""The commit mark: a small side file naming the newest event the writer committed, so that a database which
later lacks it is noticed at start instead of serving with acknowledged tickets gone and numbers issued twice.

SQLite silently ignores a write-ahead log whose header is damaged, and with it every change since the last
checkpoint; the database it leaves passes ``PRAGMA integrity_check``. The mark, ``DATA_DIR/last-commit.json``
(``{"event_id": N, "business_day": "YYYY-MM-DD", "written_at": "..."}``), is kept outside SQLite, so the loss
shows as a database whose newest event is older than the mark (:func:`gap`).

The mark is written only after the commit it names is on disk, so it never claims more than the database
held. A thread of its own writes it (temporary file, fsync, rename, fsync of the directory) at most every
:data:`INTERVAL_S` and once more at a clean stop, so the queue writer never waits for it. It may therefore lag
the database by that interval: a loss confined to the changes of the last moment before a crash goes
unnoticed, while a damaged log, which loses everything since the last checkpoint, is caught whenever that
reaches further back. docs/benchmarks.md has what it costs the writer.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from .files import write_atomically

log = logging.getLogger(__name__)

MARK_NAME = "last-commit.json"
INTERVAL_S = 0.2


@dataclass(frozen=True)
class Mark:
    """What the mark file says: the newest committed event, its business day, when the mark was written."""

    event_id: int
    business_day: str | None = None
    written_at: str | None = None


@dataclass(frozen=True)
class Gap:
    """Acknowledged events the database no longer holds: those after ``db_last`` up to the mark's."""

    db_last: int
    mark: Mark

    @property
    def missing(self) -> int:
        """How many acknowledged events are missing."""
        return self.mark.event_id - self.db_last

    def describe(self) -> str:
        """The gap in words: event ids, how many, and when the mark was written."""
        first, last = self.db_last + 1, self.mark.event_id
        ids = f"event {first}" if first == last else f"events {first}–{last}"
        return (f"{self.missing} acknowledged change{'s' if self.missing != 1 else ''} ({ids}, recorded as "
                f"committed in {MARK_NAME} at {self.mark.written_at or 'an unknown time'}) "
                f"{'are' if self.missing != 1 else 'is'} missing: the database ends at event {self.db_last}")


def path_of(data_dir: Path) -> Path:
    """Where the mark of a data directory is kept."""
    return Path(data_dir) / MARK_NAME


def read(data_dir: Path) -> Mark | None:
    """The mark of ``data_dir``; None when there is none (or it cannot be read, which is logged)."""
    path = path_of(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Mark(int(data["event_id"]), data.get("business_day"), data.get("written_at"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the commit mark %s cannot be read (%s); acknowledged changes cannot be checked", path, exc)
        return None


def write(data_dir: Path, event_id: int, business_day: str | None = None) -> None:
    """Replace the mark atomically and durably (raises OSError, e.g. on a full disk)."""
    written_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    body = {"event_id": event_id, "business_day": business_day, "written_at": written_at}
    write_atomically(path_of(data_dir), json.dumps(body).encode("ascii") + b"\n")


def discard(data_dir: Path) -> None:
    """Remove the mark (it belongs to a hall whose database is gone)."""
    path_of(data_dir).unlink(missing_ok=True)


def database_last_event(db: Path) -> int:
    """The newest event id in a database file, read without changing it (0 when it has none)."""
    if not Path(db).exists():
        return 0
    conn = sqlite3.connect(Path(db).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    except sqlite3.OperationalError:  # no events table: an empty or new database
        return 0
    finally:
        conn.close()


def gap(data_dir: Path, db: Path) -> Gap | None:
    """Compare the mark with the database: the missing acknowledged events, or None when none are."""
    mark = read(data_dir)
    if mark is None:
        return None
    last = database_last_event(db)
    return Gap(last, mark) if last < mark.event_id else None


class MarkWriter:
    """Keeps the mark up to date from its own thread: :meth:`note` after each commit, :meth:`stop` at the end."""

    def __init__(self, data_dir: Path, interval: float = INTERVAL_S):
        self.data_dir = Path(data_dir)
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: tuple[int, str | None] | None = None
        self._written: tuple[int, str | None] | None = None
        self._failing = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-mark", daemon=True)

    def start(self) -> "MarkWriter":
        """Start the thread."""
        self._thread.start()
        return self

    def note(self, event_id: int, business_day: str | None) -> None:
        """Say that ``event_id`` is committed (cheap; called by the writer after each commit)."""
        with self._lock:
            self._pending = (event_id, business_day)
        self._wake.set()

    def stop(self) -> None:
        """Write the last noted mark and end the thread (after the writer has stopped)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        else:
            self._flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            self._flush()
            self._stop.wait(self._interval)
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None or pending == self._written:
            return
        try:
            write(self.data_dir, *pending)
        except OSError as exc:
            if not self._failing:
                log.warning("the commit mark %s could not be written (%s); retrying with the next commit",
                            path_of(self.data_dir), exc)
            self._failing = True
            with self._lock:
                if self._pending is None:
                    self._pending = pending
            return
        if self._failing:
            log.info("the commit mark %s is written again", path_of(self.data_dir))
        self._failing = False
        self._written = pending
