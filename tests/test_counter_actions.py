"""What a clerk does at a counter: next, recall, no-show, finish, call a named ticket, pause/resume and
transfer, each through the counter's own token."""
import sqlite3

import pytest


API = "/api/v1"
MINUTE = 60


def counter4_serves_claims_only(cfg):
    next(c for c in cfg["counters"] if c["id"] == 4)["services"] = ["claims"]


claims_only_at_counter_4 = pytest.mark.parametrize("config", [counter4_serves_claims_only], indirect=True,
                                                   ids=["counter4_claims_only"])


@pytest.fixture
def desk(client, tech):
    """Read a counter's state (paused, current ticket)."""
    return lambda cid: client.get(f"{API}/counters/{cid}", headers=tech).json


def event_types(hall, ticket: dict) -> list[str]:
    """The types of the event rows of one ticket, oldest first (read-only on the hall's SQLite file)."""
    conn = sqlite3.connect(f"file:{hall.store.path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT type FROM events WHERE ticket_id = ? ORDER BY id",
                                           (ticket["id"],))]
    finally:
        conn.close()


def error_code(resp) -> tuple[int, str]:
    return resp.status_code, resp.json["error"]["code"]


# -- next -----------------------------------------------------------------------------------------------------

def test_next_finishes_the_current_customer_as_served_and_calls_the_next(take, press, read):
    """Two customers wait. Counter 1 presses "next" (A001 is called to counter 1), then "next" again:
    A001 is served and A002 is called to counter 1."""
    first, second = take(), take()
    called = press(1, "next")
    assert called.status_code == 200
    assert (called.json["number"], called.json["status"], called.json["counter"]) == ("A001", "called", 1)
    again = press(1, "next")
    assert (again.json["id"], again.json["status"]) == (second["id"], "called")
    assert read(first)["status"] == "served"


def test_next_with_nobody_waiting_answers_204_and_still_finishes_the_current_customer(take, press, read, desk):
    """Counter 1 serves the only customer and presses "next": 204 (nobody to call), the customer is
    served and the counter shows no current ticket."""
    only = take()
    press(1, "next")
    resp = press(1, "next")
    assert resp.status_code == 204 and resp.data == b""
    assert read(only)["status"] == "served"
    assert desk(1)["current"] is None


def test_two_counters_never_get_the_same_customer(take, press):
    """Two customers wait; counters 1 and 2 press "next": each gets a different customer, and a third
    counter finds nobody."""
    take(), take()
    numbers = {press(1, "next").json["number"], press(2, "next").json["number"]}
    assert numbers == {"A001", "A002"}
    assert press(3, "next").status_code == 204


# -- recall, no-show, finish --------------------------------------------------------------------------------------

def test_recall_calls_the_same_customer_again_and_counts_it(hall, take, press, read):
    """The customer at counter 1 does not come; the clerk recalls twice. The ticket stays called at
    counter 1 with `recalls` = 2, and two `recalled` events are written."""
    t = take()
    press(1, "next")
    assert press(1, "recall").json["recalls"] == 1
    second = press(1, "recall")
    assert (second.json["id"], second.json["recalls"], second.json["status"]) == (t["id"], 2, "called")
    assert read(t)["recalls"] == 2
    assert event_types(hall, t).count("recalled") == 2


def test_no_show_ends_the_ticket_and_the_next_customer_is_called_next(hall, take, press, read, desk):
    """The called customer never comes: "no-show" ends the ticket as `no_show` (not served), the counter is
    free, and "next" calls the following customer."""
    absent, present = take(), take()
    press(1, "next")
    resp = press(1, "no-show")
    assert (resp.status_code, resp.json["status"]) == (200, "no_show")
    assert desk(1)["current"] is None
    assert press(1, "next").json["id"] == present["id"]
    assert read(absent)["status"] == "no_show"
    assert "served" not in event_types(hall, absent)


def test_finish_ends_the_current_customer_as_served_without_calling_anyone(take, press, read, desk):
    """Counter 1 finishes its customer while another waits: the customer is served, counter 1 has no
    current ticket, and the waiting customer is still waiting."""
    served, waiting = take(), take()
    press(1, "next")
    resp = press(1, "finish")
    assert (resp.status_code, resp.json["id"], resp.json["status"]) == (200, served["id"], "served")
    assert desk(1)["current"] is None
    assert read(waiting)["status"] == "waiting"


@pytest.mark.parametrize("action,body", [("recall", {}), ("no-show", {}), ("finish", {}),
                                         ("transfer", {"service": "claims"})])
def test_actions_on_the_current_customer_need_one(take, press, read, action, body):
    """Counter 1 has called nobody (a customer is waiting): recall, no-show, finish and transfer answer
    409 `no_current_ticket`, and the waiting customer is untouched."""
    t = take()
    resp = press(1, action, **body)
    assert error_code(resp) == (409, "no_current_ticket")
    assert read(t)["status"] == "waiting" and read(t)["service"] == "general"


# -- call a named ticket ----------------------------------------------------------------------------------------

def test_call_picks_a_named_waiting_ticket_out_of_order(take, press, read):
    """Three customers wait; counter 1 calls the third by its id. It is called to counter 1; the next
    "next" serves it and calls the first customer."""
    first, _, third = take(), take(), take()
    resp = press(1, "call", ticket=third["id"])
    assert (resp.status_code, resp.json["number"], resp.json["counter"]) == (200, "A003", 1)
    assert press(1, "next").json["id"] == first["id"]
    assert read(third)["status"] == "served"


def test_call_while_serving_finishes_the_current_customer(take, press, read):
    """Counter 1 is serving A001 and calls A002 by its id: A001 is served and A002 is now at counter 1."""
    first, second = take(), take()
    press(1, "next")
    press(1, "call", ticket=second["id"])
    assert read(first)["status"] == "served"
    assert (read(second)["status"], read(second)["counter"]) == ("called", 1)


def test_call_of_a_ticket_that_is_not_waiting_is_refused(take, press, read, desk):
    """A001 is at counter 2 and A002 was served. Counter 1 tries to call each by id: 409
    `ticket_not_waiting`; A001 stays at counter 2 and counter 1 calls nobody."""
    at_two, done = take(), take()
    press(2, "call", ticket=at_two["id"])
    press(3, "call", ticket=done["id"])
    press(3, "finish")
    assert error_code(press(1, "call", ticket=at_two["id"])) == (409, "ticket_not_waiting")
    assert error_code(press(1, "call", ticket=done["id"])) == (409, "ticket_not_waiting")
    assert (read(at_two)["counter"], read(done)["status"]) == (2, "served")
    assert desk(1)["current"] is None


@claims_only_at_counter_4
def test_call_of_a_ticket_for_a_service_the_counter_does_not_serve_is_refused(take, press, read):
    """Counter 4 handles only claims. It tries to call a waiting general-business ticket: 409
    `service_not_served`, and the ticket keeps waiting; a claims ticket it may call."""
    general, claims = take("general"), take("claims")
    assert error_code(press(4, "call", ticket=general["id"])) == (409, "service_not_served")
    assert read(general)["status"] == "waiting"
    assert press(4, "call", ticket=claims["id"]).status_code == 200


def test_call_of_an_unknown_ticket_is_404(press):
    """Counter 1 calls a ticket id that does not exist: 404 `unknown_ticket`."""
    assert error_code(press(1, "call", ticket=999)) == (404, "unknown_ticket")


# -- pause and resume --------------------------------------------------------------------------------------------

def test_paused_counter_calls_nobody_until_it_resumes(take, press, read, desk):
    """Counter 1 pauses with a customer waiting: "next" and "call" answer 409 `counter_paused`, the
    customer keeps waiting, and the counter reads paused. After "resume", "next" calls the customer."""
    t = take()
    paused = press(1, "pause")
    assert (paused.status_code, paused.json["paused"]) == (200, True)
    assert error_code(press(1, "next")) == (409, "counter_paused")
    assert error_code(press(1, "call", ticket=t["id"])) == (409, "counter_paused")
    assert read(t)["status"] == "waiting" and desk(1)["paused"] is True
    assert press(1, "resume").json["paused"] is False
    assert press(1, "next").json["id"] == t["id"]


def test_pausing_keeps_the_current_customer_who_can_still_be_finished(take, press, read):
    """Counter 1 pauses while serving a customer (for example to fetch a file): "next" is refused and does
    not end the customer, but "finish" does."""
    t = take()
    press(1, "next")
    press(1, "pause")
    assert error_code(press(1, "next")) == (409, "counter_paused")
    assert read(t)["status"] == "called"
    assert press(1, "finish").json["status"] == "served"


# -- transfer -----------------------------------------------------------------------------------------------------

def test_transfer_keeps_the_customers_place_by_arrival_time(take, press, read, clock):
    """A claims customer arrived at 10:00, a general customer at 10:01, another claims customer at 10:02.
    Counter 1 serves the general customer and transfers them to claims: the ticket waits again for claims
    with its number and original `issued_at`, and claims are called in arrival order: 10:00, the transferred
    customer, then 10:02."""
    early = take("claims")
    clock.advance(MINUTE)
    moved = take("general")
    clock.advance(MINUTE)
    late = take("claims")
    assert press(1, "next").json["id"] == early["id"]  # counter 1 first serves the 10:00 customer
    press(1, "finish")
    press(1, "call", ticket=moved["id"])
    resp = press(1, "transfer", service="claims")
    assert resp.status_code == 200
    after = read(moved)
    assert (after["status"], after["service"], after["number"]) == ("waiting", "claims", moved["number"])
    assert after["issued_at"] == moved["issued_at"] and after["counter"] is None
    assert after["ahead"] == 0
    assert press(2, "next").json["id"] == moved["id"]
    assert press(2, "next").json["id"] == late["id"]


def test_transfer_to_a_named_counter_sends_the_customer_there(take, press, read):
    """Counter 1 transfers its customer to claims at counter 3: counter 2 finds nobody, counter 3 calls
    the customer."""
    t = take()
    press(1, "next")
    press(1, "transfer", service="claims", counter=3)
    assert read(t)["status"] == "waiting"
    assert press(2, "next").status_code == 204
    assert press(3, "next").json["id"] == t["id"]


@claims_only_at_counter_4
def test_transfer_to_a_counter_that_does_not_serve_the_service_is_refused(take, press, read):
    """Counter 4 handles only claims; counter 1 tries to send a customer to general business at counter 4:
    409 `service_not_served`, and the customer stays at counter 1."""
    t = take()
    press(1, "next")
    assert error_code(press(1, "transfer", service="general", counter=4)) == (409, "service_not_served")
    assert (read(t)["status"], read(t)["counter"]) == ("called", 1)


def test_transfer_to_an_unknown_service_is_refused(take, press, read):
    """Transferring to a service that does not exist answers 404 `unknown_service`; the customer stays."""
    t = take()
    press(1, "next")
    assert error_code(press(1, "transfer", service="nonsense")) == (404, "unknown_service")
    assert read(t)["status"] == "called"
