"""Malformed requests: each gets a 4xx with a machine-readable code, never a 500, and changes nothing.

The hall used here: counter 4 serves only general business and consultation (so a transfer of a claim to it
is refused). Before each bad request, A001 is at counter 1, and A002 and B001 are waiting.
"""
import json
import re
import sqlite3

import pytest

from kiosk.api import create_app
from util import assert_error

API = "/api/v1"
HUGE = 10 ** 20  # larger than any SQLite integer


@pytest.fixture
def config(config):
    """The default hall, with counter 4 limited to general business and consultation."""
    config["counters"][3]["services"] = ["general", "consult"]
    return config


@pytest.fixture
def busy(client, tech):
    """A001 called at counter 1; A002 and B001 waiting."""
    for service in ("general", "general", "consult"):
        resp = client.post(f"{API}/tickets", json={"service": service})
        assert resp.status_code == 201, resp.get_data(as_text=True)
    assert client.post(f"{API}/counters/1/next", headers=tech).json["number"] == "A001"


def snapshot(client, hall) -> tuple:
    """What a bad request must leave as it was: the services overview, the tickets table, the counters' states
    and the event log's length."""
    conn = sqlite3.connect(hall.store.path)
    try:
        tickets = conn.execute("SELECT * FROM tickets ORDER BY id").fetchall()
        counters = conn.execute("SELECT id, paused FROM counter_state ORDER BY id").fetchall()
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        roster = conn.execute("SELECT * FROM roster ORDER BY agent_code").fetchall()
    finally:
        conn.close()
    return client.get(f"{API}/services").get_json(), tickets, counters, events, roster


JSON = "application/json"

# (label, method, path, request kwargs, who, expected status, expected code)
CASES = [
    # ---- POST /tickets bodies
    ("form body", "post", "/tickets", {"data": "service=general",
                                       "content_type": "application/x-www-form-urlencoded"}, None, 415, "expected_json"),
    ("json text sent as text/plain", "post", "/tickets", {"data": '{"service": "general"}',
                                                          "content_type": "text/plain"}, None, 415, "expected_json"),
    ("no body", "post", "/tickets", {}, None, 415, "expected_json"),
    ("broken json", "post", "/tickets", {"data": '{"service": "gen', "content_type": JSON}, None, 400, "bad_json"),
    ("not utf-8", "post", "/tickets", {"data": b'{"service": "\xff\xfe"}', "content_type": JSON}, None, 400,
     "bad_json"),
    ("json array", "post", "/tickets", {"json": [{"service": "general"}]}, None, 400, "bad_json"),
    ("json string", "post", "/tickets", {"json": "general"}, None, 400, "bad_json"),
    ("json null", "post", "/tickets", {"data": "null", "content_type": JSON}, None, 400, "bad_json"),
    ("deeply nested json", "post", "/tickets", {"data": "[" * 100_000 + "]" * 100_000, "content_type": JSON},
     None, 400, "bad_json"),
    ("missing service", "post", "/tickets", {"json": {}}, None, 400, "missing_field"),
    ("null service", "post", "/tickets", {"json": {"service": None}}, None, 400, "missing_field"),
    ("unknown service", "post", "/tickets", {"json": {"service": "mortgages"}}, None, 404, "unknown_service"),
    ("service is a number", "post", "/tickets", {"json": {"service": 1}}, None, 400, "bad_field"),
    ("service is a list", "post", "/tickets", {"json": {"service": ["general"]}}, None, 400, "bad_field"),
    ("bad priority", "post", "/tickets", {"json": {"service": "general", "priority": "gold"}}, None, 400,
     "bad_priority"),
    ("priority is a boolean", "post", "/tickets", {"json": {"service": "general", "priority": True}}, None, 400,
     "bad_field"),
    ("unknown field", "post", "/tickets", {"json": {"service": "general", "colour": "red"}}, None, 400,
     "unknown_field"),
    ("agent code on a normal ticket", "post", "/tickets",
     {"json": {"service": "general", "agent_code": "SL0001"}}, None, 400, "unexpected_agent_code"),
    ("huge body", "post", "/tickets",
     {"data": json.dumps({"service": "general", "pad": "x" * (3 * 1024 * 1024)}), "content_type": JSON},
     None, 413, "too_large"),
    # ---- ids in URLs
    ("ticket not found", "get", "/tickets/9999", {}, None, 404, "unknown_ticket"),
    ("ticket id beyond any integer", "get", f"/tickets/{HUGE}", {}, None, 400, "bad_id"),
    ("ticket id just beyond 64 bits", "get", f"/tickets/{2 ** 63}", {}, None, 400, "bad_id"),
    ("ticket id at the 64-bit limit", "get", f"/tickets/{2 ** 63 - 1}", {}, None, 404, "unknown_ticket"),
    ("ticket id of 5000 digits", "get", "/tickets/" + "9" * 5000, {}, None, 400, "bad_id"),
    ("ticket id in other digits than ASCII", "get", "/tickets/\u0661", {}, None, 404, "not_found"),
    ("ticket id not numeric", "get", "/tickets/A001", {}, None, 404, "not_found"),
    ("ticket id negative", "get", "/tickets/-1", {}, None, 404, "not_found"),
    ("ticket id fractional", "get", "/tickets/1.5", {}, None, 404, "not_found"),
    ("counter not found", "post", "/counters/99/next", {}, "tech", 404, "unknown_counter"),
    ("counter id beyond any integer", "post", f"/counters/{HUGE}/next", {}, "tech", 400, "bad_id"),
    ("token id beyond 64 bits", "delete", f"/tokens/{2 ** 64}", {}, "tech", 400, "bad_id"),
    ("reprint: ticket id beyond 64 bits", "post", f"/tickets/{2 ** 64}/reprint", {}, "tech", 400, "bad_id"),
    ("read unknown counter", "get", "/counters/99", {}, "tech", 404, "unknown_counter"),
    ("counter id not numeric", "post", "/counters/one/next", {}, "tech", 404, "not_found"),
    ("unknown counter action", "post", "/counters/1/skip", {}, "tech", 404, "not_found"),
    ("unknown path", "get", "/queue", {}, None, 404, "not_found"),
    # ---- counter actions
    ("next with a non-json body", "post", "/counters/2/next", {"data": "go", "content_type": "text/plain"},
     "tech", 415, "expected_json"),
    ("call: ticket is a boolean", "post", "/counters/2/call", {"json": {"ticket": True}}, "tech", 400,
     "bad_field"),
    ("call: ticket is a string", "post", "/counters/2/call", {"json": {"ticket": "2"}}, "tech", 400, "bad_field"),
    ("call: ticket missing", "post", "/counters/2/call", {"json": {}}, "tech", 400, "missing_field"),
    ("call: unknown field", "post", "/counters/2/call", {"json": {"ticket": 2, "now": True}}, "tech", 400,
     "unknown_field"),
    ("call: ticket not found", "post", "/counters/2/call", {"json": {"ticket": 9999}}, "tech", 404,
     "unknown_ticket"),
    ("call: ticket id beyond any integer", "post", "/counters/2/call", {"json": {"ticket": HUGE}}, "tech", 400,
     "bad_id"),
    ("call: ticket id beyond 64 bits, negative", "post", "/counters/2/call", {"json": {"ticket": -2 ** 70}},
     "tech", 400, "bad_id"),
    ("call: ticket already called elsewhere", "post", "/counters/2/call", {"json": {"ticket": 1}}, "tech", 409,
     "ticket_not_waiting"),
    ("call: body is an array", "post", "/counters/2/call", {"json": [2]}, "tech", 400, "bad_json"),
    ("recall at an idle counter", "post", "/counters/2/recall", {}, "tech", 409, "no_current_ticket"),
    ("finish at an idle counter", "post", "/counters/2/finish", {}, "tech", 409, "no_current_ticket"),
    ("no-show at an idle counter", "post", "/counters/2/no-show", {}, "tech", 409, "no_current_ticket"),
    ("transfer: service missing", "post", "/counters/1/transfer", {"json": {}}, "tech", 400, "missing_field"),
    ("transfer: unknown service", "post", "/counters/1/transfer", {"json": {"service": "mortgages"}}, "tech",
     404, "unknown_service"),
    ("transfer: to a counter that does not serve it", "post", "/counters/1/transfer",
     {"json": {"service": "claims", "counter": 4}}, "tech", 409, "service_not_served"),
    ("transfer: to an unknown counter", "post", "/counters/1/transfer",
     {"json": {"service": "claims", "counter": 42}}, "tech", 404, "unknown_counter"),
    ("transfer: counter is a boolean", "post", "/counters/1/transfer",
     {"json": {"service": "claims", "counter": True}}, "tech", 400, "bad_field"),
    ("transfer: counter beyond 64 bits", "post", "/counters/1/transfer",
     {"json": {"service": "claims", "counter": 2 ** 70}}, "tech", 400, "bad_id"),
    ("transfer: counter is a string", "post", "/counters/1/transfer",
     {"json": {"service": "claims", "counter": "2"}}, "tech", 400, "bad_field"),
    ("transfer: from an idle counter", "post", "/counters/2/transfer", {"json": {"service": "claims"}}, "tech",
     409, "no_current_ticket"),
    # ---- wrong methods
    ("delete a ticket", "delete", "/tickets/1", {}, None, 405, "method_not_allowed"),
    ("put services", "put", "/services", {"json": {}}, None, 405, "method_not_allowed"),
    ("get next", "get", "/counters/1/next", {}, "tech", 405, "method_not_allowed"),
    ("post display", "post", "/display", {"json": {}}, None, 405, "method_not_allowed"),
    ("post config", "post", "/config", {"json": {}}, "tech", 405, "method_not_allowed"),
    # ---- technician resources
    ("config as a form", "put", "/config", {"data": "a=b", "content_type": "application/x-www-form-urlencoded"},
     "tech", 415, "unsupported_media_type"),
    ("config as broken json", "put", "/config", {"data": "{", "content_type": JSON}, "tech", 422,
     "invalid_config"),
    ("config as a json array", "put", "/config", {"json": []}, "tech", 422, "invalid_config"),
    ("config as deeply nested json", "put", "/config", {"data": "[" * 100_000 + "]" * 100_000,
                                                         "content_type": JSON}, "tech", 422, "invalid_config"),
    ("config as deeply nested toml", "put", "/config", {"data": "a = " + "[" * 100_000 + "]" * 100_000,
                                                         "content_type": "application/toml"}, "tech", 422,
     "invalid_config"),
    ("roster as a form", "put", "/roster/starlight", {"data": "a=b",
                                                      "content_type": "application/x-www-form-urlencoded"},
     "tech", 415, "unsupported_media_type"),
    ("roster json is an object", "put", "/roster/starlight", {"json": {"agent_code": "SL1"}}, "tech", 400,
     "bad_roster"),
    ("roster as deeply nested json", "put", "/roster/starlight", {"data": "[" * 100_000 + "]" * 100_000,
                                                                  "content_type": JSON}, "tech", 400, "bad_roster"),
    ("roster csv without header", "put", "/roster/starlight", {"data": "SL0001,张三,haidian",
                                                               "content_type": "text/csv"}, "tech", 400,
     "bad_roster"),
    ("revoke unknown agent", "post", "/roster/starlight/SL9999/revoke", {"json": {"reason": "x"}}, "tech", 404,
     "unknown_agent"),
    ("revoke without reason", "post", "/roster/starlight/SL9999/revoke", {"json": {}}, "tech", 400,
     "missing_field"),
    ("simulate with an array", "post", "/devices/ticket-printer/simulate", {"json": ["paper_out"]}, "tech", 400,
     "bad_json"),
    ("simulate unknown fault", "post", "/devices/ticket-printer/simulate", {"json": {"fault": "on_fire"}},
     "tech", 400, "bad_simulation"),
    ("press a button that does not exist", "post", "/devices/dispenser/simulate", {"json": {"press": 9}}, "tech",
     400, "bad_simulation"),
    ("press with a boolean", "post", "/devices/dispenser/simulate", {"json": {"press": True}}, "tech", 400,
     "bad_simulation"),
    ("unknown device", "post", "/devices/fax/test", {}, "tech", 404, "unknown_device"),
    ("token for a counter beyond 64 bits", "post", "/tokens", {"json": {"role": "counter", "counter": 2 ** 64}},
     "tech", 400, "bad_id"),
    # ---- text that is not text: JSON may spell a lone UTF-16 surrogate, which no UTF-8 store can hold
    ("lone surrogate in a Starlight agent code", "post", "/tickets",
     {"data": '{"service": "claims", "priority": "starlight", "agent_code": "\\udc80"}', "content_type": JSON},
     None, 400, "bad_text"),
    ("lone surrogate in a service", "post", "/tickets", {"data": '{"service": "\\ud800"}', "content_type": JSON},
     None, 400, "bad_text"),
    ("lone surrogate in a field name", "post", "/tickets",
     {"data": '{"service": "general", "\\udc80": 1}', "content_type": JSON}, None, 400, "bad_text"),
    ("lone surrogate in a token label", "post", "/tokens",
     {"data": '{"role": "guide", "label": "desk \\udc80"}', "content_type": JSON}, "tech", 400, "bad_text"),
    ("lone surrogate in a revoke reason", "post", "/roster/starlight/SL0001/revoke",
     {"data": '{"reason": "\\udfff"}', "content_type": JSON}, "tech", 400, "bad_text"),
    ("lone surrogate in a JSON roster row", "put", "/roster/starlight",
     {"data": '[{"agent_code": "SL0001", "name": "\\udc80", "branch": "haidian", "valid_from": "2026-11-01", '
              '"valid_until": "2027-01-31"}]', "content_type": JSON}, "tech", 400, "bad_text"),
    ("lone surrogate in a roster revoked_reason", "put", "/roster/starlight",
     {"data": '{"rows": [{"agent_code": "SL0001", "name": "x", "branch": "haidian", "valid_from": "2026-11-01", '
              '"valid_until": "2027-01-31", "revoked_reason": "\\udc80"}]}', "content_type": JSON}, "tech", 400,
     "bad_text"),
    ("encoded surrogate in a CSV roster", "put", "/roster/starlight",
     {"data": "agent_code,name,branch,valid_from,valid_until\nSL0001,\xed\xb2\x80,haidian,2026-11-01,2027-01-31\n"
              .encode("latin-1"), "content_type": "text/csv"}, "tech", 400, "bad_roster"),
    # ---- found by the Schemathesis run (tests/test_schemathesis.py)
    ("CSV roster with a bare carriage return (Schemathesis)", "put", "/roster/starlight",
     {"data": b"\xc3\xad\xc2\x821\r\x00K\xc3\xae\xf1\x96\x91\x87\xf1\x90\xaf\xb4\xc3\x83\xc2\xbb",
      "content_type": "text/csv"}, "tech", 400, "bad_roster"),
    ("CSV roster with a field over 128 KiB", "put", "/roster/starlight",
     {"data": b"agent_code,name,branch,valid_from,valid_until\nSL0001," + b"x" * 200_000 + b",haidian,2026-11-01,"
              b"2027-01-31\n", "content_type": "text/csv"}, "tech", 400, "bad_roster"),
    ("lone surrogate in a JSON config", "put", "/config",
     {"data": '{"hall": {"welcome": "\\udc80"}}', "content_type": JSON}, "tech", 400, "bad_text"),
    ("lone surrogate in a TOML config", "put", "/config",
     {"data": '[hall]\nwelcome = "\\udc80"\n', "content_type": "application/toml"}, "tech", 422,
     "invalid_config"),
    ("lone surrogate in a transfer", "post", "/counters/1/transfer",
     {"data": '{"service": "\\udc80"}', "content_type": JSON}, "tech", 400, "bad_text"),
    ("lone surrogate in a simulate action", "post", "/devices/ticket-printer/simulate",
     {"data": '{"fault": "\\udc80"}', "content_type": JSON}, "tech", 400, "bad_text"),
]


@pytest.mark.parametrize("label, method, path, kwargs, who, status, code", CASES, ids=[c[0] for c in CASES])
def test_bad_request_gets_4xx_with_code_and_changes_nothing(client, hall, tech, busy, label, method, path,
                                                            kwargs, who, status, code):
    """With A001 at counter 1 and A002, B001 waiting, a malformed request gets the expected 4xx status and
    error code (never a 500), and the services overview, the tickets table, the counters, the roster and the
    event log are exactly as before."""
    before = snapshot(client, hall)
    headers = tech if who == "tech" else {}
    resp = getattr(client, method)(API + path, headers=headers, **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    body = resp.get_json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert snapshot(client, hall) == before


def test_hall_still_works_after_a_burst_of_bad_requests(client, tech, busy):
    """After every malformed request of the table, the kiosk still issues A003 and counter 2 calls A002."""
    for _label, method, path, kwargs, who, _status, _code in CASES:
        resp = getattr(client, method)(API + path, headers=tech if who == "tech" else {}, **kwargs)
        assert resp.status_code < 500, (_label, resp.get_data(as_text=True)[:300])
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A003"
    assert client.post(f"{API}/counters/2/next", headers=tech).json["number"] == "A002"


# Every route with an id in its URL, as (method, rule); the next test checks the list is the app's.
INT_ROUTES = [
    ("DELETE", "/api/v1/tokens/<int:token_id>"),
    ("GET", "/api/v1/counters/<int:counter_id>"),
    ("GET", "/api/v1/counters/<int:counter_id>/queue"),
    ("GET", "/api/v1/tickets/<int:ticket_id>"),
    ("GET", "/api/v1/tickets/<int:ticket_id>/preview"),
    ("GET", "/counter/<int:counter_id>"),
    ("GET", "/t/<int:ticket_id>"),
    *(("POST", f"/api/v1/counters/<int:counter_id>/{action}")
      for action in ("call", "finish", "next", "no-show", "pause", "recall", "resume", "transfer")),
    ("POST", "/api/v1/tickets/<int:ticket_id>/reprint"),
]


def test_the_list_of_routes_with_an_id_is_the_apps(hall):
    """The app's routes with an ``<int:...>`` id in the URL (API and pages, any method) are exactly the list
    the next test asks, so a new route with an id is tested too."""
    app = create_app(hall)
    served = {(method, rule.rule) for rule in app.url_map.iter_rules() if "<int:" in rule.rule
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == set(INT_ROUTES)


@pytest.mark.parametrize("method, rule", INT_ROUTES, ids=[f"{m} {r}" for m, r in INT_ROUTES])
def test_every_id_in_a_url_beyond_64_bits_is_400_bad_id(client, hall, tech, busy, method, rule):
    """With A001 at counter 1, every route with an id in its URL (API and pages) is asked with the id 2^64 by a
    technician: each answers 400 `bad_id` (never a 500 from SQLite's overflow, never a 404 on one route and a
    400 on another), and nothing changes."""
    before = snapshot(client, hall)
    path = re.sub(r"<int:[^>]+>", str(2 ** 64), rule)
    resp = client.open(path, method=method, headers=tech)
    assert_error(resp, 400, "bad_id")
    assert snapshot(client, hall) == before


@pytest.mark.parametrize("path, body, field", [
    ("/tickets", '{"service": "claims", "priority": "starlight", "agent_code": "SL\\udc80"}', "agent_code"),
    ("/tickets", '{"service": "general", "x\\ud800y": 1}', "x\\ud800y"),
    ("/config", '{"services": [{"id": "general", "name": "\\udc80"}]}', "services[0].name"),
    ("/roster/starlight", '{"rows": [{"agent_code": "SL0001"}, {"name": "\\udc80"}]}', "rows[1].name"),
])
def test_a_lone_surrogate_is_named_where_it_was(client, tech, path, body, field):
    """A JSON body with a lone surrogate deep inside gets 400 `bad_text` whose `field` says where it was
    (a surrogate in a key shown as its escape), so the technician can find it in the file."""
    method = client.post if path == "/tickets" else client.put
    resp = method(API + path, data=body, content_type=JSON, headers=tech)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"]["code"] == "bad_text"
    assert resp.get_json()["error"]["field"] == field
