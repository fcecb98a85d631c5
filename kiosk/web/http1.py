"""How an answer goes on the wire in HTTP/1.1: its head, whether the connection stays open, and stream chunks.

Requests are parsed by h11 (the security-sensitive side: every byte comes from a client). Answers come from the
hall's own app and server, so they are written here directly, which costs a fraction of h11's validating state
machine (docs/benchmarks.md, "The HTTP server"). Every answer but a stream carries ``Content-Length``
(:func:`kiosk.web.wsgi.call_app` sets it), so the framing is simple: the head, then the body, unless the
request was ``HEAD`` or the status has no body. A stream is sent in chunks to an HTTP/1.1 client and as bare
bytes, ended by closing, to an HTTP/1.0 one.
"""
from __future__ import annotations

import h11

NO_BODY = (204, 304)
LAST_CHUNK = b"0\r\n\r\n"


def _tokens(headers, name: bytes) -> set[bytes]:
    """The comma-separated tokens of every ``name`` header, lowercased."""
    return {token.strip().lower() for key, value in headers if key.lower() == name for token in value.split(b",")}


def keeps_alive(request: h11.Request, headers: list[tuple[bytes, bytes]], *, stream: bool = False) -> bool:
    """Whether the connection stays open after this answer: HTTP/1.1 unless either side says ``close`` (an
    HTTP/1.0 client's connection is closed after each answer, and so is an HTTP/1.0 stream, whose end is the
    close)."""
    if request.http_version != b"1.1":
        return False
    return b"close" not in _tokens(request.headers, b"connection") and b"close" not in _tokens(headers, b"connection")


def head(status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The status line and the headers, ending with the blank line."""
    return b"HTTP/1.1 %d %s\r\n%s\r\n" % (status, reason, b"".join(b"%s: %s\r\n" % pair for pair in headers))


def has_body(request: h11.Request, status: int) -> bool:
    """Whether the answer's body is sent (not for ``HEAD``, 204 or 304)."""
    return request.method != b"HEAD" and status not in NO_BODY


def chunk(data: bytes) -> bytes:
    """One chunk of HTTP/1.1's chunked coding."""
    return b"%X\r\n%s\r\n" % (len(data), data)
