"""One client connection: requests read with deadlines, answered by the app on a worker, or parked as a stream.

The connection is an :class:`asyncio.Protocol` on the loop thread. h11 parses each request (a fresh parser per
request, fed what came after the last one); answers are written by :mod:`.http1`. A request is read whole (head
within ``head_timeout`` of its first byte, body within ``body_timeout``, at most ``max_head_bytes`` and
``max_body_bytes``) before a worker thread sees it; what the client pipelines meanwhile waits in the parser's
buffer (reading stops once that holds more than ``PIPELINE_LIMIT``). The deadlines are checked by the server's
sweep (:meth:`check_deadline`), not by a timer per request. Whatever goes wrong on the wire is answered in the
app's JSON error shape (:func:`kiosk.web.wsgi.error_reply`) and the connection closes. Once an event stream's
opening part is sent, the connection is *parked*: it is the stream's :class:`~kiosk.web.streams.Sink`, anything
the client sends is dropped, and its closing lets the stream's place go at once.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

import h11

from ..live import Feed
from . import http1
from .wsgi import Reply, build_environ, call_app, error_reply, raw_bytes

if TYPE_CHECKING:
    from .server import WebServer

log = logging.getLogger(__name__)

# A stalled screen (frozen browser, half-dead network) is cut off once it has left this much unread, and
# reconnects when it recovers: at most STREAM_SNDBUF in the kernel plus BEHIND_LIMIT in the transport's buffer
# per stream (about a thousand calls), instead of the kernel's autotuned megabytes.
STREAM_SNDBUF = 64 * 1024
BEHIND_LIMIT = 256 * 1024
PARKED_INPUT_LIMIT = 64 * 1024  # what a client may send down a parked stream (an EventSource sends nothing)
WRITE_HIGH_WATER = 64 * 1024
LINGER_S = 2.0  # how long a refused or broken request's connection drops input after the answer
MAX_LINGERING = 1000  # beyond this many at once (a flood), such connections are closed at once
PIPELINE_LIMIT = 64 * 1024  # what a client may send ahead while its request is answered, before reading stops

REFUSALS = {
    "server_busy": (503, "server_busy", "The hall controller has too many connections open; try again shortly."),
    "client_connections": (503, "too_many_connections",
                           "This device has too many connections open to the hall controller; close some."),
}
PROTOCOL_ERRORS = {
    400: ("malformed_request", "The request could not be read as HTTP ({detail})."),
    414: ("uri_too_long", "The request's address is too long."),
    431: ("headers_too_large", "The request's headers are too large."),
    501: ("not_implemented", "The request uses an HTTP feature the hall controller does not support ({detail})."),
}
TIMEOUTS = {
    "head": "The request's headers did not arrive in time; the connection was closed.",
    "body": "The request's body did not arrive in time; the connection was closed.",
}


class HttpConnection(asyncio.Protocol):
    """HTTP/1.1 on one client connection (loop thread only)."""

    transport: asyncio.Transport  # set by connection_made, which asyncio calls before anything else

    def __init__(self, server: WebServer):
        self.server = server
        self.limits = server.limits
        self.http = self._parser()
        self.address = ""
        self.peer: tuple = ("", 0)
        self.open = False  # admitted and not yet lost
        self.feed: Feed | None = None  # set once the connection carries a parked event stream
        self._request: h11.Request | None = None
        self._body = bytearray()
        self._busy = False  # a request is with the app, or waits for a place
        self._deadline = 0.0  # (loop time) when the current phase must be over
        self._timer_kind = ""  # the phase the deadline is for: idle, head, body; "" for none
        self._ahead = 0  # bytes the client sent while its request was answered
        self._reading = True
        self._write_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._draining = False  # answered and half closed: what the client still sends is dropped
        self._write_paused = False
        self._read_when_written = False
        self._parked_input = 0
        self._chunked = False  # a parked stream's chunks are framed as HTTP/1.1's chunked coding

    def _parser(self) -> h11.Connection:
        return h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)

    @property
    def busy(self) -> bool:
        """A request of this connection is with the app or waits for a place."""
        return self._busy

    # -- asyncio's callbacks ---------------------------------------------------------------------------------
    def connection_made(self, transport) -> None:  # type: ignore[override]
        """Admit the connection (or refuse it with 503 when its address or the server is full)."""
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        self.peer, self.address = tuple(peer[:2]), str(peer[0])
        refused = self.server.clients.admit(self.address)
        if refused == "again":
            transport.abort()
            return
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        if refused is not None:
            self._send_raw(error_reply(*REFUSALS[refused]))
            return
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.open = True
        self.server.connections.add(self)
        self._arm("idle")

    def connection_lost(self, exc: Exception | None) -> None:
        """Let go of everything the connection held: its place, its running request's place, its stream."""
        self._disarm()
        for timer in (self._write_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        if self._draining:
            self._draining = False
            self.server.lingering -= 1
        if not self.open:
            return
        self.open = False
        self.server.connections.discard(self)
        self.server.clients.release(self.address)
        if self.feed is not None:
            self.server.hub.release(self.feed)

    def data_received(self, data: bytes) -> None:
        """Feed h11 and act on what it parsed (a parked stream drops what the client sends)."""
        if self._draining:
            return
        if self.feed is not None:
            self._parked_input += len(data)
            if self._parked_input > PARKED_INPUT_LIMIT:
                self._close()
            return
        if self._timer_kind == "idle":
            self._arm("head")  # the first bytes of a request: its head must be complete in time
        self.http.receive_data(data)
        if self._busy:  # pipelined: it waits in the parser until the answer is sent, up to a limit
            self._ahead += len(data)
            if self._ahead > PIPELINE_LIMIT and self._reading:
                self._reading = False
                self.transport.pause_reading()
            return
        self._process()

    def eof_received(self) -> bool:
        """The client will send no more: answer what it asked, then close."""
        if self.feed is not None or self._draining:
            return False
        self.http.receive_data(b"")
        self._process()
        return self._busy  # keep the transport open to send the answer being prepared

    def pause_writing(self) -> None:
        """The client does not read what it is sent: read no further request from it until it does, and cut it
        off if that lasts ``write_timeout``."""
        self._write_paused = True
        if self._write_timer is None:
            self._write_timer = self.server.loop.call_later(self.limits.write_timeout, self._write_stalled)

    def resume_writing(self) -> None:
        """The client reads again: go on with its next request."""
        self._write_paused = False
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        if self._read_when_written:
            self._read_when_written = False
            self._read_next()

    # -- reading requests ------------------------------------------------------------------------------------
    def _process(self) -> None:
        """Act on each event h11 has parsed, until it needs more data or a request goes to the app."""
        while self.open and not self._busy and self.feed is None and not self.transport.is_closing():
            try:
                event = self.http.next_event()
            except h11.RemoteProtocolError as exc:
                self._protocol_error(exc)
                return
            if event is h11.NEED_DATA:
                if self._request is not None and self._timer_kind != "body":
                    self._arm("body")
                return
            if event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self._start(event)
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > self.limits.max_body_bytes:
                    self._refuse_body()
            elif isinstance(event, h11.EndOfMessage):
                self._dispatch()
            elif isinstance(event, h11.ConnectionClosed):
                self._close()
                return

    def _start(self, request: h11.Request) -> None:
        self._request, self._body = request, bytearray()
        if len(request.target) > self.limits.max_target_bytes:
            self._send_raw(error_reply(414, *PROTOCOL_ERRORS[414]))
            return
        if len(request.target) + sum(len(k) + len(v) + 4 for k, v in request.headers) > self.limits.max_head_bytes:
            self._send_raw(error_reply(431, *PROTOCOL_ERRORS[431]))
            return
        length = next((v for k, v in request.headers if k == b"content-length"), None)
        if length is not None and int(length) > self.limits.max_body_bytes:
            self._refuse_body()
            return
        if self.http.they_are_waiting_for_100_continue:
            self._write(self.http.send(h11.InformationalResponse(status_code=100, headers=[])))
        self._arm("body")

    def _refuse_body(self) -> None:
        megabytes = self.limits.max_body_bytes / (1024 * 1024)
        self._send_raw(error_reply(413, "too_large", f"The request's body is larger than {megabytes:g} MB."))

    def _protocol_error(self, exc: h11.RemoteProtocolError) -> None:
        status = exc.error_status_hint
        buffered, _closed = self.http.trailing_data
        if status == 431 and b"\n" not in buffered:
            status = 414  # the request line alone is too long: its address
        code, message = PROTOCOL_ERRORS.get(status, PROTOCOL_ERRORS[400])
        self._send_raw(error_reply(status, code, message.replace("{detail}", str(exc) or "malformed")))

    # -- answering -------------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        """The request is read whole: give it to the app on a worker thread, when its address has a place."""
        self._disarm()
        self._busy = True
        self._ahead = 0
        if self.server.clients.start_request(self.address, self):
            self.run_request()

    def run_request(self) -> None:
        """Hand the request to a worker thread (its place is already counted)."""
        request = self._request
        assert request is not None  # set by _start before the request's end arrives
        environ = build_environ(request, bytes(self._body), self.peer, self.server.local)
        self._body = bytearray()
        self.server.workers.submit(call_app, self.server.app, environ, done=self._answered)

    def _answered(self, reply: Reply) -> None:
        """The app's answer (on the loop thread): free the place, send the answer."""
        following = self.server.clients.end_request(self.address)
        if following is not None:
            following.run_request()
        if not self.open:
            if reply.feed is not None:  # the screen left while its stream opened
                self.server.hub.release(reply.feed)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        request = self._request
        assert request is not None
        headers = reply.headers
        keep = not reply.close and http1.keeps_alive(request, headers)
        if reply.feed is not None:
            self._chunked = keep  # HTTP/1.1: chunks; HTTP/1.0 (or close asked): bare bytes, ended by closing
            headers.append((b"transfer-encoding", b"chunked") if keep else (b"connection", b"close"))
        elif not keep and not any(k.lower() == b"connection" for k, _ in headers):
            headers.append((b"connection", b"close"))
        data = http1.head(reply.status, reply.reason, headers)
        if reply.body and http1.has_body(request, reply.status):
            data += http1.chunk(reply.body) if reply.feed is not None and self._chunked else reply.body
        self._write(data)
        if reply.feed is not None:
            self._park(reply.feed)
        elif keep:
            self._next_cycle()
        else:
            self._close()

    def _next_cycle(self) -> None:
        """The answer is sent: wait for the next request on this connection, with a fresh parser fed what the
        client sent meanwhile."""
        self._busy = False
        self._request = None
        buffered, closed = self.http.trailing_data
        self.http = self._parser()
        if buffered:
            self.http.receive_data(buffered)
        if closed:
            self.http.receive_data(b"")
        if self._write_paused:  # answers pile up unread: the next request waits until the client reads
            self._read_when_written = True
            if self._reading:
                self._reading = False
                self.transport.pause_reading()
            return
        self._read_next()

    def _read_next(self) -> None:
        if not self._reading:
            self._reading = True
            self.transport.resume_reading()
        self._arm("head" if self.http.trailing_data[0] else "idle")
        self._process()

    def _send_raw(self, reply: Reply) -> None:
        """Answer outside h11's state machine (it refuses to once a request broke the protocol) and close, letting
        the client read the answer before what it still sends is thrown away (:meth:`_linger`)."""
        self._write(raw_bytes(reply))
        self._linger()

    def _linger(self) -> None:
        """Close after an answer given while the client may still be sending: closing a socket with unread data
        resets it, and the client would lose the answer. So: send the answer and our end (half close), drop what
        the client sends, and close when it has closed too, or after LINGER_S."""
        server = self.server
        if server.lingering >= MAX_LINGERING or not self.transport.can_write_eof():
            self._close()
            return
        self._draining = True
        server.lingering += 1
        self.transport.write_eof()
        self._linger_timer = server.loop.call_later(LINGER_S, self._close)

    # -- a parked event stream (the hub's Sink) ---------------------------------------------------------------
    def _park(self, feed: Feed) -> None:
        self.feed = feed
        self._busy = False
        self._disarm()
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
            except OSError:
                log.debug("could not bound an event stream's send buffer", exc_info=True)
        if not self._reading:  # to notice the client leaving
            self._reading = True
            self.transport.resume_reading()
        self.server.hub.adopt(feed, self)

    def connected(self) -> bool:
        """Whether the client is still there."""
        return self.open and not self.transport.is_closing()

    def send(self, data: bytes) -> bool:
        """Queue stream data for the client; False when it is gone or has left more than BEHIND_LIMIT unread.

        The chunk is framed here rather than by h11 (whose state machine costs more than the write, for each of 50
        screens on every call): a chunk as HTTP/1.1's chunked coding has it, or the bare bytes for an HTTP/1.0
        client, whose stream ends when the connection closes. h11 still writes the end (:meth:`end`)."""
        if not self.connected() or self.transport.get_write_buffer_size() > BEHIND_LIMIT:
            return False
        self.transport.write(http1.chunk(data) if self._chunked else data)
        return True

    def end(self) -> None:
        """End the stream (the closing chunk when the client keeps up, else cut it off) and close."""
        if not self.connected():
            return
        if self.transport.get_write_buffer_size() > BEHIND_LIMIT:
            self.transport.abort()
            return
        if self._chunked:
            self._write(http1.LAST_CHUNK)
        self._close()

    # -- timers and closing ----------------------------------------------------------------------------------
    def _arm(self, kind: str) -> None:
        seconds = {"idle": self.limits.idle_timeout, "head": self.limits.head_timeout,
                   "body": self.limits.body_timeout}[kind]
        self._timer_kind = kind
        self._deadline = self.server.loop.time() + seconds

    def _disarm(self) -> None:
        self._timer_kind = ""

    def check_deadline(self, now: float) -> None:
        """Called by the server's sweep: close a connection whose phase (idle, head, body) ran out of time."""
        kind = self._timer_kind
        if kind and now >= self._deadline and self.open:
            self._timer_kind = ""
            self.server.clients.timeouts[kind] += 1
            if kind == "idle":
                self._close()
            else:
                self._send_raw(error_reply(408, "request_timeout", TIMEOUTS[kind]))

    def _write_stalled(self) -> None:
        self._write_timer = None
        self.server.clients.timeouts["write"] += 1
        self.transport.abort()

    def _write(self, data: bytes) -> None:
        if data and not self.transport.is_closing():
            self.transport.write(data)

    def _close(self) -> None:
        """Close once what is queued is sent; cut off a client that does not read it within ``write_timeout``."""
        if self.transport.is_closing():
            return
        self.transport.close()
        if self.transport.get_write_buffer_size():
            self.pause_writing()

    def close_now(self) -> None:
        """End the connection (the server stops): a parked stream ends properly, anything else is closed."""
        if self.feed is not None:
            self.end()
        else:
            self._close()
