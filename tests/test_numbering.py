"""Ticket numbers: prefix + three digits per prefix per business day (A1000 after A999), the VIP series,
and the business-day boundary (06:00 in Asia/Shanghai) that expires yesterday's queue and restarts numbering."""
import datetime as dt
import sqlite3
import zoneinfo

import pytest

from util import hall_config, wait_until

API = "/api/v1"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = "2026-11-23"  # the business day of the ``clock`` fixture (Monday 10:00)


def hall_time(day: int, hour: int, minute: int = 0) -> float:
    """The instant of ``hour:minute`` on 2026-11-``day`` in the hall's time zone."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).timestamp()


def issue(client, service="general", headers=None, **body) -> dict:
    """Take a ticket through the API and return it (the answer must be 201)."""
    resp = client.post(f"{API}/tickets", json={"service": service, **body}, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json


def ticket(client, ticket_id: int) -> dict:
    """Read a ticket as the public sees it."""
    resp = client.get(f"{API}/tickets/{ticket_id}")
    assert resp.status_code == 200
    return resp.json


def expired_event_ids(hall) -> list[int]:
    """Ids of the tickets that have an ``expired`` event row, in the order they were written."""
    conn = sqlite3.connect(f"file:{hall.store.path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT ticket_id FROM events WHERE type = 'expired' ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
def guide(token) -> dict:
    """Headers of the guide desk, which issues VIP tickets."""
    return token("guide")


@pytest.fixture
def next_at(client, token):
    """Press "next" at a counter as its clerk; returns the response."""
    def press(counter: int):
        return client.post(f"{API}/counters/{counter}/next", headers=token("counter", counter))
    return press


def test_numbers_count_up_from_001_separately_for_each_prefix(client):
    """Customers take general, general, consultation, general and claims tickets on a fresh day: each
    service's prefix counts on its own from 001 (A001, A002, B001, A003, C001)."""
    numbers = [issue(client, s)["number"] for s in ("general", "general", "consult", "general", "claims")]
    assert numbers == ["A001", "A002", "B001", "A003", "C001"]


def test_vip_tickets_take_the_v_series_whatever_their_service(client, guide):
    """The guide desk issues VIP tickets for general business and for claims: they are V001 and V002
    (not A/C numbers), keep their service, and do not use up a number of the A series."""
    vip_general = issue(client, "general", guide, priority="vip")
    vip_claims = issue(client, "claims", guide, priority="vip")
    normal = issue(client, "general")
    assert (vip_general["number"], vip_general["service"], vip_general["priority"]) == ("V001", "general", "vip")
    assert (vip_claims["number"], vip_claims["service"]) == ("V002", "claims")
    assert normal["number"] == "A001"


def test_kiosk_cannot_issue_a_vip_ticket_and_no_v_number_is_used_up(client, guide):
    """A VIP ticket asked for at the kiosk (no token) is refused with 401; the guide's next VIP ticket is
    still V001."""
    refused = client.post(f"{API}/tickets", json={"service": "general", "priority": "vip"})
    assert refused.status_code == 401
    assert issue(client, "general", guide, priority="vip")["number"] == "V001"


def vendor_displays(cfg: dict) -> None:
    """The default hall with counter 1's LED on the LED-485 ASCII protocol and the strip on the AA…FF frame."""
    protocols = {"counter-1-led": "led485-ascii", "hall-strip": "strip-aa"}
    for dev in cfg["devices"]:
        if dev["name"] in protocols:
            dev["options"]["protocol"] = protocols[dev["name"]]


@hall_config(vendor_displays)
def test_after_999_numbers_go_on_to_1000_and_every_device_shows_four_digits(hall, client, tech):
    """A001 is still waiting when the general series reaches A999: the next tickets are A1000 and A1001 (never
    A001 again). Counter 1 calls A1000: the printed ticket has A1000 at 4x4, the LED-485 display above counter 1
    shows A1000, the strip scrolls the call, the voice reads 一 零 零 零 digit by digit; B starts at B001."""
    first = issue(client, "general")
    hall.writer.run(lambda tx: tx.execute(
        "UPDATE number_seq SET last = 998 WHERE prefix = 'A' AND business_day = ?", (TODAY,)))
    later = [issue(client, "general") for _ in range(3)]
    assert [t["number"] for t in later] == ["A999", "A1000", "A1001"]
    assert ticket(client, first["id"])["status"] == "waiting"
    page = hall.devices.printer.virtual.pages[-2]
    assert page.size_of("A1000") == (4, 4)
    assert client.post(f"{API}/counters/1/call", json={"ticket": later[1]["id"]}, headers=tech).status_code == 200

    def shows(name):
        state = next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"] if d["name"] == name)
        return state["virtual"]["shows"]
    wait_until(lambda: shows("counter-1-led") == ["A1000"])
    wait_until(lambda: shows("hall-strip")[:2] == ["请A1000号到1号窗口办理", "Ticket A1000, please go to Counter 1"])
    voice = hall.devices.get("voice")
    wait_until(lambda: voice.spoken, timeout=15)
    assert voice.spoken[0]["zh-CN"] == "请 A 一 零 零 零 号到1号窗口办理"
    assert issue(client, "consult")["number"] == "B001"


def test_day_boundary_expires_waiting_and_called_tickets_but_not_finished_ones(hall, client, clock, next_at,
                                                                              tech):
    """Four general tickets on Monday: the first is served, the second is at counter 1, two still wait.
    At 06:00 on Tuesday the first customer of the day takes a ticket: the called and the waiting tickets
    are `expired` (each with one `expired` event row), the served one stays served, and counter 1 is free."""
    t = [issue(client, "general")["id"] for _ in range(4)]
    next_at(1)
    next_at(1)  # t[0] served, t[1] called
    clock.set(hall_time(24, 6, 0))
    issue(client, "general")
    assert [ticket(client, i)["status"] for i in t] == ["served", "expired", "expired", "expired"]
    assert sorted(expired_event_ids(hall)) == sorted(t[1:])
    assert client.get(f"{API}/counters/1", headers=tech).json["current"] is None


def test_numbering_restarts_at_001_on_the_new_business_day(client, clock, guide):
    """After A001-A003 and V001 on Monday, the first tickets after 06:00 on Tuesday are A001 and V001."""
    for _ in range(3):
        issue(client, "general")
    issue(client, "claims", guide, priority="vip")
    clock.set(hall_time(24, 6, 0))
    assert issue(client, "general")["number"] == "A001"
    assert issue(client, "claims", guide, priority="vip")["number"] == "V001"


def test_counter_after_the_boundary_does_not_call_yesterdays_customer(client, clock, next_at):
    """A customer from Monday evening is still waiting when counter 1 opens on Tuesday at 08:00: pressing
    "next" finds nobody (204) and the old ticket reads `expired`."""
    old = issue(client, "general")
    clock.set(hall_time(24, 8, 0))
    assert next_at(1).status_code == 204
    assert ticket(client, old["id"])["status"] == "expired"


def test_ticket_taken_at_0559_belongs_to_the_previous_business_day(hall, client, clock):
    """Monday's A001 was taken at 10:00. A ticket taken at 05:59 on Tuesday is still Monday's (A002);
    one minute later, at 06:00, the next ticket is A001 of Tuesday and the 05:59 ticket has expired."""
    issue(client, "general")
    clock.set(hall_time(24, 5, 59))
    early = issue(client, "general")
    assert early["number"] == "A002"
    assert ticket(client, early["id"])["status"] == "waiting"
    clock.advance(60)
    assert issue(client, "general")["number"] == "A001"
    assert ticket(client, early["id"])["status"] == "expired"
    assert early["id"] in expired_event_ids(hall)


def test_expired_ticket_is_never_called_and_each_expires_once(hall, client, clock, next_at):
    """Two tickets left over from Monday expire at Tuesday 06:00 and counter 1 then calls Tuesday's ticket,
    not Monday's. On Wednesday the Tuesday ticket still at the counter expires too; every expired ticket has
    exactly one `expired` event, however many days pass."""
    monday = [issue(client, "general")["id"] for _ in range(2)]
    clock.set(hall_time(24, 9, 0))
    tuesday = issue(client, "general")
    called = next_at(1)
    assert called.json["id"] == tuesday["id"]
    clock.set(hall_time(25, 9, 0))
    issue(client, "general")
    ids = expired_event_ids(hall)
    assert sorted(ids) == sorted(monday + [tuesday["id"]])
    assert len(ids) == len(set(ids))


def test_new_business_day_starts_with_a_clean_call_board(hall, client, clock, next_at):
    """Monday's last call (A001 at counter 1, then finished, so nothing is left to expire) is on the board;
    after 06:00 on Tuesday the hall display has no latest call, no old calls, and the hall strip is back to
    the welcome text."""
    issue(client, "general")
    next_at(1)
    next_at(1)  # A001 served; nobody else waits
    assert client.get(f"{API}/display").json["latest"]["number"] == "A001"
    clock.set(hall_time(24, 6, 0))
    issue(client, "consult")  # the first write of the day rolls it over
    board = client.get(f"{API}/display").json
    assert board["latest"] is None and board["last_calls"] == []
    assert all(c["status"] == "idle" for c in board["counters"])
    from util import wait_until
    wait_until(lambda: hall.devices.get("hall-strip").text.lines == ("欢迎光临", "Welcome"))
