"""The live event stream (server-sent events) through the production server: calls arrive as they happen, a
screen that reconnects with Last-Event-ID gets what it missed, and no event carries an agent's code or name.

Every stream is read with a socket timeout (a missing event fails the test instead of hanging it) and is closed
at the end; the test then checks that the server has let the stream go.
"""
import contextlib
import json

import pytest
import requests

from util import wait_until

API = "/api/v1"
TIMEOUT = (3, 5)  # connect, and each read: the server sends something at least every 15 s, events at once


def sse_events(resp):
    """Yield each server-sent event as {"id": int, "event": str, "data": dict, "raw": str}."""
    fields, raw = {}, []
    for line in resp.iter_lines(chunk_size=1, decode_unicode=True):
        if line == "":
            if "data" in fields:
                yield {"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"]),
                       "raw": "\n".join(raw)}
            fields, raw = {}, []
            continue
        raw.append(line)
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        fields[key] = value[1:] if value.startswith(" ") else value


def next_of(events, *types):
    """Read events until one of ``types`` comes; return it and the events read on the way."""
    seen = []
    for event in events:
        seen.append(event)
        if event["event"] in types:
            return event, seen
    raise AssertionError(f"the stream ended before a {types} event")


@pytest.fixture
def stream(live, hall):
    """Open the event stream (optionally resuming after an id); all are closed at the end, and the server must
    release each of them."""
    opened = []

    def open_(last_id: int | None = None, query: str = ""):
        headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
        resp = requests.get(f"{live}{API}/events{query}", stream=True, timeout=TIMEOUT, headers=headers)
        opened.append(resp)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        return resp

    yield open_
    for resp in opened:
        resp.close()
    wait_released(live, hall)


def wait_released(live, hall):
    """Wait until the server has let every stream go. It notices a client that hung up at once (test_parking);
    events to write make sure of it under a server that notices only when writing."""
    def released():
        if hall.bus.stream_count() == 0:
            return True
        requests.post(f"{live}{API}/tickets", json={"service": "changes"}, timeout=TIMEOUT)
        return False
    wait_until(released, timeout=10, interval=0.1)


def post(live, path, headers=None, **kwargs):
    resp = requests.post(f"{live}{API}{path}", headers=headers or {}, timeout=TIMEOUT, **kwargs)
    assert resp.status_code < 300, resp.text
    return resp


def test_call_after_connecting_arrives_as_called_event(live, stream, tech):
    """A hall screen connects to /events; then A001 is issued and counter 3 calls it: the screen receives an
    `issued` event and then a `called` event for A001 at counter 3, with the ticket's service."""
    resp = stream()
    events = sse_events(resp)
    post(live, "/tickets", json={"service": "general"})
    post(live, "/counters/3/next", headers=tech)
    called, seen = next_of(events, "called")
    assert called["data"]["ticket"]["number"] == "A001"
    assert called["data"]["counter"] == 3
    assert called["data"]["ticket"]["service"] == "general"
    assert called["data"]["type"] == "called" and called["data"]["id"] == called["id"]
    assert [e["event"] for e in seen] == ["issued", "called"]


def test_recall_pause_and_resume_arrive_as_events(live, stream, tech):
    """Counter 2 calls A001, recalls it (the event counts 1 recall), then pauses and resumes: the screen gets
    `called`, `recalled`, `served`, `paused`, `resumed` in that order, each naming counter 2."""
    post(live, "/tickets", json={"service": "general"})
    events = sse_events(stream())
    post(live, "/counters/2/next", headers=tech)
    post(live, "/counters/2/recall", headers=tech)
    post(live, "/counters/2/finish", headers=tech)
    post(live, "/counters/2/pause", headers=tech)
    post(live, "/counters/2/resume", headers=tech)
    _, seen = next_of(events, "resumed")
    assert [e["event"] for e in seen] == ["called", "recalled", "served", "paused", "resumed"]
    assert all(e["data"]["counter"] == 2 for e in seen)
    assert seen[1]["data"]["recalls"] == 1
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_reconnecting_with_last_event_id_replays_missed_events(live, stream, tech):
    """A screen sees counter 1 call A001 and disconnects. Meanwhile counter 2 calls A002 and counter 1 recalls
    A001. Reconnecting with Last-Event-ID of the call it saw, it receives exactly those two missed events, in
    order, without the A001 call again; and then a new live call of A003 at counter 3."""
    for _ in range(3):
        post(live, "/tickets", json={"service": "general"})
    first = stream()
    post(live, "/counters/1/next", headers=tech)
    seen_call, _ = next_of(sse_events(first), "called")
    assert seen_call["data"]["ticket"]["number"] == "A001"
    first.close()

    post(live, "/counters/2/next", headers=tech)
    post(live, "/counters/1/recall", headers=tech)

    events = sse_events(stream(last_id=seen_call["id"]))
    _, replayed = next_of(events, "recalled")
    assert [(e["event"], e["data"]["ticket"]["number"], e["data"]["counter"]) for e in replayed] == [
        ("called", "A002", 2), ("recalled", "A001", 1)]
    assert all(e["id"] > seen_call["id"] for e in replayed)
    post(live, "/counters/3/next", headers=tech)
    live_call, more = next_of(events, "called")
    assert live_call["data"]["ticket"]["number"] == "A003" and live_call["data"]["counter"] == 3
    assert len(more) == 1


def test_resume_with_after_query_parameter(live, stream, tech):
    """A client that cannot send headers resumes with ?after=ID: it receives the calls made after that event."""
    post(live, "/tickets", json={"service": "consult"})
    post(live, "/tickets", json={"service": "consult"})
    events = sse_events(stream())
    post(live, "/counters/4/next", headers=tech)
    first, _ = next_of(events, "called")
    post(live, "/counters/5/next", headers=tech)
    resumed = sse_events(stream(query=f"?after={first['id']}"))
    call, seen = next_of(resumed, "called")
    assert call["data"]["ticket"]["number"] == "B002" and call["data"]["counter"] == 5
    assert len(seen) == 1


def test_events_never_carry_agent_code_or_name(live, stream, tech):
    """Agent 王小明 (SL7001) takes a Starlight ticket that counter 1 calls and recalls: every event on the
    stream (issued, called, recalled) shows the number and the Starlight priority but neither the code nor
    the name."""
    roster = ("agent_code,name,branch,valid_from,valid_until\n"
              "SL7001,王小明,haidian,2026-10-01,2027-03-31\n").encode("utf-8")
    resp = requests.put(f"{live}{API}/roster/starlight", data=roster, timeout=TIMEOUT,
                        headers={**tech, "Content-Type": "text/csv"})
    assert resp.json()["accepted"] == 1
    events = sse_events(stream())
    number = post(live, "/tickets", json={"service": "claims", "priority": "starlight",
                                          "agent_code": "SL7001"}).json()["number"]
    post(live, "/counters/1/next", headers=tech)
    post(live, "/counters/1/recall", headers=tech)
    _, seen = next_of(events, "recalled")
    assert [e["event"] for e in seen] == ["issued", "called", "recalled"]
    for event in seen:
        assert event["data"]["ticket"]["number"] == number
        assert event["data"]["ticket"]["priority"] == "starlight"
        for secret in ("SL7001", "王小明", "agent"):
            assert secret not in event["raw"]


def test_closed_stream_is_released_by_the_server(live, hall):
    """A screen connects and disconnects; once the server has had events to send, it has let the stream go (no
    screen slot stays taken), so screens that come and go never use up the hall's streams."""
    with contextlib.closing(requests.get(f"{live}{API}/events", stream=True, timeout=TIMEOUT)) as resp:
        assert resp.status_code == 200
        assert hall.bus.stream_count() == 1
    wait_released(live, hall)


def test_screen_that_missed_too_much_is_told_to_reload_instead_of_getting_part(live, stream, tech):
    """A display was away while 600 tickets were issued (more than the 500 the server replays). On
    reconnecting it first gets a `resync` event carrying the newest id, so it reloads /display rather than
    showing a partial history, and then live events follow."""
    first = post(live, "/tickets", json={"service": "general"}).json()
    with requests.Session() as s:
        for _ in range(600):
            assert s.post(f"{live}{API}/tickets", json={"service": "general"}, timeout=TIMEOUT).status_code == 201
    events = sse_events(stream(last_id=1))
    resync = next(events)
    assert resync["event"] == "resync"
    assert resync["id"] >= first["id"] + 600
    post(live, "/counters/2/next", tech)
    called, _ = next_of(events, "called")
    assert called["data"]["ticket"]["number"] == first["number"]
    assert called["id"] > resync["id"]


@pytest.mark.parametrize("last_id", ["²", "-5", "abc", "1e3", str(2 ** 64), "9" * 5000])
def test_garbled_last_event_id_gets_a_resync(live, stream, tech, last_id):
    """A Last-Event-ID that is not an event id (a superscript two, which Python calls a digit; a number beyond
    any id SQLite holds; five thousand nines) never answers 500: the screen is told to reload its board
    (``resync``), then gets new calls as usual."""
    events = sse_events(stream(last_id=last_id))
    first = next(events)
    assert first["event"] == "resync"
    post(live, "/tickets", json={"service": "general"})
    post(live, "/counters/1/next", tech)
    called, _ = next_of(events, "called")
    assert called["data"]["counter"] == 1 and called["id"] > first["id"]


def test_a_resume_point_beyond_the_newest_event_gets_a_resync(hall, live, stream, take, press):
    """The hall was restored from a backup, so a screen's last event id is beyond every event the database has:
    the screen is told to reload its board (else it would miss every call until the ids caught up)."""
    take("general")
    newest = hall.store.reader().execute("SELECT max(id) FROM events").fetchone()[0]
    events = sse_events(stream(last_id=newest + 1000))
    first = next(events)
    assert (first["event"], first["id"]) == ("resync", newest)
    assert press(1, "next").status_code == 200
    called, _ = next_of(events, "called")
    assert called["data"]["ticket"]["number"] == "A001"


@pytest.mark.parametrize("after", [str(2 ** 64), "-1", "abc", "1e3", "9" * 5000, ""])
def test_a_bad_after_is_refused_and_keeps_no_stream_place(hall, live, after):
    """A program asks for the events after a point that is not an event id: 400 bad_resume_point, every time —
    250 such requests (more than the hall's 200 stream places) leave no place taken, and a screen still
    connects."""
    with requests.Session() as session:
        for _ in range(250):
            resp = session.get(f"{live}{API}/events", params={"after": after}, timeout=TIMEOUT)
            assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_resume_point"
    assert hall.bus.stream_count() == 0
    with requests.get(f"{live}{API}/events", stream=True, timeout=TIMEOUT) as screen:
        assert screen.status_code == 200


def test_a_screen_may_ask_for_some_event_types_only(hall, live, take, press):
    """A stream opened with ?types=called gets the call but not the issue before it; a resumed stream with the
    same filter replays only calls; an unknown type is refused."""
    with requests.get(f"{live}/api/v1/events?types=called", stream=True, timeout=10) as stream:
        events = sse_events(stream)
        take("general")
        assert press(1, "next").status_code == 200
        first = next(events)
        assert (first["event"], first["data"]["ticket"]["number"]) == ("called", "A001")
    with requests.get(f"{live}/api/v1/events?types=called&after=0", stream=True, timeout=10) as replay:
        assert next(sse_events(replay))["id"] == first["id"]
    refused = requests.get(f"{live}/api/v1/events?types=called,shouted", timeout=10)
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "types"
