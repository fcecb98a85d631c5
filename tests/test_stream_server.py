"""Open screens hold no HTTP worker thread: once a live event stream's opening part is sent, the hall's server
sends the rest from its event loop (kiosk/web/streams.py). Each test runs the real server on loopback with real
sockets and checks what a screen or a clerk would notice.
"""
import contextlib
import socket
import time

import requests

from kiosk.web import connection
from test_events_stream import sse_events
from util import wait_until

API = "/api/v1"
TIMEOUT = (3, 5)


def open_streams(url: str, count: int, query: str = "") -> list:
    """Open ``count`` event streams as screens would; each must be accepted."""
    streams = []
    for _ in range(count):
        resp = requests.get(f"{url}{API}/events{query}", stream=True, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        streams.append(resp)
    return streams


def test_thirty_screens_on_two_worker_threads_leave_the_api_answering(serve, hall, tech):
    """With only 2 worker threads, 30 screens open the event stream. All are accepted, a kiosk still takes a
    ticket and a counter still calls it at once, and every one of the 30 screens shows the call."""
    server = serve(threads=2)
    streams = open_streams(server.url, 30, "?types=called")
    try:
        assert hall.bus.stream_count() == 30
        started = time.monotonic()
        number = requests.post(f"{server.url}{API}/tickets", json={"service": "general"}, timeout=TIMEOUT).json()["number"]
        called = requests.post(f"{server.url}{API}/counters/1/next", headers=tech, timeout=TIMEOUT)
        assert called.status_code == 200 and called.json()["number"] == number
        assert time.monotonic() - started < 2  # would wait for ever if the streams held both threads
        for resp in streams:
            event = next(sse_events(resp))
            assert (event["event"], event["data"]["ticket"]["number"], event["data"]["counter"]) == ("called", number, 1)
    finally:
        for resp in streams:
            resp.close()


def test_a_screen_that_disconnects_is_let_go_at_once(serve, hall):
    """A screen opens the stream and closes its connection; the server lets the stream go without waiting to
    write to it (no event happens meanwhile), so the screen's slot is free again."""
    server = serve()
    with contextlib.closing(open_streams(server.url, 1)[0]):
        wait_until(lambda: hall.bus.stream_count() == 1)
    wait_until(lambda: hall.bus.stream_count() == 0, timeout=3)


def test_screens_beyond_the_limit_are_refused_until_one_leaves(serve, hall):
    """With room for 3 streams, a 4th screen gets 503 too_many_streams with a message; once one of the 3 closes,
    the 4th gets in."""
    server = serve(max_streams=3)
    streams = open_streams(server.url, 3)
    refused = requests.get(f"{server.url}{API}/events", stream=True, timeout=TIMEOUT)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "too_many_streams" and refused.json()["error"]["message"]
    streams[0].close()
    wait_until(lambda: hall.bus.stream_count() == 2)
    streams[1:] += open_streams(server.url, 1)
    for resp in streams[1:]:
        resp.close()


def test_a_stream_ends_cleanly_when_its_time_is_up(serve, hall, tech):
    """Streams are renewed now and then (the browser reconnects and resumes). With a 1 s lifetime the server
    sends what happened, then ends the response properly (the closing chunk, so the client sees a clean end,
    not a broken connection) and frees the slot."""
    server = serve(STREAM_MAX_S=1.0)
    resp = open_streams(server.url, 1)[0]
    requests.post(f"{server.url}{API}/tickets", json={"service": "general"}, timeout=TIMEOUT)
    started = time.monotonic()
    events = list(sse_events(resp))  # raises if the response is cut short instead of ended
    assert [e["event"] for e in events] == ["issued"]
    assert time.monotonic() - started < 4
    wait_until(lambda: hall.bus.stream_count() == 0)


def test_a_quiet_stream_gets_keep_alives(serve):
    """Nothing happens in the hall: the stream still carries a keep-alive comment every heartbeat, so a proxy or
    the browser does not take the connection for dead."""
    server = serve(STREAM_HEARTBEAT_S=0.3)
    with contextlib.closing(open_streams(server.url, 1)[0]) as resp:
        lines = resp.iter_lines(chunk_size=1, decode_unicode=True)
        assert next(lines).startswith("retry:")
        comments = [line for line in (next(lines) for _ in range(6)) if line.startswith(":")]
        assert len(comments) >= 2 and set(comments) == {": keep-alive"}


def test_server_stop_ends_open_streams_promptly(serve, hall):
    """The hall stops with 5 screens connected: each screen sees its stream end within a couple of seconds (so
    it starts reconnecting) and the stop does not hang on them."""
    server = serve()
    streams = open_streams(server.url, 5)
    started = time.monotonic()
    server.close()
    for resp in streams:
        with contextlib.suppress(requests.exceptions.ChunkedEncodingError):
            list(resp.iter_content(chunk_size=None))
    assert time.monotonic() - started < 3
    assert hall.bus.stream_count() == 0


def test_bytes_sent_after_the_request_do_not_break_the_stream(serve, tech):
    """A client sends another request down a connection that carries a stream: it is ignored, and the stream
    goes on carrying only events (no HTTP answer in the middle of it)."""
    server = serve()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/events?types=called HTTP/1.1\r\nHost: hall\r\n\r\n")
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/v1/services HTTP/1.1\r\nHost: hall\r\n\r\n")
        requests.post(f"{server.url}{API}/tickets", json={"service": "general"}, timeout=TIMEOUT)
        requests.post(f"{server.url}{API}/counters/2/next", headers=tech, timeout=TIMEOUT)
        received = b""
        while b'"type": "called"' not in received:
            received += sock.recv(65536)
        assert b"HTTP/1.1" not in received and b"services" not in received


def test_a_stalled_screen_is_cut_off_while_the_others_keep_up(serve, hall, tech, monkeypatch):
    """One screen's browser freezes (its connection stays open but it reads nothing) while the hall keeps
    issuing tickets. Once it has left more than the limit unread, the server ends its stream (it reconnects when
    it recovers) instead of buffering for it without end; a healthy screen meanwhile gets every event, and the
    API keeps answering."""
    monkeypatch.setattr(connection, "BEHIND_LIMIT", 16 * 1024)
    server = serve()
    with socket.socket() as frozen:
        frozen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        frozen.connect(("127.0.0.1", int(server.port)))
        frozen.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: hall\r\n\r\n")
        healthy = open_streams(server.url, 1, "?types=issued")[0]
        wait_until(lambda: hall.bus.stream_count() == 2)
        issued = []
        with requests.Session() as kiosk:
            while hall.bus.stream_count() == 2:
                assert len(issued) < 3000, "the frozen screen was never cut off"
                resp = kiosk.post(f"{server.url}{API}/tickets", json={"service": "general"}, timeout=TIMEOUT)
                issued.append(resp.json()["number"])
        got = [e["data"]["ticket"]["number"] for _, e in zip(issued, sse_events(healthy))]
        assert got == issued
        healthy.close()


def test_health_says_when_no_screen_can_connect(serve, hall):
    """Every stream place is taken (3 here): /health stays 200 but says ``degraded`` and names the full places,
    so a technician sees why a new hall display stays blank; once a screen leaves, it is ``ok`` again."""
    server = serve(max_streams=3)
    streams = open_streams(server.url, 3)
    health = requests.get(f"{server.url}/health", timeout=TIMEOUT)
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["streams"] == {"open": 3, "limit": 3}
    assert any("event-stream places are taken" in p for p in health.json()["problems"])
    streams[0].close()
    wait_until(lambda: requests.get(f"{server.url}/health", timeout=TIMEOUT).json()["status"] == "ok")
    for resp in streams[1:]:
        resp.close()


def test_one_client_cannot_take_every_stream_place(serve, hall):
    """A client opens event streams from one address until refused: it gets at most its own share (5 here) and
    then 503 too_many_client_streams, while a hall display at another address still connects."""
    server = serve(max_streams=40, client_streams=5)
    mine = []
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=("127.0.0.2", 0))
        sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: hall\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        mine.append(sock)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=("127.0.0.2", 0)) as sixth:
        sixth.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: hall\r\n\r\n")
        answer = sixth.recv(65536)
        assert answer.startswith(b"HTTP/1.1 503") and b"too_many_client_streams" in answer
    display = open_streams(server.url, 1)[0]
    assert hall.bus.stream_count() == 6
    display.close()
    for sock in mine:
        sock.close()
    wait_until(lambda: hall.bus.stream_count() == 0)


def test_an_http_1_0_client_gets_the_stream_unframed(serve, tech):
    """An old client speaks HTTP/1.0 (no chunked coding): it gets the events as plain text, and the stream's end
    is the connection closing."""
    server = serve(STREAM_MAX_S=1.0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/events?types=called HTTP/1.0\r\nHost: hall\r\n\r\n")
        requests.post(f"{server.url}{API}/tickets", json={"service": "general"}, timeout=TIMEOUT)
        requests.post(f"{server.url}{API}/counters/2/next", headers=tech, timeout=TIMEOUT)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding" not in head.lower()
    assert body.startswith(b"retry: 2000\n\n") and b'"type": "called"' in body
