"""Handing a live event stream's connection from a waitress worker thread to the stream writer.

A WSGI response occupies its worker thread until the last byte, and an event stream never ends, so with plain
WSGI every open screen holds a thread and every call wakes all of them. Here the ``/events`` view writes the
stream's opening part, then calls ``environ[PARK_KEY](feed)`` and returns. The task then leaves the response
open instead of finishing it, the connection is marked *parked*, and :class:`kiosk.live.StreamWriter` sends
the rest through :class:`ChannelSink` from its one thread (appending to the channel's output buffer under
the channel's own lock, as waitress's worker threads do).

This leans on waitress's channel and task classes (``HTTPChannel``, ``WSGITask``, tested with waitress 3.0);
``tests/test_parking.py`` checks the behaviour a screen relies on, so an upgrade that breaks it fails there.
"""
from __future__ import annotations

import logging
import socket

from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import WSGITask

from .live import Feed, StreamWriter

log = logging.getLogger(__name__)

PARK_KEY = "kiosk.park_stream"  # in the WSGI environ: call it with a Feed to hand the connection over
# A stalled screen (frozen browser, half-dead network) is cut off once it has left this much unread, and
# reconnects when it recovers: at most STREAM_SNDBUF in the kernel plus BEHIND_LIMIT in the channel's buffer
# per stream (about a thousand calls), instead of the kernel's autotuned megabytes.
STREAM_SNDBUF = 64 * 1024
BEHIND_LIMIT = 256 * 1024


class ParkingTask(WSGITask):
    """A WSGI task whose response may be left open for the stream writer."""

    _feed: Feed | None = None

    def get_environment(self):
        """The WSGI environ, with the callable that parks this response."""
        environ = super().get_environment()
        environ[PARK_KEY] = self._park
        return environ

    def _park(self, feed: Feed) -> None:
        self._feed = feed

    def finish(self):
        """Finish the response, or leave it open (no closing chunk, no close) when it was parked."""
        if self._feed is None:
            return super().finish()
        if not self.wrote_header:
            self.write(b"")
        self.close_on_finish = False
        self.channel.park(self._feed, self.chunked_response)


class ParkingChannel(HTTPChannel):
    """A connection that, once parked, carries one event stream written by the stream writer."""

    task_class = ParkingTask
    parked: Feed | None = None
    _chunked = False
    _adopted = False

    def park(self, feed: Feed, chunked: bool) -> None:
        """Mark the connection as carrying ``feed`` (called by the task, before its request is done)."""
        self.parked, self._chunked = feed, chunked
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        except OSError:
            log.debug("could not bound an event stream's send buffer", exc_info=True)

    def service(self):
        """Serve the request; a parked one is then handed to the stream writer (on this worker thread, after
        waitress is done with the request, so the writer is the only one writing from here on)."""
        super().service()
        if self.parked is not None and not self._adopted:
            self._adopted = True
            self.server.stream_writer.adopt(self.parked, ChannelSink(self, self._chunked))

    def received(self, data):
        """Ignore what a client sends on a parked stream (an EventSource sends nothing)."""
        if self.parked is not None:
            return False
        return super().received(data)

    def handle_write(self):
        """Flush on the event loop; on a parked stream under the output lock, since the writer appends to the
        buffer from its own thread (waitress flushes without the lock when no request is running)."""
        if self.parked is None:
            return super().handle_write()
        with self.outbuf_lock:
            self._flush_exception(self._flush_some)
        if self.close_when_flushed and not self.total_outbufs_len:
            self.close_when_flushed = False
            self.will_close = True
        if self.will_close:
            self.handle_close()

    def handle_close(self):
        """Close the connection; a parked stream is ended so the writer lets go of it at once."""
        super().handle_close()
        if self.parked is not None:
            self.parked.stream.end()


class ChannelSink:
    """The stream writer's view of a parked waitress connection."""

    def __init__(self, channel: ParkingChannel, chunked: bool):
        self._channel = channel
        self._chunked = chunked

    def connected(self) -> bool:
        """Whether the client is still there."""
        return self._channel.connected and not self._channel.will_close

    def send(self, data: bytes) -> bool:
        """Queue ``data`` (sent at once when the socket takes it); False if the client is gone or has left more
        than BEHIND_LIMIT bytes unread (a stalled screen must not make the hall buffer without end)."""
        channel = self._channel
        if not self.connected() or channel.total_outbufs_len > BEHIND_LIMIT:
            return False
        if self._chunked:
            data = b"%X\r\n%s\r\n" % (len(data), data)
        try:
            channel.write_soon(data)
        except (ClientDisconnected, OSError):
            return False
        return True

    def end(self) -> None:
        """End the response (the closing chunk when the client is keeping up) and close once it is sent."""
        channel = self._channel
        if self._chunked and self.connected() and channel.total_outbufs_len <= BEHIND_LIMIT:
            try:
                channel.write_soon(b"0\r\n\r\n")
            except (ClientDisconnected, OSError):
                pass
        channel.close_when_flushed = True
        try:
            channel.server.pull_trigger()  # the event loop closes it
        except OSError:
            pass  # the server is closing: its sockets go with it


def install(server, writer: StreamWriter) -> None:
    """Make a waitress server (from ``waitress.create_server``, one listening socket or several) hand its
    event streams to ``writer``."""
    listeners = [server] if isinstance(server, BaseWSGIServer) else \
        [each for each in server.map.values() if isinstance(each, BaseWSGIServer)]
    for listener in listeners:
        listener.channel_class = ParkingChannel
        listener.stream_writer = writer
