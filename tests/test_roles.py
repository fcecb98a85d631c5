"""Who may do what: the kiosk without a token, guides, counters, managers and technicians.

Every refusal is a 401 (no usable token) or a 403 (a known token of the wrong role or counter) with the body
``{"error": {"code": ..., "message": ...}}``.
"""
import pytest

from kiosk.api import create_app
from util import assert_error

API = "/api/v1"

ROSTER_CSV = ("agent_code,name,branch,valid_from,valid_until\n"
              "SL7001,王小明,haidian,2026-10-01,2027-03-31\n").encode()



@pytest.fixture
def roster(client, tech):
    """A Starlight roster with one valid agent, SL7001."""
    resp = client.put(f"{API}/roster/starlight", data=ROSTER_CSV, headers={**tech, "Content-Type": "text/csv"})
    assert resp.status_code == 200 and resp.json["accepted"] == 1


# -- the kiosk: no token ------------------------------------------------------------------------------------

def test_kiosk_without_token_lists_services(client):
    """A kiosk with no token asks for the services; it gets each service with its waiting count."""
    resp = client.get(f"{API}/services")
    assert resp.status_code == 200
    assert [s["id"] for s in resp.json["services"]] == ["general", "consult", "claims", "changes"]


def test_kiosk_without_token_issues_normal_ticket_and_reads_its_status(client):
    """A kiosk with no token issues a normal ticket, then anyone reads its status by id without a token."""
    issued = client.post(f"{API}/tickets", json={"service": "general"})
    assert issued.status_code == 201
    assert issued.json["priority"] == "normal" and issued.json["number"] == "A001"
    status = client.get(f"{API}/tickets/{issued.json['id']}")
    assert status.status_code == 200
    assert status.json["status"] == "waiting" and status.json["number"] == "A001"


def test_kiosk_without_token_issues_starlight_ticket(client, roster):
    """A Starlight agent on the roster types their code at the kiosk (no token) and gets a Starlight ticket."""
    resp = client.post(f"{API}/tickets", json={"service": "claims", "priority": "starlight", "agent_code": "SL7001"})
    assert resp.status_code == 201
    assert resp.json["priority"] == "starlight" and resp.json["number"] == "C001"


def test_kiosk_without_token_reads_display_and_health(client):
    """The hall display and the health check answer without a token."""
    display = client.get(f"{API}/display")
    assert display.status_code == 200
    assert {c["id"] for c in display.json["counters"]} == {1, 2, 3, 4, 5}
    health = client.get(f"{API}/health")
    assert health.status_code == 200 and health.json["status"] == "ok"


def test_kiosk_without_token_opens_event_stream(hall):
    """A hall screen with no token opens the event stream and receives the events it has missed."""
    app = create_app(hall, {"STREAM_MAX_S": 0})  # the stream ends after the backlog
    c = app.test_client()
    c.post(f"{API}/tickets", json={"service": "general"})
    resp = c.get(f"{API}/events", headers={"Last-Event-ID": "0"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/event-stream"
    text = resp.get_data(as_text=True)
    assert "event: issued" in text and '"number": "A001"' in text


@pytest.mark.parametrize("method, path, body", [
    ("post", "/counters/1/next", None),
    ("post", "/counters/1/pause", None),
    ("get", "/counters/1", None),
    ("get", "/counters", None),
    ("get", "/config", None),
    ("put", "/config", {}),
    ("get", "/devices", None),
    ("post", "/devices/ticket-printer/test", None),
    ("post", "/devices/ticket-printer/simulate", {"fault": "paper_out"}),
    ("get", "/roster/starlight", None),
    ("put", "/roster/starlight", []),
    ("post", "/roster/starlight/SL7001/revoke", {"reason": "x"}),
])
def test_kiosk_without_token_cannot_use_staff_resources(client, method, path, body):
    """A request without a token to a counter, manager or technician resource is refused with 401
    `token_required`, and nothing is done (the printer is still ready)."""
    kwargs = {"json": body} if body is not None else {}
    resp = getattr(client, method)(API + path, **kwargs)
    assert_error(resp, 401, "token_required")
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201


# -- VIP tickets ---------------------------------------------------------------------------------------------

def test_vip_ticket_without_token_is_refused_401(client):
    """A kiosk asks for a VIP ticket without a token: 401 `token_required`, and no ticket waits."""
    resp = client.post(f"{API}/tickets", json={"service": "general", "priority": "vip"})
    assert_error(resp, 401, "token_required")
    assert all(s["waiting"] == 0 for s in client.get(f"{API}/services").json["services"])


@pytest.mark.parametrize("role, counter", [("counter", 1), ("manager", None)])
def test_vip_ticket_with_counter_or_manager_token_is_refused_403(client, token, role, counter):
    """A counter or manager token asks for a VIP ticket: 403 `wrong_role`; only the guide desk issues them."""
    resp = client.post(f"{API}/tickets", json={"service": "general", "priority": "vip"},
                       headers=token(role, counter))
    assert_error(resp, 403, "wrong_role")
    assert all(s["waiting"] == 0 for s in client.get(f"{API}/services").json["services"])


@pytest.mark.parametrize("role", ["guide", "technician"])
def test_vip_ticket_with_guide_or_technician_token_is_issued(client, token, role):
    """The guide desk (or a technician) issues a VIP ticket: 201 with the first number of the VIP series."""
    resp = client.post(f"{API}/tickets", json={"service": "claims", "priority": "vip"}, headers=token(role))
    assert resp.status_code == 201
    assert resp.json["priority"] == "vip" and resp.json["number"] == "V001"


# -- counters ------------------------------------------------------------------------------------------------

def test_counter_token_acts_on_its_own_counter(client, token):
    """Counter 2's token calls next at counter 2 and gets the waiting ticket, then reads counter 2."""
    client.post(f"{API}/tickets", json={"service": "general"})
    headers = token("counter", 2)
    called = client.post(f"{API}/counters/2/next", headers=headers)
    assert called.status_code == 200 and called.json["number"] == "A001" and called.json["counter"] == 2
    view = client.get(f"{API}/counters/2", headers=headers)
    assert view.status_code == 200 and view.json["current"]["number"] == "A001"


@pytest.mark.parametrize("method, action, body", [
    ("post", "next", None), ("post", "recall", None), ("post", "no-show", None), ("post", "finish", None),
    ("post", "pause", None), ("post", "resume", None), ("post", "call", {"ticket": 1}),
    ("post", "transfer", {"service": "claims"}), ("get", "", None),
])
def test_counter_token_is_refused_at_another_counter(client, token, method, action, body):
    """Counter 1's token tries an action at counter 3: 403 `wrong_counter`, and the waiting ticket is still
    waiting (nobody called it)."""
    client.post(f"{API}/tickets", json={"service": "general"})
    path = f"{API}/counters/3" + (f"/{action}" if action else "")
    kwargs = {"json": body} if body is not None else {}
    resp = getattr(client, method)(path, headers=token("counter", 1), **kwargs)
    err = assert_error(resp, 403, "wrong_counter")
    assert "3" in err["message"]
    assert client.get(f"{API}/tickets/1").json["status"] == "waiting"
    assert client.get(f"{API}/display").json["counters"][2]["status"] == "idle"


@pytest.mark.parametrize("role", ["guide", "manager"])
def test_guide_and_manager_cannot_call_customers(client, token, role):
    """A guide or manager token presses next at a counter: 403 `wrong_role`; the ticket stays waiting."""
    client.post(f"{API}/tickets", json={"service": "general"})
    resp = client.post(f"{API}/counters/1/next", headers=token(role))
    assert_error(resp, 403, "wrong_role")
    assert client.get(f"{API}/tickets/1").json["status"] == "waiting"


def test_technician_acts_at_any_counter(client, tech):
    """A technician token calls next at counter 4 (any counter) and gets the waiting ticket."""
    client.post(f"{API}/tickets", json={"service": "consult"})
    resp = client.post(f"{API}/counters/4/next", headers=tech)
    assert resp.status_code == 200 and resp.json["counter"] == 4


def test_counter_token_cannot_list_all_counters(client, token):
    """A counter token asks for the list of all counters (a manager's or guide's view): 403 `wrong_role`."""
    assert_error(client.get(f"{API}/counters", headers=token("counter", 1)), 403, "wrong_role")
    assert client.get(f"{API}/counters", headers=token("guide")).status_code == 200


# -- bad tokens ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("get", "/config"), ("post", "/counters/1/next"), ("get", "/roster/starlight"), ("get", "/devices"),
])
def test_unknown_token_is_refused_401_invalid_token(client, method, path):
    """A well-formed bearer token the hall never issued gets 401 `invalid_token` on a staff resource."""
    resp = getattr(client, method)(API + path, headers={"Authorization": "Bearer hk_not-a-real-token"})
    assert_error(resp, 401, "invalid_token")


def test_unknown_token_cannot_issue_a_ticket(client):
    """A ticket request that carries an unknown token is refused with 401 `invalid_token`, and no ticket waits
    (a typo in a guide desk's token is reported, not silently treated as a kiosk)."""
    resp = client.post(f"{API}/tickets", json={"service": "general"},
                       headers={"Authorization": "Bearer hk_not-a-real-token"})
    assert_error(resp, 401, "invalid_token")
    assert all(s["waiting"] == 0 for s in client.get(f"{API}/services").json["services"])


@pytest.mark.parametrize("header", [
    "hk_abcdef",                 # no scheme
    "Bearer",                    # no token
    "Bearer    ",                # blank token
    "Basic dXNlcjpwYXNz",        # another scheme
    "Token hk_abcdef",
])
def test_malformed_authorization_header_is_refused_401(client, header):
    """An Authorization header that is not 'Bearer <token>' gets 401 with code `bad_authorization`."""
    resp = client.get(f"{API}/config", headers={"Authorization": header})
    assert_error(resp, 401, "bad_authorization")


def test_bearer_scheme_is_case_insensitive(client, token):
    """'bearer <token>' in lower case is accepted like 'Bearer <token>' (RFC 7235 schemes are case-insensitive)."""
    value = token("technician")["Authorization"].split(" ", 1)[1]
    resp = client.get(f"{API}/config", headers={"Authorization": f"bearer {value}"})
    assert resp.status_code == 200


# -- manager -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/config", "/devices", "/roster/starlight", "/counters"])
def test_manager_reads_config_devices_roster(client, token, path):
    """A manager token reads the config, the devices, the (masked) roster and the counters: 200."""
    resp = client.get(API + path, headers=token("manager"))
    assert resp.status_code == 200
    assert isinstance(resp.get_json(), dict)


def test_manager_cannot_replace_config(client, token, tech):
    """A manager sends a new config: 403 `wrong_role`, and the hall name is unchanged."""
    cfg = client.get(f"{API}/config", headers=tech).json
    cfg["hall"]["name"] = "经理改的名字"
    resp = client.put(f"{API}/config", json=cfg, headers=token("manager"))
    assert_error(resp, 403, "wrong_role")
    assert client.get(f"{API}/config", headers=tech).json["hall"]["name"] == "客户服务中心"


def test_manager_cannot_replace_roster(client, token, tech, roster):
    """A manager uploads a roster: 403 `wrong_role`, and the old roster (one agent) stays."""
    csv_text = ("agent_code,name,branch,valid_from,valid_until\n"
                "SL7002,李四,xicheng,2026-10-01,2027-03-31\n").encode()
    resp = client.put(f"{API}/roster/starlight", data=csv_text,
                      headers={**token("manager"), "Content-Type": "text/csv"})
    assert_error(resp, 403, "wrong_role")
    agents = client.get(f"{API}/roster/starlight", headers=tech).json["agents"]
    assert [a["agent_code"] for a in agents] == ["SL**01"]


@pytest.mark.parametrize("path, body", [
    ("/devices/ticket-printer/simulate", {"fault": "paper_out"}),
    ("/devices/ticket-printer/test", None),
    ("/roster/starlight/SL7001/revoke", {"reason": "quality"}),
])
def test_manager_cannot_drive_devices_or_revoke(client, token, roster, path, body):
    """A manager tries a technician's action (fault switch, test print, revoke): 403 `wrong_role`; the printer
    still prints and the agent still gets a Starlight ticket."""
    kwargs = {"json": body} if body is not None else {}
    resp = client.post(API + path, headers=token("manager"), **kwargs)
    assert_error(resp, 403, "wrong_role")
    ok = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight", "agent_code": "SL7001"})
    assert ok.status_code == 201


@pytest.mark.parametrize("role, counter", [("guide", None), ("counter", 1)])
def test_guide_and_counter_cannot_read_config(client, token, role, counter):
    """The config (which names devices and quotas) is for managers and technicians: a guide or counter gets 403."""
    assert_error(client.get(f"{API}/config", headers=token(role, counter)), 403, "wrong_role")


def test_manager_and_guide_read_one_counter(client, token):
    """A manager or the guide desk looks at one counter (its state and current ticket): 200; they still may not
    press its buttons."""
    for role in ("manager", "guide"):
        resp = client.get(f"{API}/counters/3", headers=token(role))
        assert resp.status_code == 200 and resp.json["id"] == 3


def test_refusals_carry_the_headers_http_clients_expect(client):
    """A 401 names the Bearer scheme in WWW-Authenticate; a 405 lists the allowed methods in Allow."""
    unauthorized = client.get(f"{API}/config")
    assert unauthorized.status_code == 401 and unauthorized.headers["WWW-Authenticate"].startswith("Bearer")
    wrong_method = client.delete(f"{API}/services")
    assert_error(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers["Allow"]


# -- OPTIONS -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, counter", [(None, None), ("guide", None), ("counter", 1), ("manager", None),
                                           ("technician", None)])
def test_options_answers_no_route_of_the_hall(hall, client, token, role, counter):
    """Every route of the app (API, pages, health) is asked with OPTIONS, without a token and with each role's
    token: each answers 405 `method_not_allowed` whose Allow header lists the route's own methods and not
    OPTIONS, so no route that needs a token answers anything without one."""
    headers = token(role, counter) if role else {}
    methods: dict[str, set[str]] = {}  # path -> the methods its rules take
    for rule in create_app(hall).url_map.iter_rules():
        path = rule.rule.replace("<int:counter_id>", "1").replace("<int:ticket_id>", "1")
        path = path.replace("<int:token_id>", "1").replace("<name>", "ticket-printer").replace("<code>", "SL7001")
        methods.setdefault(path.replace("<path:filename>", "hall.css"), set()).update(rule.methods)
    assert len(methods) > 30
    for path, own in methods.items():
        resp = client.options(path, headers=headers)
        assert resp.status_code == 405, (path, resp.status_code)
        assert resp.get_json()["error"]["code"] == "method_not_allowed"
        allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
        assert allowed == own and "OPTIONS" not in allowed, path
