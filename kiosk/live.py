"""Live event streams to the screens: what each client is sent next.

Every open screen (a hall display, a counter station, the kiosk, the guide desk) holds a ``GET /events``
stream. Once its opening part (the backlog) is written, the view hands the rest of the stream over by calling
``environ[PARK_KEY](feed)`` with a :class:`Feed`: the hall's HTTP server (:mod:`kiosk.web`) then sends it from its
event loop, so an open screen holds no worker thread. Under a server without that key (Flask's test client) the
request's own thread serves the same :class:`Feed`.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Callable, Iterator

from .events import EventBus, Stream, public_event

log = logging.getLogger(__name__)

PARK_KEY = "kiosk.park_stream"  # in the WSGI environ: call it with a Feed to hand the stream to the server
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
        if timeout > 0:
            self.stream.wait(timeout)
        chunk = []
        for event in self.stream.take():
            if event["id"] > self._seen:
                self._seen = event["id"]
                chunk.append(_live_message(event, self._tz))
        now = self._clock()
        if not chunk and now - self._last_sent >= self._heartbeat_s:
            chunk.append(KEEP_ALIVE)
        if chunk:
            self._last_sent = now
        return b"".join(chunk)


class LiveStream:
    """The body of one ``GET /events`` answer: its opening part, then the feed — handed to the server when it
    can take it (``park``), else sent from the request's own thread.

    The server closes the body when it is done with it (PEP 3333), also when it never read it: the stream's place
    is then given back, unless the server took the stream over (it gives the place back when the client leaves).
    """

    def __init__(self, bus: EventBus, feed: Feed, opening: bytes, park: Callable[[Feed], None] | None):
        self._bus = bus
        self.feed = feed
        self._opening = opening
        self._park = park
        self._parked = False

    def __iter__(self) -> Iterator[bytes]:
        """The opening part, then (without a server to take it) the live events until the stream ends."""
        yield self._opening
        if self._park is not None:
            self._park(self.feed)
            self._parked = True
            return
        feed = self.feed
        while not feed.done():
            data = feed.take(timeout=feed.quiet_left())
            if data:
                yield data

    def close(self) -> None:
        """Give the stream's place back, unless the server took the stream over."""
        if not self._parked:
            self._bus.close_stream(self.feed.stream)
