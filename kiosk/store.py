"""The queue's one store: a SQLite file in WAL mode, its named migrations, and read connections.

Writes go through :class:`kiosk.writer.Writer` only (one owner); request threads read through
:meth:`Store.reader`, one connection per thread, which WAL lets run beside the writer.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import sqlite_utils

from .files import private_dir, private_file

log = logging.getLogger(__name__)

DB_NAME = "hall.db"

# The waiting tickets per group (service, priority, target counter; 0 = any counter), and per group and hour
# and 10-second slot of issue (width 3600 or 10, bucket = whole seconds // width), kept in the writer's
# transaction by triggers on every change of a ticket, so that counting the people ahead (kiosk/estimates.py)
# does not scan the queue. The index of waiting tickets then holds their status too, so that the counts left to
# make inside one slot read the index alone (and the index of waiting VIP tickets, which the calling order no
# longer reads, goes).
WAITING_WIDTHS = (3600, 10)


def _kept_counts(row: str) -> list[tuple[str, str, str]]:
    """The (table, key columns, key values) of the counts a ticket row (``new`` or ``old``) belongs to."""
    group = f"{row}.service, {row}.priority, coalesce({row}.target_counter, 0)"
    return [("waiting_groups", "service, priority, target", group)] + [
        ("waiting_counts", "service, priority, target, width, bucket",
         f"{group}, {w}, CAST({row}.issued_at AS INTEGER) / {w}") for w in WAITING_WIDTHS]


def _count_in(row: str) -> str:
    return " ".join(f"INSERT INTO {table} VALUES ({values}, 1) ON CONFLICT ({cols}) DO UPDATE SET n = n + 1;"
                    for table, cols, values in _kept_counts(row))


def _count_out(row: str) -> str:
    return " ".join(f"UPDATE {table} SET n = n - 1 WHERE ({cols}) = ({values}); "
                    f"DELETE FROM {table} WHERE ({cols}) = ({values}) AND n <= 0;"
                    for table, cols, values in _kept_counts(row))


_WAITING_BACKFILL = " ".join(
    f"INSERT INTO waiting_counts SELECT service, priority, coalesce(target_counter, 0), {w}, "
    f"CAST(issued_at AS INTEGER) / {w}, count(*) FROM tickets WHERE status = 'waiting' GROUP BY 1, 2, 3, 5;"
    for w in WAITING_WIDTHS)

MIGRATIONS: list[tuple[str, str]] = [
    ("0001_queue", """
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            prefix TEXT NOT NULL,
            seq INTEGER NOT NULL,
            business_day TEXT NOT NULL,
            service TEXT NOT NULL,
            priority TEXT NOT NULL CHECK (priority IN ('normal', 'starlight', 'vip')),
            agent_code TEXT,
            source TEXT NOT NULL DEFAULT 'kiosk',
            status TEXT NOT NULL
                CHECK (status IN ('waiting', 'called', 'served', 'no_show', 'expired', 'void')),
            issued_at REAL NOT NULL,
            target_counter INTEGER,
            counter INTEGER,
            called_at REAL,
            finished_at REAL,
            recalls INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX tickets_waiting ON tickets (service, priority, target_counter, issued_at, id)
            WHERE status = 'waiting';
        CREATE INDEX tickets_vip_waiting ON tickets (issued_at, id)
            WHERE status = 'waiting' AND priority = 'vip';
        CREATE INDEX tickets_called ON tickets (counter) WHERE status = 'called';
        CREATE INDEX tickets_open_by_day ON tickets (business_day) WHERE status IN ('waiting', 'called');
        CREATE INDEX tickets_served ON tickets (service, finished_at) WHERE status = 'served';
        CREATE TABLE number_seq (
            prefix TEXT NOT NULL,
            business_day TEXT NOT NULL,
            last INTEGER NOT NULL,
            PRIMARY KEY (prefix, business_day)
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            type TEXT NOT NULL,
            ticket_id INTEGER,
            counter INTEGER,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_ticket ON events (ticket_id);
        CREATE INDEX events_calls ON events (type, id) WHERE type IN ('called', 'recalled');
        CREATE TABLE counter_state (
            id INTEGER PRIMARY KEY,
            paused INTEGER NOT NULL DEFAULT 0,
            updated_at REAL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """),
    ("0002_roster_tokens", """
        CREATE TABLE roster (
            agent_code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            branch TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_until TEXT NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0,
            revoked_reason TEXT,
            imported_at REAL NOT NULL
        );
        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('technician', 'guide', 'counter', 'manager')),
            counter INTEGER,
            label TEXT,
            created_at REAL NOT NULL
        );
    """),
    ("0003_waiting_counts", f"""
        CREATE TABLE waiting_groups (
            service TEXT NOT NULL,
            priority TEXT NOT NULL,
            target INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (service, priority, target)
        ) WITHOUT ROWID;
        CREATE TABLE waiting_counts (
            service TEXT NOT NULL,
            priority TEXT NOT NULL,
            target INTEGER NOT NULL,
            width INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (service, priority, target, width, bucket)
        ) WITHOUT ROWID;
        INSERT INTO waiting_groups SELECT service, priority, coalesce(target_counter, 0), count(*)
            FROM tickets WHERE status = 'waiting' GROUP BY 1, 2, 3;
        {_WAITING_BACKFILL}
        DROP INDEX tickets_vip_waiting;
        DROP INDEX tickets_waiting;
        CREATE INDEX tickets_waiting ON tickets (service, priority, target_counter, issued_at, id, status)
            WHERE status = 'waiting';
        CREATE TRIGGER waiting_inserted AFTER INSERT ON tickets WHEN new.status = 'waiting'
            BEGIN {_count_in("new")} END;
        CREATE TRIGGER waiting_deleted AFTER DELETE ON tickets WHEN old.status = 'waiting'
            BEGIN {_count_out("old")} END;
        CREATE TRIGGER waiting_left AFTER UPDATE OF status, service, priority, target_counter, issued_at ON tickets
            WHEN old.status = 'waiting' BEGIN {_count_out("old")} END;
        CREATE TRIGGER waiting_joined AFTER UPDATE OF status, service, priority, target_counter, issued_at ON tickets
            WHEN new.status = 'waiting' BEGIN {_count_in("new")} END;
    """),
]


def _statements(sql: str) -> list[str]:
    """Split a migration into statements; a trigger's body keeps its semicolons."""
    statements, pending = [], ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending)
            pending = ""
    return statements


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a connection with the hall's pragmas: WAL, synchronous FULL, foreign keys, a busy timeout."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cache_size = -16000")  # 16 MB: the waiting-ticket indexes of a long queue stay in memory
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the named migrations not yet applied, each in its own transaction; return their names."""
    db = sqlite_utils.Database(conn)
    if "_migrations" not in db.table_names():
        db["_migrations"].create({"name": str, "applied_at": float}, pk="name")
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("applied database migration %s", name)
        applied.append(name)
    return applied


class Store:
    """The database file of one hall: opened and migrated once, then read from any thread.

    The data directory is kept at mode 0700 and the database files at 0600, whatever the umask
    (kiosk/files.py)."""

    def __init__(self, data_dir: Path):
        self.data_dir = private_dir(Path(data_dir))
        self.path = private_file(self.data_dir / DB_NAME)  # before SQLite opens it: -wal and -shm take its mode
        for suffix in ("-wal", "-shm"):
            private_file(self.path.with_name(DB_NAME + suffix), create=False)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = connect(self.path)
        try:
            migrate(conn)
        finally:
            conn.close()

    def writer_connection(self) -> sqlite3.Connection:
        """Open the connection the writer thread owns."""
        return connect(self.path)

    def reader(self) -> sqlite3.Connection:
        """Return this thread's read-only connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        """Close every read connection."""
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._local = threading.local()
