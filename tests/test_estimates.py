"""What a customer is told: how many are ahead (`ahead`) and the estimated wait (`estimated_wait_s`) on the
ticket and on the kiosk's service list.

`ahead` is the ticket's place in the calling order at the counter where it stands best: the fewest waiting
tickets that an open counter that could call it would call first, whatever their service. The estimate is
ahead x recent mean service time of the ticket's service / open counters that could call it; before any
customer of the service was served, the mean is `queue.default_service_minutes` (5 min). In the default hall
all five counters (1-4 and the green channel 5) serve every service.
"""
import sqlite3

import pytest

from kiosk.api import create_app
from test_counter_queue import mixed_hall
from util import hall_config

API = "/api/v1"
MINUTE = 60
DEFAULT_S = 5 * MINUTE


def consult_only_at_counter_1(cfg):
    for counter in cfg["counters"]:
        if counter["id"] != 1:
            counter["services"] = [s for s in counter["services"] if s != "consult"]


def window_of_two(cfg):
    cfg["queue"]["service_time_window"] = 2


def strict_starlight(cfg):
    cfg["priority"]["starlight_credit_minutes"] = "strict"


@pytest.fixture
def agent(client, tech) -> str:
    """The code of a Starlight agent on the roster, valid today."""
    csv = "agent_code,name,branch,valid_from,valid_until\nSL0001,张三,haidian,2026-11-01,2027-04-30\n"
    resp = client.put(f"{API}/roster/starlight", data=csv.encode(), headers={**tech, "Content-Type": "text/csv"})
    assert resp.json["accepted"] == 1
    return "SL0001"


def estimate(ticket: dict) -> tuple[int, int]:
    return ticket["ahead"], ticket["estimated_wait_s"]


def serve(press, clock, *minutes: float) -> None:
    """Counter 1 calls customers one after another, spending the given minutes with each."""
    press(1, "next")
    for m in minutes:
        clock.advance(m * MINUTE)
        press(1, "next")


def test_first_customer_has_nobody_ahead_and_no_wait(take, read):
    """On an empty morning the first ticket says 0 ahead and 0 seconds to wait, on issue and on reading."""
    t = take()
    assert estimate(t) == (0, 0)
    assert estimate(read(t)) == (0, 0)


def test_default_estimate_is_five_minutes_per_customer_shared_by_the_open_counters(take, read):
    """Three customers wait for general business and the hall has no history: the fourth is told 3 ahead and
    3 x 300 s / 5 open counters = 180 s, both on the ticket and when reading it."""
    for _ in range(3):
        take()
    fourth = take()
    assert estimate(fourth) == (3, 180)
    assert estimate(read(fourth)) == (3, 180)


def test_paused_counters_do_not_share_the_queue(take, read, press):
    """Three customers wait and counters 2, 3 and 4 are paused: the fourth customer's estimate is
    3 x 300 s / 2 open counters = 450 s; with counter 1 paused too only counter 5 is left: 900 s."""
    for cid in (2, 3, 4):
        press(cid, "pause")
    for _ in range(3):
        take()
    fourth = take()
    assert estimate(fourth) == (3, 450)
    press(1, "pause")
    assert estimate(read(fourth)) == (3, 900)


@hall_config(consult_only_at_counter_1)
def test_only_counters_serving_the_service_share_its_queue(take):
    """Only counter 1 handles consultation: with two consultation customers waiting, the third is told
    2 x 300 s = 600 s, while general business (five counters) is unaffected."""
    take("consult"), take("consult")
    assert estimate(take("consult")) == (2, 600)
    assert estimate(take("general")) == (0, 0)


def test_estimate_uses_the_recent_mean_service_time_of_the_service(take, press, clock):
    """Counter 1 spends 2 minutes with A001 and 4 minutes with A002 (mean 180 s); A003 waits. A new general
    customer is told 1 ahead and 1 x 180 s / 5 = 36 s. Consultation has no history and keeps the 5-minute
    default: a consultation customer taking a ticket after one more consultation customer has those three
    ahead (every counter calls both services in issue order) and is told 3 x 300 s / 5 = 180 s."""
    for _ in range(3):
        take()
    serve(press, clock, 2, 4)  # A001 and A002 served, A003 called
    take()                      # A004 waits
    assert estimate(take()) == (1, 36)
    take("consult")
    assert estimate(take("consult")) == (3, 180)


@hall_config(window_of_two)
def test_only_the_last_customers_of_the_window_count(take, press, clock):
    """With `service_time_window = 2`, after customers served in 10, 1 and 2 minutes only the last two count
    (mean 90 s): a customer with one ahead is told 90 s / 5 = 18 s."""
    for _ in range(5):
        take()
    serve(press, clock, 10, 1, 2)  # A001-A003 served, A004 called, A005 waits
    assert estimate(take()) == (1, 18)


def test_ahead_falls_as_customers_are_called_and_is_zero_once_called(take, read, press):
    """A003 has two ahead; after one "next" it has one ahead, after two none; once called it shows 0 ahead,
    no wait, and the counter it is called to."""
    take(), take()
    third = take()
    assert read(third)["ahead"] == 2
    press(1, "next")
    assert read(third)["ahead"] == 1
    press(2, "next")
    assert estimate(read(third)) == (0, 0)
    press(3, "next")
    now = read(third)
    assert (now["status"], now["ahead"], now["estimated_wait_s"], now["counter"]) == ("called", 0, 0, 3)


def test_starlight_ticket_counts_ahead_by_its_credited_time(take, read, press, clock, agent):
    """Normal customers arrive at 10:00 and 10:10, a Starlight agent at 10:20 (counting as 10:05). The agent
    is told 1 ahead (60 s), the 10:10 customer now has 2 ahead, the 10:00 customer none — and the counter
    calls them in exactly that order."""
    first = take()
    clock.advance(10 * MINUTE)
    second = take()
    clock.advance(10 * MINUTE)
    starlight = take("general", "starlight", agent)
    assert estimate(starlight) == (1, 60)
    assert [read(t)["ahead"] for t in (first, second, starlight)] == [0, 2, 1]
    assert [press(1, "next").json["id"] for _ in range(3)] == [first["id"], starlight["id"], second["id"]]


@hall_config(strict_starlight)
def test_in_strict_mode_every_starlight_ticket_is_ahead_of_normal_ones(take, read, clock, agent):
    """With strict priority, a Starlight agent arriving an hour after a normal customer has 0 ahead, and the
    normal customer now has 1 ahead."""
    normal = take()
    clock.advance(60 * MINUTE)
    starlight = take("general", "starlight", agent)
    assert estimate(starlight) == (0, 0)
    assert read(normal)["ahead"] == 1


def test_vip_tickets_are_not_ahead_of_normal_ones_while_the_green_channel_is_open(take, read):
    """A VIP customer waits for general business. A normal general customer is told 0 ahead (the green
    channel takes the VIP). A second VIP customer, for claims, has the first VIP ahead and waits for the one
    green-channel counter: 1 x 300 s / 1 = 300 s."""
    take("general", "vip")
    assert estimate(take("general")) == (0, 0)
    assert estimate(take("claims", "vip")) == (1, 300)


def test_vip_tickets_are_ahead_of_normal_ones_when_no_green_channel_is_open(take, read, press):
    """Counter 5 (the green channel) is paused and a VIP customer waits for general business: a normal
    general customer is told 1 ahead, 300 s / 4 open counters = 75 s; a new VIP customer for claims has the
    first VIP ahead (every open counter serves both services and calls VIP tickets first, oldest first):
    also 75 s."""
    press(5, "pause")
    take("general", "vip")
    assert estimate(take("general")) == (1, 75)
    assert estimate(take("claims", "vip")) == (1, 75)


def test_service_list_shows_waiting_counts_and_the_wait_of_a_new_ticket(client, take, press):
    """Three general, one consultation and one VIP general customer have taken tickets and counter 1 has
    called the first general one. The kiosk's service list shows general 3 waiting (two normal and the VIP),
    consultation 1, claims 0. Every counter serves every service, so a new customer of any service would have
    the same three ahead (the VIP goes to the green channel): 3 x 300 s / 5 = 180 s, and that is what the next
    general customer is then told."""
    for service in ("general", "general", "general", "consult"):
        take(service)
    take("general", "vip")
    press(1, "next")
    services = {s["id"]: s for s in client.get(f"{API}/services").json["services"]}
    assert set(services["general"]) >= {"id", "name", "name_en", "prefix", "waiting", "estimated_wait_s"}
    assert {sid: s["waiting"] for sid, s in services.items()} == {"general": 3, "consult": 1, "claims": 0,
                                                                   "changes": 0}
    assert [services[s]["estimated_wait_s"] for s in ("general", "consult", "claims")] == [180, 180, 180]
    assert take("general")["estimated_wait_s"] == services["general"]["estimated_wait_s"]


def test_ahead_is_the_place_in_the_list_of_the_counter_where_the_ticket_stands_best(take, read, press, clock,
                                                                                    agent):
    """A001 was sent to counter 3 by name (keeping its 10:00 place); B001 (consultation, 10:05), V001 (VIP),
    C001 (Starlight claims at 10:10, counting as 09:55) and D001 (changes) wait. Counter 3 would call C001,
    A001, B001, D001; counters 1, 2 and 4 skip A001; the green channel takes V001 first. Each customer is told
    their place where it is best: C001 and V001 0, A001 1 (at counter 3, the only one that may call it:
    300 s / 1), B001 1 and D001 2 (at counters 1, 2, 4: x 300 s / 5 counters)."""
    mixed_hall(take, press, clock, agent)
    told = {view["number"]: estimate(view) for view in (read({"id": tid}) for tid in range(1, 6))}
    assert told == {"A001": (1, 300), "B001": (1, 60), "V001": (0, 0), "C001": (0, 0), "D001": (2, 120)}


@hall_config(consult_only_at_counter_1)
def test_a_paused_counter_does_not_bring_anyone_forward(take, read, press):
    """Only counter 1 handles consultation, and three consultation customers wait. A general customer has
    nobody ahead at counters 2-5 (0 ahead). When counters 2-5 pause, only counter 1 is left for them, and it
    calls the three consultation customers first: 3 ahead, 3 x 300 s / 1 = 900 s."""
    for _ in range(3):
        take("consult")
    general = take("general")
    assert estimate(general) == (0, 0)
    for cid in (2, 3, 4, 5):
        press(cid, "pause")
    assert estimate(read(general)) == (3, 900)


def test_a_hall_upgraded_during_the_day_counts_the_customers_already_waiting(hall, take, make_hall):
    """Three general customers wait when the hall is stopped, and its database is as the version before the
    kept counts of waiting tickets left it. After the upgrade the third customer still has 2 ahead
    (2 x 300 s / 5 = 120 s) and a new customer is told 3 ahead (180 s)."""
    take(), take()
    third = take()
    hall.stop()
    conn = sqlite3.connect(hall.store.path)
    with conn:
        for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE waiting_groups")
        conn.execute("DROP TABLE waiting_counts")
        conn.execute("DROP INDEX tickets_waiting")
        conn.execute("CREATE INDEX tickets_waiting ON tickets (service, priority, target_counter, issued_at, id) "
                     "WHERE status = 'waiting'")
        conn.execute("CREATE INDEX tickets_vip_waiting ON tickets (issued_at, id) "
                     "WHERE status = 'waiting' AND priority = 'vip'")
        conn.execute("DELETE FROM _migrations WHERE name = '0003_waiting_counts'")
    conn.close()
    client = create_app(make_hall(data_dir=hall.data_dir)).test_client()
    assert estimate(client.get(f"{API}/tickets/{third['id']}").json) == (2, 120)
    assert estimate(client.post(f"{API}/tickets", json={"service": "general"}).json) == (3, 180)
