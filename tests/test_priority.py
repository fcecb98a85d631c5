"""Who is called next: the green channel for VIP customers, the Starlight time credit, the Starlight roster
that grants it, and tickets transferred to a named counter.

The default hall has counters 1-4 (one-stop, every service) and counter 5 (green channel, every service).
"""
import pytest

from util import hall_config

API = "/api/v1"
MINUTE = 60
ROSTER_HEADER = "agent_code,name,branch,valid_from,valid_until,revoked,revoked_reason\n"
VALID = "2026-11-01,2027-04-30"  # the clock stands at 2026-11-23


def counter_cfg(cfg: dict, cid: int) -> dict:
    return next(c for c in cfg["counters"] if c["id"] == cid)


def green_serves_consult_only(cfg):
    counter_cfg(cfg, 5)["services"] = ["consult"]


def counter4_serves_claims_only(cfg):
    counter_cfg(cfg, 4)["services"] = ["claims"]


def strict_starlight(cfg):
    cfg["priority"]["starlight_credit_minutes"] = "strict"


def credit_30_minutes(cfg):
    cfg["priority"]["starlight_credit_minutes"] = 30


@pytest.fixture
def roster(client, tech):
    """Replace the Starlight roster with CSV rows (without the header); returns the import answer."""
    def upload(*rows: str) -> dict:
        resp = client.put(f"{API}/roster/starlight", data=(ROSTER_HEADER + "\n".join(rows) + "\n").encode(),
                          headers={**tech, "Content-Type": "text/csv"})
        assert resp.status_code == 200, resp.json
        return resp.json
    return upload


@pytest.fixture
def agent(roster) -> str:
    """The code of one Starlight agent of the Haidian branch, valid today."""
    roster(f"SL0001,张三,haidian,{VALID},,", f"SL0002,李四,haidian,{VALID},,")
    return "SL0001"


def called_number(resp) -> str:
    """The number a counter's "next"/"call" called (200 required)."""
    assert resp.status_code == 200, resp.data
    return resp.json["number"]


def status(client, ticket: dict) -> str:
    return client.get(f"{API}/tickets/{ticket['id']}").json["status"]


# -- green channel --------------------------------------------------------------------------------------------

@hall_config(green_serves_consult_only)
def test_green_counter_calls_vip_tickets_first_oldest_first_whatever_their_service(take, press, clock):
    """Counter 5 (green channel) lists only consultation. A consultation customer is waiting; then VIP
    customers arrive for claims and for general business. Counter 5 calls the claims VIP, then the general VIP
    (oldest first, services it does not list), and only then its consultation customer."""
    take("consult")
    clock.advance(MINUTE)
    take("claims", "vip")
    clock.advance(MINUTE)
    take("general", "vip")
    assert [called_number(press(5, "next")) for _ in range(3)] == ["V001", "V002", "B001"]


def test_ordinary_counters_skip_vip_tickets_while_the_green_channel_is_open(client, take, press, clock):
    """A VIP customer for general business arrives before a normal one. Counter 1 calls the normal
    customer, counter 2 then finds nobody (204) although the VIP still waits; counter 5 calls the VIP."""
    vip = take("general", "vip")
    clock.advance(MINUTE)
    take("general")
    assert called_number(press(1, "next")) == "A001"
    assert press(2, "next").status_code == 204
    assert status(client, vip) == "waiting"
    assert called_number(press(5, "next")) == "V001"


@hall_config(green_serves_consult_only)
def test_green_counter_with_no_vip_waiting_serves_its_own_services(take, press, clock):
    """No VIP is waiting. Counter 5 lists only consultation: of an older general ticket and a newer
    consultation ticket it calls the consultation one, then finds nobody it serves (204)."""
    take("general")
    clock.advance(MINUTE)
    take("consult")
    assert called_number(press(5, "next")) == "B001"
    assert press(5, "next").status_code == 204


def test_green_counter_without_vip_takes_the_next_ordinary_customer(take, press, clock):
    """With the default config (counter 5 lists every service) and no VIP waiting, counter 5 calls the
    oldest normal customer like any one-stop counter."""
    take("claims")
    clock.advance(MINUTE)
    take("general")
    assert called_number(press(5, "next")) == "C001"


@hall_config(counter4_serves_claims_only)
def test_with_green_channel_paused_vip_tickets_come_first_at_counters_serving_their_service(take, press, clock):
    """Counter 5 is paused, so no green channel is open. Normal general and claims customers wait; then VIP
    customers arrive for general (V001, V002) and claims (V003). Counter 4 (claims only) calls the claims VIP
    first; counter 1 calls the general VIPs oldest first, ahead of the older normal customer."""
    assert press(5, "pause").status_code == 200
    take("general")
    take("claims")
    clock.advance(MINUTE)
    take("general", "vip")
    clock.advance(MINUTE)
    take("general", "vip")
    clock.advance(MINUTE)
    take("claims", "vip")
    assert called_number(press(4, "next")) == "V003"
    assert [called_number(press(1, "next")) for _ in range(3)] == ["V001", "V002", "A001"]


def test_resuming_the_green_channel_sends_vip_customers_back_to_it(take, press, clock):
    """Counter 5 pauses and resumes; a VIP customer then waits. Counter 1 skips the VIP (204), because
    the green channel is open again; counter 5 calls the VIP."""
    press(5, "pause")
    assert press(5, "resume").json["paused"] is False
    take("general", "vip")
    assert press(1, "next").status_code == 204
    assert called_number(press(5, "next")) == "V001"


def test_ordinary_counter_cannot_pick_a_vip_ticket_by_hand_while_the_green_channel_is_open(take, press):
    """While counter 5 is open, counter 1 asks to call a waiting VIP ticket by its id: 409, and the VIP
    stays waiting for the green channel, which then calls it."""
    vip = take("claims", "vip")
    refused = press(1, "call", ticket=vip["id"])
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "vip_for_green_channel"
    assert called_number(press(5, "next")) == vip["number"]


# -- Starlight time credit --------------------------------------------------------------------------------------

def test_starlight_ticket_issued_10_minutes_after_a_normal_one_is_called_first(take, press, clock, agent):
    """A normal customer takes A001; 10 minutes later a Starlight agent takes A002. With 15 minutes of
    credit the agent counts as arrived 5 minutes before A001, so counter 1 calls A002 first."""
    take("general")
    clock.advance(10 * MINUTE)
    starlight = take("general", "starlight", agent)
    assert starlight["priority"] == "starlight"
    assert [called_number(press(1, "next")) for _ in range(2)] == ["A002", "A001"]


def test_starlight_ticket_issued_20_minutes_after_a_normal_one_does_not_overtake_it(take, press, clock, agent):
    """A normal customer takes A001; 20 minutes later a Starlight agent takes A002. The credit (15 min) is
    not enough to overtake someone who came 20 minutes earlier: A001 is called first."""
    take("general")
    clock.advance(20 * MINUTE)
    take("general", "starlight", agent)
    assert [called_number(press(1, "next")) for _ in range(2)] == ["A001", "A002"]


def test_starlight_credit_applies_across_the_services_a_counter_serves(take, press, clock, agent):
    """A normal general-business customer waits; 10 minutes later a Starlight agent takes a consultation
    ticket. Counter 1 serves both services and calls the agent's B001 first."""
    take("general")
    clock.advance(10 * MINUTE)
    take("consult", "starlight", agent)
    assert called_number(press(1, "next")) == "B001"


def test_equal_credited_times_are_called_in_issue_order(take, press, clock, agent):
    """A Starlight agent arrives exactly 15 minutes after a normal customer: both count as arrived at
    the same time, and the one who took the ticket first (the normal customer) is called first."""
    take("general")
    clock.advance(15 * MINUTE)
    take("general", "starlight", agent)
    assert [called_number(press(1, "next")) for _ in range(2)] == ["A001", "A002"]


def test_starlight_agents_among_themselves_are_called_oldest_first(take, press, clock, roster):
    """Two Starlight agents take tickets one minute apart after a normal customer: both overtake the
    normal customer and the earlier agent is called first."""
    roster(f"SL0001,张三,haidian,{VALID},,", f"SL0002,李四,xicheng,{VALID},,")
    take("general")
    clock.advance(MINUTE)
    take("general", "starlight", "SL0002")
    clock.advance(MINUTE)
    take("general", "starlight", "SL0001")
    assert [called_number(press(1, "next")) for _ in range(3)] == ["A002", "A003", "A001"]


@hall_config(credit_30_minutes)
def test_credit_follows_the_configured_minutes(take, press, clock, agent):
    """With `starlight_credit_minutes = 30`, a Starlight agent arriving 20 minutes after a normal customer
    is called first."""
    take("general")
    clock.advance(20 * MINUTE)
    take("general", "starlight", agent)
    assert called_number(press(1, "next")) == "A002"


@hall_config(strict_starlight)
def test_strict_mode_calls_starlight_agents_before_every_normal_customer(take, press, clock, agent):
    """With `starlight_credit_minutes = "strict"`, a Starlight agent arriving two hours after a normal
    customer is still called first."""
    take("general")
    clock.advance(120 * MINUTE)
    take("general", "starlight", agent)
    assert [called_number(press(1, "next")) for _ in range(2)] == ["A002", "A001"]


def test_vip_comes_before_starlight_when_no_green_channel_is_open(take, press, clock, agent):
    """Counter 5 is paused. A Starlight agent waits; a VIP customer arrives 10 minutes later. Counter 1
    calls the VIP first, then the agent."""
    press(5, "pause")
    take("general", "starlight", agent)
    clock.advance(10 * MINUTE)
    take("general", "vip")
    assert [called_number(press(1, "next")) for _ in range(2)] == ["V001", "A001"]


# -- the Starlight roster ---------------------------------------------------------------------------------------

def test_starlight_ticket_needs_an_agent_on_the_roster(client, agent):
    """An agent code that is not on the roster gets 403 `starlight_unknown` with a message saying so, and
    no ticket; a code on the roster gets a Starlight ticket."""
    resp = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight",
                                               "agent_code": "SL9999"})
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "starlight_unknown"
    assert "roster" in resp.json["error"]["message"]
    ok = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight", "agent_code": agent})
    assert ok.status_code == 201 and ok.json["number"] == "A001"


def test_expired_and_revoked_qualifications_are_refused_with_the_reason(client, roster):
    """An agent whose qualification ended on 2026-11-20 is told it expired on that date; a revoked agent
    is told it was revoked. Both get 403 and no ticket."""
    roster("SL0100,王五,haidian,2026-06-01,2026-11-20,,",
           f"SL0200,赵六,haidian,{VALID},yes,quality problem confirmed")
    expired = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight",
                                                  "agent_code": "SL0100"})
    revoked = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight",
                                                  "agent_code": "SL0200"})
    assert (expired.status_code, expired.json["error"]["code"]) == (403, "starlight_expired")
    assert "2026-11-20" in expired.json["error"]["message"]
    assert (revoked.status_code, revoked.json["error"]["code"]) == (403, "starlight_revoked")
    assert "revoked" in revoked.json["error"]["message"]
    assert client.get(f"{API}/services").json["services"][0]["waiting"] == 0


def test_branch_quota_is_enforced_on_roster_import(client, roster):
    """Shijingshan's quota is 6. A roster with 7 valid Shijingshan agents: 6 are accepted, the 7th is
    rejected as `quota_full` and cannot take a Starlight ticket."""
    rows = [f"SJS{i:03d},Agent,shijingshan,{VALID},," for i in range(1, 8)]
    answer = roster(*rows)
    assert (answer["accepted"], answer["rejected"]) == (6, 1)
    assert answer["rejections"][0]["row"] == 7 and answer["rejections"][0]["code"] == "quota_full"
    last = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight",
                                               "agent_code": "SJS007"})
    assert last.status_code == 403
    first = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight",
                                                "agent_code": "SJS001"})
    assert first.status_code == 201


# -- transfer to a named counter --------------------------------------------------------------------------------

def test_ticket_transferred_to_a_named_counter_is_called_only_by_that_counter(client, take, press, clock):
    """Counter 1 sends its customer to claims at counter 3. A newer claims customer arrives. Counter 2
    calls the newer customer (not the transferred one), and may not call the transferred ticket by hand
    (409); counter 3 calls the transferred customer."""
    moved = take("general")
    called_number(press(1, "next"))
    assert press(1, "transfer", service="claims", counter=3).status_code == 200
    clock.advance(MINUTE)
    take("claims")
    assert called_number(press(2, "next")) == "C001"
    refused = press(2, "call", ticket=moved["id"])
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "ticket_sent_elsewhere")
    assert press(4, "next").status_code == 204
    assert called_number(press(3, "next")) == moved["number"]


def test_vip_ticket_sent_to_a_named_counter_is_called_first_there_and_only_there(client, take, press, clock):
    """Two claims customers wait, then a VIP customer for claims; the green channel (counter 5) calls the VIP
    and sends them to claims at counter 3 by name. The VIP is told nobody is ahead; the green channel may not
    call them back by hand (409 `ticket_sent_elsewhere`); counter 1 calls the first claims customer; counter 3
    calls the VIP before the other claims customer."""
    take("claims"), take("claims")
    clock.advance(MINUTE)
    vip = take("claims", "vip")
    assert called_number(press(5, "next")) == vip["number"]
    assert press(5, "transfer", service="claims", counter=3).status_code == 200
    assert client.get(f"{API}/tickets/{vip['id']}").json["ahead"] == 0
    refused = press(5, "call", ticket=vip["id"])
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "ticket_sent_elsewhere")
    assert called_number(press(1, "next")) == "C001"
    assert [called_number(press(3, "next")) for _ in range(2)] == [vip["number"], "C002"]
