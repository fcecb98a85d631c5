"""The event fan-out: committed event rows go from the writer to displays, speech and SSE clients.

The writer hands each committed batch to :meth:`EventBus.publish`, which only queues it; one dispatcher
thread delivers batches in commit order to subscribers (callbacks) and to each open stream's bounded queue.
A slow stream that falls behind is closed (its client reconnects and resumes from ``Last-Event-ID``), so
nobody can stall the hall.
"""
from __future__ import annotations

import datetime as dt
import collections
import json
import logging
import queue
import sqlite3
import threading
import time
from typing import Callable

from .event_types import PUBLIC_TYPES

log = logging.getLogger(__name__)

_STOP = object()


def public_event(event: dict, tz: dt.tzinfo) -> dict:
    """Return the part of an event that any screen may show: numbers, services, counters; no personal data."""
    data = event["data"] if isinstance(event["data"], dict) else json.loads(event["data"] or "{}")
    out = {"id": event["id"], "type": event["type"],
           "at": dt.datetime.fromtimestamp(event["at"], tz).isoformat(timespec="seconds"),
           "counter": event["counter"]}
    if event["ticket_id"] is not None:
        out["ticket"] = {"id": event["ticket_id"], "number": data.get("number"), "service": data.get("service"),
                         "priority": data.get("priority")}
    for key in ("recalls", "to_counter", "from_service", "day", "device", "warning", "message"):
        if key in data:
            out[key] = data[key]
    return out


def events_after(conn: sqlite3.Connection, last_id: int, limit: int = 500) -> tuple[list[dict], bool]:
    """Return the public events committed after ``last_id`` (for a stream that resumes), oldest first.

    The second value is True when more than ``limit`` were missed: the caller then tells the client to
    reload the whole board instead of replaying a part of what it missed.
    """
    marks = ",".join("?" * len(PUBLIC_TYPES))
    rows = conn.execute(f"SELECT * FROM events WHERE id > ? AND type IN ({marks}) ORDER BY id LIMIT ?",
                        (last_id, *PUBLIC_TYPES, limit + 1)).fetchall()
    return [dict(row) for row in rows[:limit]], len(rows) > limit


def last_event_id(conn: sqlite3.Connection) -> int:
    """Return the id of the newest event (0 when there is none)."""
    return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


class StreamsFull(Exception):
    """No stream place is free: ``scope`` is ``hall`` (every place is taken) or ``client`` (the client's are)."""

    def __init__(self, scope: str, limit: int):
        super().__init__(f"{scope} stream limit {limit} reached")
        self.scope, self.limit = scope, limit


class Stream:
    """One client's view of the event stream: a bounded queue the dispatcher fills and the sender empties.

    A deque, not a ``queue.Queue``: appending and taking are atomic without a lock, which the dispatcher and the
    server's loop do for every stream and every call. Whoever sends the stream sets :attr:`waker` (the server's
    stream hub), or waits with :meth:`wait` (a request thread serving it itself)."""

    def __init__(self, maxsize: int, types: frozenset[str] | None = None, client: str | None = None):
        self.items: collections.deque[dict] = collections.deque()
        self.maxsize = maxsize
        self.types = types  # None: every public event
        self.client = client  # the client's address, for the limit per client
        self.overflowed = False
        self.ended = False
        self.waker: Callable[[], None] | None = None  # told when something was queued (the server's hub)
        self.deferred = False  # its owner (the server's hub) offers it the batches, not the dispatcher
        self.floor = 0  # events up to this id were delivered before the stream opened: never offered to it
        self._queued = threading.Event()

    @property
    def open(self) -> bool:
        """Whether the client should go on being served (not overflowed, not ended by a server stop)."""
        return not (self.overflowed or self.ended)

    def end(self) -> None:
        """End the stream now (the server is stopping, or the client left); wakes whoever sends it."""
        self.ended = True
        self._wake()

    def offer(self, events: list[dict]) -> None:
        """Queue the events this client asked for; on overflow mark the stream so it closes."""
        queued = False
        for event in events:
            if event["id"] <= self.floor or (self.types is not None and event["type"] not in self.types):
                continue
            if len(self.items) >= self.maxsize:
                self.overflowed = True
                break
            self.items.append(event)
            queued = True
        if queued or self.overflowed:
            self._wake()

    def take(self) -> list[dict]:
        """Every event queued so far, oldest first (the sender's side)."""
        items, taken = self.items, []
        while items:
            taken.append(items.popleft())
        return taken

    def wait(self, timeout: float) -> None:
        """Wait until something is queued or the stream ends, at most ``timeout`` seconds (a request thread that
        serves its stream itself)."""
        if not self.items and self.open:
            self._queued.wait(timeout)
        self._queued.clear()

    def _wake(self) -> None:
        self._queued.set()
        waker = self.waker
        if waker is not None:
            waker()


class EventBus:
    """Delivers committed events, in order, on its own thread."""

    def __init__(self, stream_queue_size: int = 1000):
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._subscribers: list[Callable[[list[dict]], None]] = []
        self._streams: set[Stream] = set()
        self._stream_owners: list[Callable[[list[dict]], None]] = []
        self._delivered_up_to = 0  # the newest event id the dispatcher has started to deliver
        self._lock = threading.Lock()
        self._stream_queue_size = stream_queue_size
        self._thread = threading.Thread(target=self._run, name="event-fanout", daemon=True)
        self.last_delivery = time.monotonic()

    def start(self) -> None:
        """Start the dispatcher thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop."""
        if self._thread.is_alive():
            self._inbox.put(_STOP)
            self._thread.join(timeout)

    def alive(self) -> bool:
        """Tell whether the dispatcher thread runs."""
        return self._thread.is_alive()

    def own_streams(self, hand_over: Callable[[list[dict]], None], *, stop: bool = False) -> None:
        """Register (or with ``stop`` unregister) a stream owner: the HTTP server's stream hub. Streams marked
        ``deferred`` are not offered each batch here; ``hand_over(public_events)`` gets the batch once instead,
        and offers it to its streams later, off the moment the request that made the events is answered."""
        with self._lock:
            if stop:
                if hand_over in self._stream_owners:
                    self._stream_owners.remove(hand_over)
            else:
                self._stream_owners.append(hand_over)

    def subscribe(self, callback: Callable[[list[dict]], None]) -> None:
        """Call ``callback(events)`` on the dispatcher thread for every committed batch."""
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[list[dict]], None]) -> None:
        """Stop calling a callback."""
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def open_stream(self, types: frozenset[str] | None = None, *, client: str | None = None,
                    limit: int | None = None, client_limit: int | None = None) -> Stream:
        """Open a stream for one client (of the event ``types`` only, if given); close it with
        :meth:`close_stream`. Raises :class:`StreamsFull` when ``limit`` streams are open, or ``client_limit``
        of ``client``'s (checked and taken in one step, so two requests cannot both take the last place)."""
        stream = Stream(self._stream_queue_size, types, client)
        with self._lock:
            stream.floor = self._delivered_up_to  # batches delivered before it opened are not its own
            if limit is not None and len(self._streams) >= limit:
                raise StreamsFull("hall", limit)
            if client_limit is not None and sum(s.client == client for s in self._streams) >= client_limit:
                raise StreamsFull("client", client_limit)
            self._streams.add(stream)
        return stream

    def close_stream(self, stream: Stream) -> None:
        """Forget a client's stream."""
        with self._lock:
            self._streams.discard(stream)

    def end_streams(self) -> None:
        """End every open stream (the server is stopping): whoever sends each one closes it."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.end()

    @property
    def pending(self) -> int:
        """How many committed batches wait for delivery (read from the inbox, so no counter is shared between
        the writer and the dispatcher; a health ping in the inbox counts too while it waits)."""
        return self._inbox.qsize()

    def stream_count(self, client: str | None = None) -> int:
        """Return how many streams are open (of ``client``'s, if given)."""
        with self._lock:
            if client is None:
                return len(self._streams)
            return sum(s.client == client for s in self._streams)

    def publish(self, events: list[dict]) -> None:
        """Queue a committed batch for delivery (called by the writer; never blocks)."""
        self._inbox.put(events)

    def ping(self, timeout: float) -> bool:
        """Tell whether the dispatcher gets through its inbox (delivering what came before) within ``timeout``."""
        if not self._thread.is_alive():
            return False
        done = threading.Event()
        self._inbox.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._inbox.get()
            batch, pings = [], []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                    break
                if isinstance(item, threading.Event):
                    pings.append(item)
                else:
                    batch.extend(item)
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._deliver(batch)
            for ping in pings:  # answered only once what was queued before them is delivered
                ping.set()
            self.last_delivery = time.monotonic()
            if stop:
                return

    def _deliver(self, batch: list[dict]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
            streams = list(self._streams)
            stream_owners = list(self._stream_owners)
            if batch:  # a stream opened from now on gets only later batches (see open_stream)
                self._delivered_up_to = max(self._delivered_up_to, batch[-1]["id"])
        # Streams share one copy of each event (a stream may cache its rendered text in it); subscribers keep theirs.
        public = [dict(e) for e in batch if e["type"] in PUBLIC_TYPES]
        if public:  # streams first: queuing is instant, while a device callback may take a moment
            for stream in streams:
                if not stream.deferred:
                    stream.offer(public)
            for hand_over in stream_owners:
                hand_over(public)
        for callback in subscribers:
            try:
                callback(batch)
            except Exception:
                log.exception("an event subscriber failed (%s)", getattr(callback, "__qualname__", callback))
