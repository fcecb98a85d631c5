"""The open event streams, written from the event loop's thread.

Every open screen (a hall display, a counter station, the kiosk, the guide desk) holds a ``GET /events``
stream. Once the app has written the stream's opening part on a worker thread, the connection is *parked*: the
:class:`StreamHub` on the loop thread adopts its :class:`~kiosk.live.Feed` and sends it what comes next. So an
open screen holds no worker thread, and a call wakes the loop once for all screens instead of one thread per
screen. The hub is woken by the event fan-out (from its thread, once per batch), waits :attr:`GATHER_S` so the
clerk's answer goes out first and a burst of calls reaches each screen in one write, then sends each stream what
is new. Once a second it also sends due keep-alives and ends streams whose time is up.
"""
from __future__ import annotations

import asyncio
import collections
import logging
from typing import Protocol

from ..events import EventBus
from ..live import Feed

log = logging.getLogger(__name__)


class Sink(Protocol):
    """A parked connection, as the hub sees it (loop thread only)."""

    def connected(self) -> bool:
        """Whether the client is still there."""

    def send(self, data: bytes) -> bool:
        """Queue ``data`` for the client without blocking; False if it is gone or too far behind."""

    def end(self) -> None:
        """End the response and close the connection once what is queued is sent."""


class StreamHub:
    """Every parked stream of one server, and the loop callbacks that send them."""

    TICK_S = 1.0  # how often due keep-alives are sent, ended streams closed and clients that left let go
    # Once woken, the hub lets this much time pass before sending: the clerk's answer to "next" goes out before
    # the 50 screens' copies of the call compete with it for the two cores, and a burst of calls goes to each
    # screen in one write. A screen shows a call this much later, far inside its 50 ms (docs/benchmarks.md).
    GATHER_S = 0.01

    def __init__(self, loop: asyncio.AbstractEventLoop, bus: EventBus):
        self._loop = loop
        self._bus = bus
        self._feeds: dict[Feed, Sink] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._wake_pending = False
        self._pending: collections.deque[list[dict]] = collections.deque()  # batches not yet offered

    def start(self) -> None:
        """Start the once-a-second tick and take the event batches for its streams (on the loop thread)."""
        self._tick_handle = self._loop.call_later(self.TICK_S, self._tick)
        self._bus.own_streams(self.publish)

    def publish(self, events: list[dict]) -> None:
        """A committed batch for the parked streams (called once per batch by the fan-out, from its thread): kept
        until the next flush, which offers it to each stream. So the fan-out does one append for all screens
        while the clerk's answer is being sent, and the 50 screens' share of the work comes 10 ms later."""
        if not self._feeds:  # no parked stream: nothing to do (a stream not yet parked is offered directly)
            return
        self._pending.append(events)
        self.wake()

    def stop(self) -> None:
        """End every stream and stop the tick (on the loop thread); a stream parked after this ends at once."""
        for handle in (self._tick_handle, self._flush_handle):
            if handle is not None:
                handle.cancel()
        self._tick_handle = self._flush_handle = None
        self._bus.own_streams(self.publish, stop=True)
        self._bus.end_streams()
        self.end_all()

    def count(self) -> int:
        """How many parked streams the hub sends."""
        return len(self._feeds)

    def adopt(self, feed: Feed, sink: Sink) -> None:
        """Take over sending ``feed`` to ``sink`` (its opening part is already written); events queued before
        this go out at once."""
        feed.stream.waker = self.wake
        self._feeds[feed] = sink  # before it is deferred, so a batch the fan-out no longer offers it is published
        feed.stream.deferred = True  # from now on its batches come through publish (an event offered both ways
        self._flush_later(0.0)       # meanwhile is sent once: a feed skips ids it has sent)

    def release(self, feed: Feed) -> None:
        """The client of ``feed`` left: forget the stream at once, so its place is free."""
        self._feeds.pop(feed, None)
        self._bus.close_stream(feed.stream)

    def end_all(self) -> None:
        """End every stream now (the server stops)."""
        for feed, sink in list(self._feeds.items()):
            self._end(feed, sink)

    def wake(self) -> None:
        """Something was queued for a stream (called by the event fan-out, from its own thread)."""
        if self._wake_pending:
            return
        self._wake_pending = True
        try:
            self._loop.call_soon_threadsafe(self._woken)
        except RuntimeError:  # the loop is closed: the server has stopped
            pass

    def _woken(self) -> None:
        self._wake_pending = False
        self._flush_later(self.GATHER_S)

    def _flush_later(self, delay: float) -> None:
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_later(delay, self._flush)

    def _tick(self) -> None:
        self._tick_handle = self._loop.call_later(self.TICK_S, self._tick)
        self._flush()

    def _flush(self) -> None:
        self._flush_handle = None
        batches = self._pending
        while batches:
            events = batches.popleft()
            for feed in self._feeds:
                feed.stream.offer(events)
        for feed, sink in list(self._feeds.items()):
            if not self._serve(feed, sink):
                self._end(feed, sink)

    @staticmethod
    def _serve(feed: Feed, sink: Sink) -> bool:
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
        self._feeds.pop(feed, None)
        self._bus.close_stream(feed.stream)
        try:
            sink.end()
        except Exception:
            log.exception("closing an event stream failed")
