"""No single client can stop the hall: half-sent requests, idle connections, many connections from one address
and malformed HTTP, against the real server on loopback with real sockets.

A hostile client is given its own loopback address (127.0.0.2, 127.0.0.3, ...; Linux routes all of 127/8 to the
loopback), so the per-address limits apply to it and not to the kiosk and the counter, which use 127.0.0.1.
"""
import contextlib
import json
import re
import socket
import time

import pytest
import requests

from kiosk.web.limits import Limits
from util import wait_until

API = "/api/v1"
TIMEOUT = (3, 5)
HALF_SENT = b"POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\nContent-Le"


def connect_from(port: int, source: str = "127.0.0.2") -> socket.socket:
    """A TCP connection to the server from the loopback address ``source``."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Read what the server sends until it closes: the status, the headers and the JSON body."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def assert_json_error(sock: socket.socket, status: int, code: str) -> None:
    """The server answers ``status`` with the API's JSON error shape and closes the connection."""
    got, headers, body = read_answer(sock)
    assert got == status, body
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "deny"  # (read lowercased)
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"].strip()


def test_half_sent_requests_from_one_address_leave_the_hall_serving(serve, hall, tech):
    """A client opens 520 connections and sends half a request on each (once enough to take every connection
    and stop all service). The hall refuses that address's connections beyond its limit with 503
    too_many_connections, and meanwhile 48 customers take tickets, counters make 30 calls and /health answers,
    from another address, each at once."""
    server = serve(limits=Limits(client_connections=64))
    attackers, refused = [], 0
    try:
        for _ in range(520):
            sock = connect_from(server.port)
            sock.sendall(HALF_SENT)
            attackers.append(sock)
        wait_until(lambda: server.web.clients.connections >= 64)
        assert_json_error(attackers[64], 503, "too_many_connections")  # told why,
        for sock in attackers[65:]:  # then, while it keeps trying, cut off (once a second told again)
            try:
                answer = sock.recv(65536)
            except ConnectionResetError:
                answer = b""
            assert answer == b"" or answer.startswith(b"HTTP/1.1 503 ")
            refused += 1
        refused += 1
        with requests.Session() as kiosk, requests.Session() as counter:
            for _ in range(48):
                assert kiosk.post(f"{server.url}{API}/tickets", json={"service": "general"},
                                  timeout=TIMEOUT).status_code == 201
            for i in range(30):
                assert counter.post(f"{server.url}{API}/counters/{1 + i % 4}/next", headers=tech,
                                    timeout=TIMEOUT).status_code == 200
            assert kiosk.get(f"{server.url}/health", timeout=TIMEOUT).status_code == 200
    finally:
        for sock in attackers:
            sock.close()
    assert refused == 520 - 64
    metrics = requests.get(f"{server.url}/metrics", timeout=TIMEOUT).text
    assert f'hall_http_connections_refused_total{{reason="client_connections"}} {refused}.0' in metrics


def test_a_request_whose_head_trickles_in_is_cut_off_at_the_head_timeout(serve):
    """A client sends one byte of its request head every 0.1 s (slowloris): the whole head must arrive within the
    head timeout (0.5 s here), however steadily the bytes come, so the server answers 408 request_timeout and
    closes instead of waiting for ever."""
    server = serve(limits=Limits(head_timeout=0.5))
    with contextlib.closing(connect_from(server.port)) as sock:
        started = time.monotonic()
        with contextlib.suppress(OSError):  # the server closes while bytes still come
            for byte in HALF_SENT:
                sock.sendall(bytes((byte,)))
                time.sleep(0.1)  # the scenario itself: a client that trickles its head, one byte every 0.1 s
                if time.monotonic() - started > 3:
                    break
        assert_json_error(sock, 408, "request_timeout")
        assert time.monotonic() - started < 3
    assert server.web.clients.stats()["timeouts"]["head"] == 1


def test_a_body_that_does_not_arrive_in_time_is_cut_off(serve, hall):
    """A client announces a 100-byte ticket request but sends 10 bytes: after the body timeout the server
    answers 408 request_timeout and closes; no ticket is issued."""
    server = serve(limits=Limits(body_timeout=0.5))
    with contextlib.closing(connect_from(server.port)) as sock:
        sock.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"service\"")
        assert_json_error(sock, 408, "request_timeout")
    assert hall.store.reader().execute("SELECT count(*) FROM tickets").fetchone()[0] == 0


def test_an_idle_connection_is_closed_after_the_idle_timeout(serve):
    """A client connects and sends nothing: after the idle timeout the connection is closed without an answer
    (a browser's kept-alive connection is closed the same way; it opens a new one when it needs one)."""
    server = serve(limits=Limits(idle_timeout=0.3))
    with contextlib.closing(connect_from(server.port)) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert time.monotonic() - started < 3
    wait_until(lambda: server.web.clients.connections == 0)


BAD_REQUESTS = {
    "headers too large": (b"GET /api/v1/services HTTP/1.1\r\nHost: hall\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
                          431, "headers_too_large"),
    "address too long": (b"GET /api/v1/services?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: hall\r\n\r\n",
                         414, "uri_too_long"),
    "Content-Length not a number": (b"POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nContent-Length: 1x\r\n\r\n",
                                    400, "malformed_request"),
    "two Content-Lengths that differ": (b"POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nContent-Length: 2\r\n"
                                        b"Content-Length: 3\r\n\r\n{}", 400, "malformed_request"),
    "not HTTP at all": (b"HELLO THERE\r\n\r\n", 400, "malformed_request"),
    "control characters in the address": (b"GET /api/\x01v1 HTTP/1.1\r\nHost: hall\r\n\r\n", 400,
                                          "malformed_request"),
    "non-ASCII address": ("GET /api/v1/服务 HTTP/1.1\r\nHost: hall\r\n\r\n".encode(), 400, "malformed_request"),
    "no Host header": (b"GET /api/v1/services HTTP/1.1\r\n\r\n", 400, "malformed_request"),
    "body over 2 MB": (b"PUT /api/v1/roster/starlight HTTP/1.1\r\nHost: hall\r\nContent-Type: text/csv\r\n"
                       b"Content-Length: 3000000\r\n\r\n", 413, "too_large"),
    "unknown transfer coding": (b"POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nTransfer-Encoding: gzip\r\n\r\n",
                                501, "not_implemented"),
}


@pytest.mark.parametrize("raw,status,code", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_what_the_server_itself_refuses_has_the_json_error_shape(serve, raw, status, code):
    """A request the server cannot read is answered with its status and the same JSON error shape as every
    error of the API (a code and a message), and the connection is closed; the server goes on serving."""
    server = serve()
    with contextlib.closing(connect_from(server.port, "127.0.0.1")) as sock:
        sock.sendall(raw)
        assert_json_error(sock, status, code)
    assert requests.get(f"{server.url}{API}/services", timeout=TIMEOUT).status_code == 200


def test_expect_100_continue_gets_the_go_ahead(serve, tech):
    """A client that asks before sending its body (curl does for uploads over 1 KB) is told to go on, and its
    upload is then answered."""
    server = serve()
    body = b'{"service": "general"}'
    with contextlib.closing(connect_from(server.port, "127.0.0.1")) as sock:
        sock.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        status, _headers, answer = read_answer(sock)
    assert status == 201 and json.loads(answer)["number"] == "A001"


def test_pipelined_requests_are_answered_in_order_on_one_connection(serve):
    """A client sends three requests at once on one kept-alive connection: it gets three answers, in order."""
    server = serve()
    with contextlib.closing(connect_from(server.port, "127.0.0.1")) as sock:
        sock.sendall(b"GET /api/v1/services HTTP/1.1\r\nHost: hall\r\n\r\n"
                     b"HEAD /api/v1/display HTTP/1.1\r\nHost: hall\r\n\r\n"
                     b"GET /api/v1/nothing-here HTTP/1.1\r\nHost: hall\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"200", b"200", b"404"]
    assert b'"services"' in data and b'"not_found"' in data


def test_a_client_that_does_not_read_its_answers_is_cut_off(serve):
    """A client asks for a script (tens of KB) over and over on one connection and never reads: the server stops
    reading its requests once the answers pile up (so they cost no more memory), and once they have sat unread
    for the write timeout, the connection is cut off."""
    server = serve(limits=Limits(write_timeout=0.5))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting, so the window stays small
    sock.bind(("127.0.0.2", 0))
    sock.connect(("127.0.0.1", server.port))
    with contextlib.closing(sock):
        sock.settimeout(2)
        with contextlib.suppress(OSError):
            for _ in range(2000):
                sock.sendall(b"GET /static/admin.js HTTP/1.1\r\nHost: hall\r\n\r\n")
        wait_until(lambda: server.web.clients.stats()["timeouts"]["write"] == 1, timeout=5)
    wait_until(lambda: server.web.clients.connections == 0)
