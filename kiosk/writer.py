"""The single writer: one thread owns the write connection and runs every state change of the queue.

Operations are functions ``op(tx, *args)`` submitted from any thread. The writer takes whatever is queued
(up to ``max_batch``), opens one ``BEGIN IMMEDIATE`` transaction, runs each operation inside its own
SAVEPOINT, and commits once (group commit: one fsync for the batch, synchronous FULL). An operation that
raises is rolled back alone; the others in the batch still commit. When SQLite itself rolls the transaction
back (a full disk at the commit or while an operation writes), every caller of the batch gets the same error
(503 ``storage_full`` for a full disk) and nothing of the batch is stored. Callers are answered only after the
commit, so a ticket is durable before anyone is told its number. Events appended by the operations are
handed to ``on_commit`` after the commit, in order.
"""
from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Callable

from . import storage
from .errors import Unavailable
from .event_types import EventType

log = logging.getLogger(__name__)

_STOP = object()


class Tx:
    """What an operation sees: the connection, the time of the batch, and a way to append events."""

    def __init__(self, conn: sqlite3.Connection, now: float):
        self.conn = conn
        self.now = now
        self.events: list[dict] = []

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        """Run one statement on the write connection."""
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        """Return the first row of a query, or None."""
        return self.conn.execute(sql, params).fetchone()

    def emit(self, type_: EventType, *, ticket_id: int | None = None, counter: int | None = None,
             **data: Any) -> None:
        """Append an event row in the current transaction; it is published only if the transaction commits.

        Raises ValueError for a type that is not an :class:`~kiosk.event_types.EventType` (unclassified), so
        the operation fails and nothing of it is stored."""
        try:
            kind = EventType(type_)
        except ValueError:
            raise ValueError(f"unknown event type {type_!r}: add it to kiosk/event_types.py with its classes") from None
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        cur = self.conn.execute(
            "INSERT INTO events (at, type, ticket_id, counter, data) VALUES (?, ?, ?, ?, ?)",
            (self.now, kind.value, ticket_id, counter, payload))
        self.events.append({"id": cur.lastrowid, "at": self.now, "type": kind.value, "ticket_id": ticket_id,
                            "counter": counter, "data": data})


class Writer:
    """Owns the write connection; runs submitted operations in group-committed transactions."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, clock: Callable[[], float] = time.time,
                 on_commit: Callable[[list[dict]], None] | None = None,
                 before_batch: Callable[[Tx], None] | None = None,
                 idle_seconds: float = 30.0, max_batch: int = 64, storage_dir: Path | None = None):
        self._connect = connect
        self._storage_dir = storage_dir  # where the database lives: an I/O error there on a full disk is "full"
        self._clock = clock
        self._on_commit = on_commit
        self._before_batch = before_batch
        self._idle = idle_seconds
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="queue-writer", daemon=True)
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self.last_commit_at: float | None = None
        self.storage_full = False  # the last batch that wrote failed for lack of space, and none has since

    def start(self) -> None:
        """Start the writer thread and wait until its connection is open."""
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise self._start_error

    def submit(self, op: Callable[..., Any], *args, **kwargs) -> Future:
        """Queue ``op(tx, *args, **kwargs)``; the future resolves after its transaction commits."""
        if not self._thread.is_alive():
            raise RuntimeError("the queue writer is not running")
        fut: Future = Future()
        self._jobs.put((fut, op, args, kwargs))
        return fut

    def run(self, op: Callable[..., Any], *args, timeout: float = 30.0, **kwargs) -> Any:
        """Run ``op`` on the writer and return its result (or raise its error) once committed.

        If the writer has not started the operation within ``timeout``, it is cancelled (it will never run)
        and :class:`~kiosk.errors.Unavailable` is raised; once started, it is waited for to the end, so a
        caller is never told "failed" about a change that then commits.
        """
        fut = self.submit(op, *args, **kwargs)
        try:
            return fut.result(timeout)
        except FutureTimeout:
            if fut.cancel():
                raise Unavailable("The queue is busy right now; nothing was changed. Please try again.",
                                  code="queue_busy") from None
            return fut.result()

    def alive(self) -> bool:
        """Tell whether the writer thread is running."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the queued operations, then close the connection."""
        if self._thread.is_alive():
            self._jobs.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:  # reported to start()
            self._start_error = exc
            self._started.set()
            return
        self._started.set()
        try:
            while True:
                try:
                    first = self._jobs.get(timeout=self._idle)
                except queue.Empty:
                    self._commit_batch(conn, [])  # idle tick: lets before_batch do timed work
                    continue
                batch, stop = self._drain(first)
                if batch or self._before_batch:
                    self._commit_batch(conn, batch)
                if stop:
                    break
        finally:
            conn.close()

    def _drain(self, first) -> tuple[list, bool]:
        batch, stop = [], False
        job = first
        while True:
            if job is _STOP:
                stop = True
                break
            batch.append(job)
            if len(batch) >= self._max_batch:
                break
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
        return batch, stop

    def _commit_batch(self, conn: sqlite3.Connection, batch: list) -> None:
        tx = Tx(conn, self._clock())
        outcomes: list[tuple[Future, bool, Any]] = []
        changes = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
            if self._before_batch is not None:
                ok, error = self._savepoint(tx, self._before_batch, (tx,), {})
                if not ok:
                    log.error("the start-of-batch check failed and was rolled back: %s", error)
            for fut, op, args, kwargs in batch:
                if not fut.set_running_or_notify_cancel():
                    continue
                ok, value = self._savepoint(tx, op, (tx, *args), kwargs)
                outcomes.append((fut, ok, value))
            conn.execute("COMMIT")
        except BaseException as exc:  # the commit failed, or SQLite rolled the transaction back: nothing stored
            self._batch_failed(conn, batch, exc.error if isinstance(exc, _TransactionLost) else exc)
            return
        self.last_commit_at = time.monotonic()
        if conn.total_changes != changes:
            self.storage_full = False  # something was written: the disk takes writes again
        for fut, ok, value in outcomes:
            (fut.set_result if ok else fut.set_exception)(value)
        if tx.events and self._on_commit is not None:
            try:
                self._on_commit(tx.events)
            except Exception:
                log.exception("event publishing failed")

    def _batch_failed(self, conn: sqlite3.Connection, batch: list, exc: BaseException) -> None:
        """Answer every caller of a batch that stored nothing with the same error (storage_full on a full disk)."""
        if storage.is_full(exc, self._storage_dir):
            if not self.storage_full:
                log.error("the disk holding the database is full; changes are refused until space is freed "
                          "(%s)", exc)
            self.storage_full = True
            error: BaseException = storage.full_error()
        else:
            log.error("queue transaction failed and was rolled back: %s", exc)
            error = exc
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as rollback_error:
                log.error("the rollback failed as well: %s", rollback_error)
        for fut, *_ in batch:
            if fut.done():
                continue  # cancelled by its caller before it started
            if fut.running() or fut.set_running_or_notify_cancel():  # ran, or is kept from a late cancel
                fut.set_exception(error)

    def _savepoint(self, tx: Tx, op, args, kwargs) -> tuple[bool, Any]:
        mark = len(tx.events)
        tx.conn.execute("SAVEPOINT op")
        try:
            value = op(*args, **kwargs)
        except Exception as exc:
            if not tx.conn.in_transaction:
                # SQLite rolled the whole transaction back (disk full, I/O error): the operations before this
                # one are undone too, and the ones after it must not run outside a transaction.
                raise _TransactionLost(exc) from exc
            tx.conn.execute("ROLLBACK TO op")
            tx.conn.execute("RELEASE op")
            del tx.events[mark:]
            return False, storage.full_error() if storage.is_full(exc, self._storage_dir) else exc
        tx.conn.execute("RELEASE op")
        return True, value


class _TransactionLost(Exception):
    """SQLite ended the batch's transaction by itself; carries the error that made it do so."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error
