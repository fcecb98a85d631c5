"""The config through the API: read the effective config, replace it (JSON or TOML), validation with the key's
path, applied without a restart, saved to the hall's config file; and the `kiosk config check` command."""
import copy
import subprocess
from pathlib import Path

import pytest

from conftest import FAST_BUS, default_config
from kiosk import cli, settings
from kiosk.api import create_app
from util import assert_error, wait_until

API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent
KIOSK = ROOT / ".venv" / "bin" / "kiosk"
DEFAULT_TOML = (ROOT / "config" / "hall.toml").read_text(encoding="utf-8")



def get_config(client, tech) -> dict:
    resp = client.get(f"{API}/config", headers=tech)
    assert resp.status_code == 200
    return resp.get_json()


def with_payments(cfg: dict) -> dict:
    """The config with a fifth service, payments (E), served at counter 1."""
    cfg = copy.deepcopy(cfg)
    cfg["services"].append({"id": "payments", "name": "缴费", "name_en": "Payments", "prefix": "E"})
    cfg["counters"][0]["services"].append("payments")
    return cfg


# -- reading -------------------------------------------------------------------------------------------------

def test_get_config_returns_the_effective_config(client, tech):
    """A technician reads the config of a hall started with the default file: it has the file's values and the
    defaults the file leaves out (a counter display's bus protocol is `hallbus`); its virtual bus runs on the
    tests' fast timings (conftest.FAST_BUS), everything else is the file's."""
    cfg = get_config(client, tech)
    assert cfg == default_config()
    assert {k: v for k, v in cfg["buses"][0].items() if k not in FAST_BUS} == {
        k: v for k, v in settings.parse_toml(DEFAULT_TOML)["buses"][0].items() if k not in FAST_BUS}
    assert cfg["hall"]["name"] == "客户服务中心"
    assert [s["prefix"] for s in cfg["services"]] == ["A", "B", "C", "D"]
    assert cfg["priority"] == {"starlight_credit_minutes": 15, "vip_prefix": "V"}
    assert [c["green_channel"] for c in cfg["counters"]] == [False, False, False, False, True]
    led = next(d for d in cfg["devices"] if d["name"] == "counter-1-led")
    assert led["type"] == "bus" and led["counter"] == 1
    assert led["options"] == {"bus": "hall-bus", "address": 1, "protocol": "hallbus"}


# -- replacing -----------------------------------------------------------------------------------------------

def test_put_json_config_adds_a_service_usable_at_once(client, tech):
    """A technician PUTs the config as JSON with a new service "payments" (prefix E) at counter 1: the answer is
    the new config, the kiosk lists it, an E ticket is issued as E001, and counter 1 calls it — no restart."""
    resp = client.put(f"{API}/config", json=with_payments(get_config(client, tech)), headers=tech)
    assert resp.status_code == 200
    assert resp.json["services"][-1]["id"] == "payments"
    services = client.get(f"{API}/services").json["services"]
    assert [s["id"] for s in services][-1] == "payments"
    assert services[-1]["prefix"] == "E" and services[-1]["name_en"] == "Payments"
    ticket = client.post(f"{API}/tickets", json={"service": "payments"})
    assert ticket.status_code == 201 and ticket.json["number"] == "E001"
    called = client.post(f"{API}/counters/1/next", headers=tech)
    assert called.json["number"] == "E001"


def test_put_toml_config_changes_hall_name_on_new_tickets(client, tech, hall):
    """A technician PUTs the TOML file with a new hall name: GET /config shows it and the next printed ticket
    carries it."""
    text = DEFAULT_TOML.replace('name = "客户服务中心"', 'name = "海淀客户服务中心"', 1)
    resp = client.put(f"{API}/config", data=text.encode(), headers={**tech, "Content-Type": "application/toml"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert get_config(client, tech)["hall"]["name"] == "海淀客户服务中心"
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    printed = hall.devices.get("ticket-printer").printed[-1]
    assert printed.splitlines()[0] == "海淀客户服务中心"


def test_put_config_new_welcome_text_shows_on_hall_strip(client, tech, hall):
    """With nobody called yet, the hall strip shows the welcome text; after a new welcome is PUT, the strip
    shows the new words."""
    strip = hall.devices.get("hall-strip")
    assert strip.text.lines == ("欢迎光临", "Welcome")
    cfg = get_config(client, tech)
    cfg["hall"]["welcome"], cfg["hall"]["welcome_en"] = "欢迎光临海淀", "Welcome to Haidian"
    assert client.put(f"{API}/config", json=cfg, headers=tech).status_code == 200
    wait_until(lambda: strip.text.lines == ("欢迎光临海淀", "Welcome to Haidian"))


def test_put_config_changes_starlight_credit_for_the_next_call(client, tech, clock):
    """A normal A001 at 10:00 and a Starlight A002 at 10:20: with 15 minutes' credit A001 would come first;
    after the technician raises the credit to 30 minutes, counter 1's next call is the Starlight A002."""
    roster = ("agent_code,name,branch,valid_from,valid_until\n"
              "SL7001,王小明,haidian,2026-10-01,2027-03-31\n").encode()
    client.put(f"{API}/roster/starlight", data=roster, headers={**tech, "Content-Type": "text/csv"})
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A001"
    clock.advance(20 * 60)
    star = client.post(f"{API}/tickets", json={"service": "general", "priority": "starlight", "agent_code": "SL7001"})
    assert star.json["number"] == "A002"
    cfg = get_config(client, tech)
    cfg["priority"]["starlight_credit_minutes"] = 30
    assert client.put(f"{API}/config", json=cfg, headers=tech).status_code == 200
    assert get_config(client, tech)["priority"]["starlight_credit_minutes"] == 30
    assert client.post(f"{API}/counters/1/next", headers=tech).json["number"] == "A002"


def test_put_config_removing_a_device_removes_it_from_device_list(client, tech):
    """A technician removes the voice from the config: GET /devices no longer lists it; the rest remain."""
    cfg = get_config(client, tech)
    cfg["devices"] = [d for d in cfg["devices"] if d["kind"] != "speech"]
    assert client.put(f"{API}/config", json=cfg, headers=tech).status_code == 200
    names = [d["name"] for d in client.get(f"{API}/devices", headers=tech).json["devices"]]
    assert "voice" not in names and "ticket-printer" in names and len(names) == 10


# -- rejected configs ----------------------------------------------------------------------------------------

def _set(path_keys, value):
    def change(cfg):
        target = cfg
        for key in path_keys[:-1]:
            target = target[key]
        target[path_keys[-1]] = value
    return change


def _delete(path_keys):
    def change(cfg):
        target = cfg
        for key in path_keys[:-1]:
            target = target[key]
        del target[path_keys[-1]]
    return change


BAD_CONFIGS = [
    # (label, change, path named in the error)
    ("counter lists an unknown service", _set(["counters", 1, "services", 0], "mortgages"), "counters[1].services[0]"),
    ("credit is a word", _set(["priority", "starlight_credit_minutes"], "lots"), "priority.starlight_credit_minutes"),
    ("credit is negative", _set(["priority", "starlight_credit_minutes"], -5), "priority.starlight_credit_minutes"),
    ("credit is a boolean", _set(["priority", "starlight_credit_minutes"], True), "priority.starlight_credit_minutes"),
    ("credit is a day", _set(["priority", "starlight_credit_minutes"], 1440), "priority.starlight_credit_minutes"),
    ("unknown key in a service", _set(["services", 0, "colour"], "red"), "services[0].colour"),
    ("misspelt hall key", _set(["hall", "nmae"], "x"), "hall.nmae"),
    ("unknown top-level section", _set(["extras"], {}), "extras"),
    ("service uses the VIP prefix", _set(["services", 1, "prefix"], "V"), "services[1].prefix"),
    ("prefix is lower case", _set(["services", 2, "prefix"], "c"), "services[2].prefix"),
    ("duplicate service id", _set(["services", 3, "id"], "general"), "services[3].id"),
    ("duplicate prefix", _set(["services", 3, "prefix"], "A"), "services[3].prefix"),
    ("service without a name", _delete(["services", 0, "name"]), "services[0].name"),
    ("unknown time zone", _set(["business_day", "timezone"], "Mars/Olympus"), "business_day.timezone"),
    ("impossible start time", _set(["business_day", "start"], "25:00"), "business_day.start"),
    ("counter id as text", _set(["counters", 0, "id"], "1"), "counters[0].id"),
    ("green channel as text", _set(["counters", 4, "green_channel"], "yes"), "counters[4].green_channel"),
    ("counter serves nothing", _set(["counters", 2, "services"], []), "counters[2].services"),
    ("unknown device driver", _set(["devices", 0, "type"], "laser"), "devices[0].type"),
    ("display for a missing counter", _set(["devices", 3, "counter"], 9), "devices[3].counter"),
    ("dispenser button for unknown service", _set(["devices", 1, "services", 1], "mortgages"),
     "devices[1].services[1]"),
    ("negative branch quota", _set(["starlight", "branches", 6, "quota"], -1), "starlight.branches[6].quota"),
    ("unsupported language", _set(["hall", "languages"], ["fr"]), "hall.languages"),
    ("no services at all", _set(["services"], []), "services"),
    ("zero minutes per customer", _set(["queue", "default_service_minutes"], 0), "queue.default_service_minutes"),
]


@pytest.mark.parametrize("label, change, path", BAD_CONFIGS, ids=[b[0] for b in BAD_CONFIGS])
def test_bad_config_is_rejected_with_its_path_and_old_config_stays(client, tech, hall, label, change, path):
    """A technician PUTs a config with one bad key or value: 422 `invalid_config` whose message (and `path`)
    names the key; GET /config is unchanged, nothing is written to the config file, and the kiosk still issues
    tickets under the old config."""
    before = get_config(client, tech)
    file_before = hall.config_path.read_bytes() if hall.config_path.exists() else None
    cfg = copy.deepcopy(before)
    change(cfg)
    err = assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 422, "invalid_config")
    assert path in err["message"]
    assert err["path"] == path
    assert get_config(client, tech) == before
    assert (hall.config_path.read_bytes() if hall.config_path.exists() else None) == file_before
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A001"


def test_bad_toml_config_is_rejected_with_its_path(client, tech):
    """A TOML body with an unknown key in the first service: 422 `invalid_config` naming `services[0].colour`;
    the hall keeps its four services."""
    text = DEFAULT_TOML.replace('prefix = "A"\n', 'prefix = "A"\ncolour = "red"\n', 1)
    resp = client.put(f"{API}/config", data=text.encode(), headers={**tech, "Content-Type": "application/toml"})
    err = assert_error(resp, 422, "invalid_config")
    assert "services[0].colour" in err["message"]
    assert len(get_config(client, tech)["services"]) == 4


def test_toml_syntax_error_is_rejected_with_its_line(client, tech):
    """A TOML body with a syntax error on line 2: 422 `invalid_config` saying it is not valid TOML and where."""
    resp = client.put(f"{API}/config", data=b'[hall]\nname = "unterminated\n',
                      headers={**tech, "Content-Type": "application/toml"})
    err = assert_error(resp, 422, "invalid_config")
    assert "TOML" in err["message"] and "line 2" in err["message"]


def test_removing_a_service_with_waiting_tickets_is_refused_until_they_are_served(client, tech):
    """C001 waits for claims; a config without claims is refused with 409 `service_in_use` and claims stays.
    Once counter 1 has called and finished C001, the same config is accepted and claims tickets are no longer
    issued (404 `unknown_service`)."""
    assert client.post(f"{API}/tickets", json={"service": "claims"}).json["number"] == "C001"
    cfg = get_config(client, tech)
    cfg["services"] = [s for s in cfg["services"] if s["id"] != "claims"]
    for counter in cfg["counters"]:
        counter["services"].remove("claims")
    for device in cfg["devices"]:
        if device["kind"] == "dispenser":
            device["services"].remove("claims")
    assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 409, "service_in_use")
    assert "claims" in [s["id"] for s in get_config(client, tech)["services"]]
    assert client.post(f"{API}/counters/1/next", headers=tech).json["number"] == "C001"
    # still at the counter: still in use
    assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 409, "service_in_use")
    client.post(f"{API}/counters/1/finish", headers=tech)
    assert client.put(f"{API}/config", json=cfg, headers=tech).status_code == 200
    assert_error(client.post(f"{API}/tickets", json={"service": "claims"}), 404, "unknown_service")


def test_accepted_config_is_saved_and_a_restarted_hall_uses_it(client, tech, hall, make_hall):
    """After a technician adds payments (E) and renames the hall, the file at the hall's config path holds the
    new config; a hall restarted on the same data dir (as `kiosk run --data-dir` picks its config) serves
    payments, has the new name, and continues the E numbering."""
    cfg = with_payments(get_config(client, tech))
    cfg["hall"]["name"] = "西城客户服务中心"
    assert client.put(f"{API}/config", json=cfg, headers=tech).status_code == 200
    assert client.post(f"{API}/tickets", json={"service": "payments"}).json["number"] == "E001"
    assert settings.load_file(hall.config_path) == cfg
    hall.stop()

    saved, save_path, _ = cli.resolve_config(None, hall.data_dir)
    assert save_path == hall.config_path
    again = make_hall(saved, data_dir=hall.data_dir)
    c2 = create_app(again).test_client()
    assert c2.get(f"{API}/config", headers=tech).json["hall"]["name"] == "西城客户服务中心"
    assert "payments" in [s["id"] for s in c2.get(f"{API}/services").json["services"]]
    assert c2.post(f"{API}/tickets", json={"service": "payments"}).json["number"] == "E002"


# -- the command line ----------------------------------------------------------------------------------------

def run_check(path) -> subprocess.CompletedProcess:
    return subprocess.run([str(KIOSK), "config", "check", str(path)], capture_output=True, text=True, timeout=60)


def test_cli_config_check_accepts_the_default_config():
    """`kiosk config check config/hall.toml` exits 0 and says OK."""
    result = run_check(ROOT / "config" / "hall.toml")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize("old, new, path", [
    ('prefix = "A"\n', 'prefix = "A"\ncolour = "red"\n', "services[0].colour"),
    ('starlight_credit_minutes = 15', 'starlight_credit_minutes = "often"', "priority.starlight_credit_minutes"),
    ('services = ["general", "consult", "claims", "changes"]\n\n[[counters]]\nid = 3',
     'services = ["general", "consult", "claims", "changes"]\n\n[[counters]]\nid = "three"', "counters[2].id"),
])
def test_cli_config_check_names_the_bad_key(tmp_path, old, new, path):
    """`kiosk config check` on a copy of the default config with one bad key exits non-zero and names the key's
    path in its message."""
    assert old in DEFAULT_TOML
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT_TOML.replace(old, new, 1), encoding="utf-8")
    result = run_check(bad)
    assert result.returncode != 0
    assert path in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_config_check_of_a_missing_file_fails_clearly(tmp_path):
    """`kiosk config check` on a file that does not exist exits non-zero with a message naming the file."""
    result = run_check(tmp_path / "nope.toml")
    assert result.returncode != 0
    assert "nope.toml" in result.stderr and "Traceback" not in result.stderr


def test_config_that_would_leave_waiting_customers_with_no_counter_is_refused(client, tech):
    """B001 waits for consultation; a config in which no counter serves consultation any more (though the
    service still exists) is refused with 409 `service_unserved`, and B001 can still be called."""
    b001 = client.post(f"{API}/tickets", json={"service": "consult"}).json
    cfg = get_config(client, tech)
    for counter in cfg["counters"]:
        counter["services"].remove("consult")
    assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 409, "service_unserved")
    assert client.post(f"{API}/counters/2/next", headers=tech).json["id"] == b001["id"]


def test_config_that_removes_the_counter_a_customer_was_sent_to_is_refused(client, tech):
    """A001 was transferred to counter 4 for claims; a config without counter 4 is refused with 409
    `counter_in_use`, and counter 4 then calls A001."""
    a001 = client.post(f"{API}/tickets", json={"service": "general"}).json
    client.post(f"{API}/counters/1/next", headers=tech)
    client.post(f"{API}/counters/1/transfer", json={"service": "claims", "counter": 4}, headers=tech)
    cfg = get_config(client, tech)
    cfg["counters"] = [c for c in cfg["counters"] if c["id"] != 4]
    cfg["devices"] = [d for d in cfg["devices"] if d.get("counter") != 4]
    assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 409, "counter_in_use")
    assert client.post(f"{API}/counters/4/next", headers=tech).json["id"] == a001["id"]


def test_option_a_simulated_device_does_not_take_is_rejected_with_its_path(client, tech):
    """A technician adds a simulated hall display with a baud rate: 422 naming that entry's `options.baud`,
    because a simulated device takes no options."""
    cfg = get_config(client, tech)
    cfg["devices"].append({"name": "spare-strip", "kind": "hall_display", "type": "simulated",
                           "options": {"baud": 9600}})
    err = assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 422, "invalid_config")
    index = len(cfg["devices"]) - 1
    assert err["path"] == f"devices[{index}].options.baud" and "takes no keys" in err["message"]


def test_config_read_as_toml_saves_back_unchanged_and_a_bad_format_is_refused(client, tech):
    """The console's editor reads the config as TOML (?format=toml); sending that text back unchanged is
    accepted and leaves the same config in force; an unknown format is 400 naming the parameter."""
    before = get_config(client, tech)
    resp = client.get(f"{API}/config?format=toml", headers=tech)
    assert resp.status_code == 200 and resp.mimetype == "application/toml"
    text = resp.get_data(as_text=True)
    assert "[hall]" in text and "综合业务" in text
    saved = client.put(f"{API}/config", data=text.encode("utf-8"), headers={**tech, "Content-Type": "application/toml"})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert get_config(client, tech) == before
    assert assert_error(client.get(f"{API}/config?format=yaml", headers=tech), 400, "bad_field")["field"] == "format"
