"""A request as a WSGI environ (PEP 3333), the app's whole answer, and the errors the server itself gives.

The app runs on a worker thread and its answer is collected whole (:func:`call_app`) before the loop thread
sends it, so a worker never waits for a slow client. The one exception is a live event stream: the app writes its
opening part and hands the rest over with ``environ[PARK_KEY](feed)``; the reply then carries the feed, which the
loop thread goes on sending.
"""
from __future__ import annotations

import io
import json
import logging
import sys
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes, urlsplit

import h11

from ..api.headers import SECURITY_HEADERS
from ..errors import HallError
from ..live import PARK_KEY, Feed

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
# The security headers of every answer (kiosk/api/headers.py), on the errors the server gives by itself too.
ERROR_SECURITY = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
NO_BODY = (204, 304)
SERVER = (b"server", b"hall-kiosk")
_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The ``Date`` header's value for now (RFC 9110: an origin server with a clock sends it), made once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode())
    return _date_cache[1]


def server_headers() -> list[tuple[bytes, bytes]]:
    """The headers the server adds to every answer."""
    return [(b"date", http_date()), SERVER]


@dataclass
class Reply:
    """An answer ready to send: status, headers, the whole body, and the stream to go on with (if parked)."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    feed: Feed | None = None
    close: bool = False


def error_reply(status: int, code: str, message: str) -> Reply:
    """An error the server gives before or instead of the app, in the app's JSON shape; the connection closes."""
    body = json.dumps(HallError(message, code=code, status=status).to_dict(), ensure_ascii=False).encode()
    headers = [*server_headers(), *ERROR_SECURITY, (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    return Reply(status, reason_phrase(status), headers, body, close=True)


def reason_phrase(status: int) -> bytes:
    """The standard reason phrase of a status (empty when unknown)."""
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def raw_bytes(reply: Reply) -> bytes:
    """A reply as bytes on the wire, for answers given outside the HTTP state machine (a refused connection, a
    request that could not be parsed)."""
    head = b"HTTP/1.1 %d %s\r\n" % (reply.status, reply.reason)
    return head + b"".join(b"%s: %s\r\n" % pair for pair in reply.headers) + b"\r\n" + reply.body


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """The path and the query string of a request target (origin form ``/p?q`` or absolute ``http://h/p?q``)."""
    if not target.startswith(b"/"):
        parts = urlsplit(target)
        target = (parts.path or b"/") + (b"?" + parts.query if parts.query else b"")
    path, _, query = target.partition(b"?")
    return path, query


def build_environ(request: h11.Request, body: bytes, peer: tuple, local: tuple) -> dict:
    """The WSGI environ of one request whose body has been read whole."""
    path, query = split_target(request.target)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method.decode("ascii"),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": str(local[0]),
        "SERVER_PORT": str(local[1]),
        "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("ascii"),
        "REMOTE_ADDR": str(peer[0]),
        "REMOTE_PORT": str(peer[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        if b"_" in name:  # X_Forwarded_For would pose as X-Forwarded-For (both become HTTP_X_FORWARDED_FOR)
            continue
        key = name.decode("latin-1").upper().replace("-", "_")
        if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is read whole: its length is what was read
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


def call_app(app: WSGIApp, environ: dict) -> Reply:
    """Run the app for one request on this (worker) thread and collect its whole answer."""
    parked: list[Feed] = []
    environ[PARK_KEY] = parked.append
    started: list = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list, exc_info=None):
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return chunks.append

    try:
        result = app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:
        log.exception("the app failed outside its error handlers")
        return error_reply(500, "internal_error", "Something went wrong inside the hall controller; it was logged.")
    if not started:
        log.error("the app returned without starting a response")
        return error_reply(500, "internal_error", "Something went wrong inside the hall controller; it was logged.")
    status_text, app_headers = started
    code, _, reason = status_text.partition(" ")
    status = int(code)
    headers = [*server_headers(), *((k.encode("latin-1"), v.encode("latin-1")) for k, v in app_headers)]
    body = b"".join(chunks)
    feed = parked[0] if parked else None
    if feed is None and status not in NO_BODY and not any(k.lower() == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    return Reply(status, reason.encode("latin-1"), headers, body, feed)
