"""The event ledger: every state change of the queue appends its event row in the same transaction, each
ticket ends in exactly one final state, and a refused request writes nothing at all.

The ledger is read straight from the hall's SQLite file through a read-only connection."""
import datetime as dt
import sqlite3
import zoneinfo

import pytest

API = "/api/v1"
MINUTE = 60
FINAL = ("served", "no_show", "expired", "void")
TUESDAY_0600 = dt.datetime(2026, 11, 24, 6, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")).timestamp()


def query(hall, sql: str, params=()) -> list[tuple]:
    """Run one query on a read-only connection to the hall's database file."""
    conn = sqlite3.connect(f"file:{hall.store.path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def snapshot(hall) -> dict:
    """Everything a queue change could touch: tickets, events, numbering, counter states."""
    return {table: query(hall, f"SELECT * FROM {table} ORDER BY rowid")
            for table in ("tickets", "events", "number_seq", "counter_state")}


@pytest.fixture
def ledger(hall):
    """``ledger()`` returns the events written since the previous call, as (type, ticket_id, counter)."""
    seen = [query(hall, "SELECT coalesce(max(id), 0) FROM events")[0][0]]

    def new() -> list[tuple]:
        rows = query(hall, "SELECT id, type, ticket_id, counter FROM events WHERE id > ? ORDER BY id", (seen[0],))
        if rows:
            seen[0] = rows[-1][0]
        return [r[1:] for r in rows]
    return new


@pytest.fixture
def take_id(take):
    """Take a ticket (VIP through the guide desk) and return its id."""
    return lambda *args: take(*args)["id"]

@pytest.fixture
def printer(client, tech):
    """Switch a fault of the simulated ticket printer on (``printer(None)`` clears all faults)."""
    def fault(name: str | None):
        action = {"clear": True} if name is None else {"fault": name}
        resp = client.post(f"{API}/devices/ticket-printer/simulate", json=action, headers=tech)
        assert resp.status_code == 200, resp.json
    return fault


def test_each_state_change_appends_exactly_its_event(client, take_id, press, ledger, printer, clock):
    """A morning at the hall, step by step: after each request the ledger has gained exactly the event rows
    of that change (issued+printed, called, recalled, transferred, served+called for "next", no_show, paused,
    resumed, void, expired and the new day's `day_started`), naming the ticket and the counter."""
    a1 = take_id()
    assert ledger() == [("issued", a1, None), ("printed", a1, None)]
    a2 = take_id()
    vip = take_id("claims", "vip")
    assert ledger() == [("issued", a2, None), ("printed", a2, None), ("issued", vip, None), ("printed", vip, None)]
    press(1, "next")
    assert ledger() == [("called", a1, 1)]
    press(1, "recall")
    assert ledger() == [("recalled", a1, 1)]
    press(1, "transfer", service="claims")
    assert ledger() == [("transferred", a1, 1)]
    press(2, "next")
    assert ledger() == [("called", a1, 2)]
    press(2, "next")
    assert ledger() == [("served", a1, 2), ("called", a2, 2)]
    press(2, "no-show")
    assert ledger() == [("no_show", a2, 2)]
    press(5, "next")
    press(5, "finish")
    assert ledger() == [("called", vip, 5), ("served", vip, 5)]
    press(3, "pause")
    press(3, "resume")
    assert ledger() == [("paused", None, 3), ("resumed", None, 3)]
    left = take_id()
    assert ledger() == [("issued", left, None), ("printed", left, None)]
    printer("fail_during_print")
    client.post(f"{API}/tickets", json={"service": "general"})
    (issued, jammed, _), (void, voided, _) = ledger()
    assert (issued, void, voided) == ("issued", "void", jammed)
    clock.set(TUESDAY_0600)
    press(4, "next")
    assert ledger() == [("expired", left, None), ("day_started", None, None)]


def test_event_time_is_the_time_of_the_change_it_records(hall, take_id, press, clock):
    """A ticket is issued at 10:00, called at 10:01 and served at 10:04: its `issued`, `called` and `served`
    event rows carry exactly the ticket's issued_at, called_at and finished_at (one transaction, one time)."""
    t = take_id()
    clock.advance(MINUTE)
    press(1, "next")
    clock.advance(3 * MINUTE)
    press(1, "finish")
    issued_at, called_at, finished_at = query(
        hall, "SELECT issued_at, called_at, finished_at FROM tickets WHERE id = ?", (t,))[0]
    events = dict(query(hall, "SELECT type, at FROM events WHERE ticket_id = ? AND type != 'printed'", (t,)))
    assert events == {"issued": issued_at, "called": called_at, "served": finished_at}
    assert finished_at - called_at == 3 * MINUTE


def test_printer_failure_while_printing_voids_the_ticket_with_its_event(client, hall, take_id, press, ledger,
                                                                       printer):
    """The printer jams while printing a ticket: the kiosk gets 503 `printer_unavailable`; the ledger holds
    `issued` then `void` for that ticket, it is not waiting, no counter can call it, and its number is not
    given to the next customer."""
    printer("fail_during_print")
    resp = client.post(f"{API}/tickets", json={"service": "general"})
    assert (resp.status_code, resp.json["error"]["code"]) == (503, "printer_unavailable")
    events = ledger()
    assert [e[0] for e in events] == ["issued", "void"] and events[0][1] == events[1][1]
    voided = events[0][1]
    assert client.get(f"{API}/tickets/{voided}").json["status"] == "void"
    assert press(1, "next").status_code == 204
    printer(None)
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A002"


def test_printer_out_of_paper_issues_nothing(client, hall, printer):
    """The printer is out of paper: the kiosk gets 503 `printer_unavailable`, and nothing was written —
    no ticket, no event, no number used."""
    printer("paper_out")
    before = snapshot(hall)
    resp = client.post(f"{API}/tickets", json={"service": "general"})
    assert (resp.status_code, resp.json["error"]["code"]) == (503, "printer_unavailable")
    assert snapshot(hall) == before


def test_each_ticket_ends_in_exactly_one_final_state(hall, client, take_id, press, printer, clock):
    """Tickets end as served (by "next" and by "finish"), no_show, void (printer jam) and expired (the day
    ends). Afterwards each ticket has exactly one final event, matching its status, and asking to end or call
    it again is refused (409) without a second final event."""
    served_by_next, served_by_finish, absent, leftover = take_id(), take_id(), take_id(), take_id()
    press(1, "next")
    press(1, "next")
    press(1, "finish")
    press(1, "next")
    press(1, "no-show")
    printer("fail_during_print")
    client.post(f"{API}/tickets", json={"service": "general"})
    clock.set(TUESDAY_0600)
    press(1, "next")
    for tid in (served_by_next, served_by_finish, absent):
        assert press(2, "call", ticket=tid).status_code == 409
    assert press(1, "finish").status_code == 409
    finals = query(hall, "SELECT t.id, t.status, group_concat(e.type) FROM tickets t JOIN events e "
                         f"ON e.ticket_id = t.id AND e.type IN {FINAL} GROUP BY t.id ORDER BY t.id")
    statuses = [row[1] for row in finals]
    assert statuses == ["served", "served", "no_show", "expired", "void"]
    assert all(status == types for _, status, types in finals)
    assert [row[0] for row in finals][:4] == [served_by_next, served_by_finish, absent, leftover]
    assert query(hall, "SELECT count(*) FROM tickets")[0][0] == len(finals)


@pytest.fixture
def busy_hall(take_id, press):
    """Counter 1 serves A001, A002 waits, A003 was served at counter 2, counter 3 is paused."""
    serving, waiting, done = take_id(), take_id(), take_id()
    press(1, "next")
    press(2, "call", ticket=done)
    press(2, "finish")
    press(3, "pause")
    return {"serving": serving, "waiting": waiting, "done": done}


REFUSED = {
    "call a ticket at another counter": (2, "call", lambda t: {"ticket": t["serving"]}, 409),
    "call a served ticket": (2, "call", lambda t: {"ticket": t["done"]}, 409),
    "call an unknown ticket while serving": (1, "call", lambda t: {"ticket": 999}, 404),
    "next at a paused counter": (3, "next", lambda t: {}, 409),
    "recall with nobody at the counter": (4, "recall", lambda t: {}, 409),
    "no-show with nobody at the counter": (4, "no-show", lambda t: {}, 409),
    "transfer to an unknown service": (1, "transfer", lambda t: {"service": "nonsense"}, 404),
    "transfer to an unknown counter": (1, "transfer", lambda t: {"service": "claims", "counter": 99}, 404),
    "call with a missing field": (4, "call", lambda t: {"tikcet": 1}, 400),
}


@pytest.mark.parametrize("cid,action,body,status", REFUSED.values(), ids=list(REFUSED))
def test_refused_counter_request_writes_nothing(hall, busy_hall, press, cid, action, body, status):
    """A counter request that is refused (4xx) leaves the tickets, the ledger, the numbering and the
    counter states exactly as they were — in particular A001 at counter 1 is not finished."""
    before = snapshot(hall)
    resp = press(cid, action, **body(busy_hall))
    assert resp.status_code == status and "error" in resp.json
    assert snapshot(hall) == before


ISSUE_REFUSED = {
    "unknown service": ({"service": "nonsense"}, 404),
    "bad priority": ({"service": "general", "priority": "urgent"}, 400),
    "vip from the kiosk": ({"service": "general", "priority": "vip"}, 401),
    "starlight without roster entry": ({"service": "general", "priority": "starlight", "agent_code": "SL0001"}, 403),
    "starlight without agent code": ({"service": "general", "priority": "starlight"}, 400),
    "agent code on a normal ticket": ({"service": "general", "agent_code": "SL0001"}, 400),
}


@pytest.mark.parametrize("body,status", ISSUE_REFUSED.values(), ids=list(ISSUE_REFUSED))
def test_refused_ticket_request_writes_nothing_and_uses_no_number(hall, client, busy_hall, body, status):
    """A kiosk request that is refused writes no ticket, no event and no number: the next customer still
    gets A004."""
    before = snapshot(hall)
    resp = client.post(f"{API}/tickets", json=body)
    assert resp.status_code == status and "error" in resp.json
    assert snapshot(hall) == before
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A004"


def test_request_from_another_counters_token_writes_nothing(hall, client, busy_hall, token):
    """Counter 2's clerk presses "next" for counter 1: 403, and counter 1's customer is not finished."""
    before = snapshot(hall)
    resp = client.post(f"{API}/counters/1/next", headers=token("counter", 2))
    assert (resp.status_code, resp.json["error"]["code"]) == (403, "wrong_counter")
    assert snapshot(hall) == before


def test_pausing_a_paused_counter_writes_no_second_event(hall, busy_hall, press, ledger):
    """Counter 3 is already paused; pausing again answers that it is paused and writes no event; resuming
    writes one `resumed` event."""
    resp = press(3, "pause")
    assert resp.json["paused"] is True
    assert ledger() == []
    press(3, "resume")
    assert ledger() == [("resumed", None, 3)]
