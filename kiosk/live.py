"""Live event streams to the screens: what each client is sent next, and one thread that sends it.

Every open screen (a hall display, a counter station, the kiosk, the guide desk) holds a ``GET /events``
stream. Once its opening part (the backlog) is written, the HTTP server hands the connection to the
:class:`StreamWriter` (see :mod:`kiosk.parking` for waitress), so an open screen holds no worker thread and a
call wakes one thread for all screens instead of one per screen. Under a server that cannot hand a connection
over, the request's own thread serves the same :class:`Feed`.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Callable, Protocol

from .events import EventBus, Stream, public_event

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0  # a quiet stream gets a comment line this often, so proxies and browsers keep it open
KEEP_ALIVE = b": keep-alive\n\n"
_RENDERED = "sse_bytes"  # where a live event keeps its rendered message (every stream is handed the same dict)


def sse_message(event: dict, tz) -> str:
    """The server-sent-event message of a stored event, with only its public part."""
    data = public_event(event, tz)
    return f"id: {data['id']}\nevent: {data['type']}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _live_message(event: dict, tz) -> bytes:
    """The message of a live event, rendered by the first feed that sends it and reused by the others."""
    data = event.get(_RENDERED)
    if data is None:
        data = event[_RENDERED] = sse_message(event, tz).encode()
    return data


class Feed:
    """What one client of the event stream is sent after its opening part: the live events newer than the
    last it has seen, a keep-alive when quiet, until its time is up, it overflows, or the server stops."""

    def __init__(self, stream: Stream, tz, seen: int, max_s: float, *, heartbeat_s: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self._tz = tz
        self._seen = seen
        self._heartbeat_s = heartbeat_s
        self._clock = clock
        self._last_sent = clock()
        self._ends = self._last_sent + max_s

    def done(self) -> bool:
        """Whether the stream should end now (its time is up, it fell too far behind, or the server stops)."""
        return not self.stream.open or self._clock() >= self._ends

    def quiet_left(self) -> float:
        """Seconds until something is due without an event: the next keep-alive or the end."""
        now = self._clock()
        return max(0.0, min(self._last_sent + self._heartbeat_s, self._ends) - now)

    def take(self, timeout: float = 0.0) -> bytes:
        """What to send now: every queued event in one piece (a call is a ``served`` and a ``called``), or a
        keep-alive when one is due, or ``b""``. Waits up to ``timeout`` seconds for a first event."""
        events = []
        try:
            events.append(self.stream.queue.get(timeout=timeout) if timeout > 0 else self.stream.queue.get_nowait())
            while True:
                events.append(self.stream.queue.get_nowait())
        except queue.Empty:
            pass
        chunk = []
        for event in events:
            if event is not None and event["id"] > self._seen:  # None: the stream was ended
                self._seen = event["id"]
                chunk.append(_live_message(event, self._tz))
        now = self._clock()
        if not chunk and now - self._last_sent >= self._heartbeat_s:
            chunk.append(KEEP_ALIVE)
        if chunk:
            self._last_sent = now
        return b"".join(chunk)


class Sink(Protocol):
    """A client connection the writer sends a stream to."""

    def connected(self) -> bool:
        """Whether the client is still there."""

    def send(self, data: bytes) -> bool:
        """Queue ``data`` for the client without blocking; False if it is gone or too far behind."""

    def end(self) -> None:
        """End the response and close the connection once what is queued is sent."""


class StreamWriter:
    """One thread that sends every handed-over stream its events, woken once per delivered batch."""

    TICK_S = 1.0  # how often it looks for due keep-alives, ended streams and clients that left
    # Once woken, it lets this much time pass before sending: the clerk's answer to "next" goes out before the
    # 50 screens' copies of the call compete with it for the two cores, and a burst of calls goes to each screen
    # in one write. A screen shows a call this much later, far inside its 200 ms (docs/benchmarks.md).
    GATHER_S = 0.01

    def __init__(self, bus: EventBus):
        self._bus = bus
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._feeds: dict[Feed, Sink] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="stream-writer", daemon=True)

    def start(self) -> "StreamWriter":
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """End every stream it holds and stop."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def adopt(self, feed: Feed, sink: Sink) -> None:
        """Take over sending ``feed`` to ``sink`` (its opening part is already written); events queued before
        this go out at once."""
        feed.stream.waker = self._wake.set
        with self._lock:
            self._feeds[feed] = sink
        self._wake.set()

    def _run(self) -> None:
        while True:
            if self._wake.wait(self.TICK_S) and not self._stopping:
                time.sleep(self.GATHER_S)
            self._wake.clear()
            with self._lock:
                feeds = list(self._feeds.items())
            for feed, sink in feeds:
                if self._stopping or not self._serve(feed, sink):
                    self._end(feed, sink)
            if self._stopping:
                return

    def _serve(self, feed: Feed, sink: Sink) -> bool:
        """Send what is due; False when the stream should end."""
        try:
            if feed.done() or not sink.connected():
                return False
            data = feed.take()
            return not data or sink.send(data)
        except Exception:
            log.exception("sending to an event stream failed; ending it")
            return False

    def _end(self, feed: Feed, sink: Sink) -> None:
        with self._lock:
            self._feeds.pop(feed, None)
        self._bus.close_stream(feed.stream)
        try:
            sink.end()
        except Exception:
            log.exception("closing an event stream failed")
