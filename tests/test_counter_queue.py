"""A counter's waiting list (GET /counters/{id}/queue): the tickets it would call, in the order it calls them."""
import pytest

from test_priority import MINUTE, agent, roster, strict_starlight  # noqa: F401  (fixtures)
from util import assert_error, hall_config

API = "/api/v1"


@pytest.fixture
def queue_of(client, token):
    """The numbers in a counter's waiting list, as its clerk sees them."""
    def read(cid: int) -> list[str]:
        resp = client.get(f"{API}/counters/{cid}/queue", headers=token("counter", cid))
        assert resp.status_code == 200, resp.json
        assert resp.json["counter"] == cid
        return [t["number"] for t in resp.json["tickets"]]
    return read


def calls_until_empty(press, cid: int) -> list[str]:
    numbers = []
    while (resp := press(cid, "next")).status_code == 200:
        numbers.append(resp.json["number"])
    assert resp.status_code == 204
    return numbers


def mixed_hall(take, press, clock, agent_code):
    """Normal, Starlight (credited 15 min), VIP tickets and one ticket sent to counter 3 by name."""
    take("general")                      # A001 at 10:00
    clock.advance(5 * MINUTE)
    take("consult")                      # B001 at 10:05
    take("claims", "vip")                # V001
    assert press(2, "next").json["number"] == "A001"  # (the green channel takes V001) ...
    assert press(2, "transfer", service="general", counter=3).status_code == 200  # ... sent on, keeping its place
    clock.advance(5 * MINUTE)
    take("claims", "starlight", agent_code)  # C001 at 10:10, counts as 09:55
    take("changes")                      # D001


def test_the_list_is_the_order_in_which_next_calls_them(take, press, clock, agent, queue_of):
    """At counter 3, A001 (sent to it by name, keeping its 10:00 place) is behind C001 (Starlight credit), then
    B001 and D001; the green-channel counter 5 has V001 first. Pressing next empties each list in that order."""
    mixed_hall(take, press, clock, agent)
    assert queue_of(3) == ["C001", "A001", "B001", "D001"]
    assert queue_of(1) == ["C001", "B001", "D001"]  # A001 waits for counter 3 only
    assert queue_of(5) == ["V001", "C001", "B001", "D001"]
    assert calls_until_empty(press, 5) == ["V001", "C001", "B001", "D001"]
    assert queue_of(3) == ["A001"]
    assert calls_until_empty(press, 3) == ["A001"]


@hall_config(strict_starlight)
def test_strict_starlight_puts_every_starlight_ticket_first(take, press, clock, agent, queue_of):
    """With strict priority a Starlight ticket leads the list however late it was taken."""
    take("general")
    clock.advance(60 * MINUTE)
    take("general", "starlight", agent)
    assert queue_of(1) == ["A002", "A001"]
    assert calls_until_empty(press, 1) == ["A002", "A001"]


def test_the_list_marks_priority_and_is_closed_to_other_counters(client, take, token, agent):
    """Each entry says its priority; another counter's token may not read the list (403), a guide may."""
    take("general", "starlight", agent)
    entry = client.get(f"{API}/counters/1/queue", headers=token("guide")).json["tickets"][0]
    assert (entry["number"], entry["priority"], entry["only_this_counter"]) == ("A001", "starlight", False)
    assert_error(client.get(f"{API}/counters/1/queue", headers=token("counter", 2)), 403, "wrong_counter")
    assert_error(client.get(f"{API}/counters/1/queue"), 401, "token_required")
    assert_error(client.get(f"{API}/counters/9/queue", headers=token("technician")), 404, "unknown_counter")
