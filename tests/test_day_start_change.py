"""Changing ``business_day.start`` or ``business_day.timezone`` through PUT /config never makes a number repeat
within a business day and never expires tickets early: it is refused while tickets of the current business day
are open, and refused when it would take the hall back into a business day that has ended; otherwise it takes
effect at the next business day (or at once, in an empty hall, when a new day begins under it)."""
import datetime as dt
import zoneinfo

from util import assert_error

API = "/api/v1"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def hall_time(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """The instant of ``hour:minute:second`` on 2026-11-``day`` in the hall's time zone."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


def take(client) -> dict:
    resp = client.post(f"{API}/tickets", json={"service": "general"})
    assert resp.status_code == 201, resp.json
    return resp.json


def serve_everyone(client, tech) -> None:
    """Counter 1 calls and finishes every waiting customer."""
    while client.post(f"{API}/counters/1/next", headers=tech).json:
        pass


def with_day(client, tech, **business_day) -> dict:
    cfg = client.get(f"{API}/config", headers=tech).json
    cfg["business_day"].update(business_day)
    return cfg


def status(client, ticket: dict) -> str:
    return client.get(f"{API}/tickets/{ticket['id']}").json["status"]


def test_moving_the_day_start_past_now_while_customers_wait_is_refused_and_numbering_goes_on(client, tech, clock):
    """At 10:00 A001-A003 wait. A technician moves the day start to 10:00:30: refused with 409
    `business_day_open`, the config keeps 06:00. The next three customers get A004-A006; a minute later
    (past the refused start) nothing has expired and the next customer gets A007: no number was issued twice."""
    morning = [take(client) for _ in range(3)]
    resp = client.put(f"{API}/config", json=with_day(client, tech, start="10:00:30"), headers=tech)
    assert "after the last customer" in assert_error(resp, 409, "business_day_open")["message"]
    assert client.get(f"{API}/config", headers=tech).json["business_day"]["start"] == "06:00"
    later = [take(client) for _ in range(3)]
    clock.advance(60)
    last = take(client)
    numbers = [t["number"] for t in morning + later + [last]]
    assert numbers == ["A001", "A002", "A003", "A004", "A005", "A006", "A007"]
    assert {status(client, t) for t in morning + later} == {"waiting"}


def test_a_time_zone_change_while_a_customer_is_at_a_counter_is_refused(client, tech):
    """A001 is at counter 1 and nobody waits: a change of the time zone to Asia/Tokyo is refused with 409
    `business_day_open` (a new day would begin under A001); once A001 is finished it is accepted."""
    take(client)
    client.post(f"{API}/counters/1/next", headers=tech)
    cfg = with_day(client, tech, timezone="Asia/Tokyo")
    assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 409, "business_day_open")
    client.post(f"{API}/counters/1/finish", headers=tech)
    assert client.put(f"{API}/config", json=cfg, headers=tech).status_code == 200
    assert client.get(f"{API}/config", headers=tech).json["business_day"]["timezone"] == "Asia/Tokyo"


def test_a_day_start_later_than_now_is_refused_even_in_an_empty_hall_until_it_has_passed(client, tech, clock):
    """At 08:00 A001 has been served and nobody waits. Moving the day start to 09:00 would make it the previous
    business day again (whose numbers were issued): refused with 409 `business_day_ended`, saying to save it
    after 09:00. At 09:30 the same change is accepted, and the next ticket continues the day's numbering
    with A002."""
    clock.set(hall_time(23, 8))
    take(client)
    serve_everyone(client, tech)
    cfg = with_day(client, tech, start="09:00")
    err = assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 409, "business_day_ended")
    assert "after 09:00" in err["message"]
    assert client.get(f"{API}/config", headers=tech).json["business_day"]["start"] == "06:00"
    clock.set(hall_time(23, 9, 30))
    assert client.put(f"{API}/config", json=cfg, headers=tech).status_code == 200
    assert take(client)["number"] == "A002"


def test_a_new_day_start_saved_after_closing_takes_effect_at_the_next_business_day(client, tech, clock):
    """A001 was served in the morning; at 18:00, with nobody waiting, the day start is moved from 06:00 to
    07:30 and accepted. The evening's A002 and a customer at 07:00 next morning (A003) belong to the same
    business day; at 07:30 the new day begins: A002 and A003 expire and the next customer gets A001."""
    take(client)
    serve_everyone(client, tech)
    clock.set(hall_time(23, 18))
    assert client.put(f"{API}/config", json=with_day(client, tech, start="07:30"), headers=tech).status_code == 200
    evening = take(client)
    assert evening["number"] == "A002"
    clock.set(hall_time(24, 7))
    early = take(client)
    assert early["number"] == "A003"
    clock.set(hall_time(24, 7, 30))
    assert take(client)["number"] == "A001"
    assert status(client, evening) == status(client, early) == "expired"


def test_a_day_start_moved_earlier_in_an_empty_hall_begins_the_new_day_at_once(client, tech, clock):
    """A001 was served on Monday. At 05:00 on Tuesday (still Monday's business day under the 06:00 start) the
    hall is empty and the day start is moved to 04:00: accepted, Tuesday's business day begins at once, and
    the first customer gets Tuesday's A001."""
    take(client)
    serve_everyone(client, tech)
    clock.set(hall_time(24, 5))
    assert client.put(f"{API}/config", json=with_day(client, tech, start="04:00"), headers=tech).status_code == 200
    assert take(client)["number"] == "A001"
    assert take(client)["number"] == "A002"
