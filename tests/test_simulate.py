"""POST /devices/{name}/simulate takes exactly one action, with only the keys that go with it, for every kind of
simulator: the simulated and virtual printers, simulated displays, dispenser and voice, and the devices on a
virtual bus with their inputs. Anything else is a 400 that names the key, and changes nothing."""
import pytest

from util import assert_error, hall_config

API = "/api/v1"
SIMULATED_KINDS = ("printer", "counter_display", "hall_display", "dispenser", "speech")


def all_simulated(cfg: dict) -> None:
    """The default hall with its printer, displays, dispenser and voice simulated (no bus)."""
    cfg["buses"] = []
    cfg["devices"] = [{**d, "type": "simulated", "options": {}} for d in cfg["devices"] if d["kind"] in SIMULATED_KINDS]


# (device, body, code, the key named: `field`, or for two actions `actions`): the default hall's virtual printer
# and bus devices
VIRTUAL = [
    ("ticket-printer", {"fault": "paper_out", "colour": "red"}, "unknown_field", "colour"),
    ("ticket-printer", {"fault": "paper_out", "clear": True}, "one_action", ["clear", "fault"]),
    ("ticket-printer", {"clear": True, "on": False}, "unknown_field", "on"),
    ("ticket-printer", {"clear": True, "delay_s": 1}, "unknown_field", "delay_s"),
    ("ticket-printer", {"fault": "paper_out", "delay_s": 1}, "bad_simulation", "delay_s"),
    ("ticket-printer", {"fault": "slow_answers", "delay_s": 0}, "bad_simulation", "delay_s"),
    ("ticket-printer", {"fault": "slow_answers", "delay_s": True}, "bad_simulation", "delay_s"),
    ("dispenser", {"press": 1, "unplugged": True}, "one_action", ["press", "unplugged"]),
    ("dispenser", {"press": 1, "key": "next"}, "unknown_field", "key"),
    ("dispenser", {"press": 1, "on": True}, "unknown_field", "on"),
    ("keypad-1", {"key": "next", "rate": 5}, "unknown_field", "rate"),
    ("evaluator-1", {"rate": 5, "fault": "silent"}, "one_action", ["fault", "rate"]),
    ("counter-1-led", {"unplugged": True, "adapter_unplugged": False}, "one_action",
     ["adapter_unplugged", "unplugged"]),
    ("counter-1-led", {"press": 1}, "unknown_field", "press"),
    ("counter-1-led", {}, "bad_simulation", None),
]
# the same for the simulated drivers
SIMULATED = [
    ("ticket-printer", {"fault": "paper_out", "by": "hand"}, "unknown_field", "by"),
    ("ticket-printer", {"fault": "paper_out", "clear": True}, "one_action", ["clear", "fault"]),
    ("ticket-printer", {"clear": False}, "bad_simulation", None),
    ("counter-1-led", {"unplugged": True, "fault": "silent"}, "unknown_field", "fault"),
    ("dispenser", {"press": 1, "times": 2}, "unknown_field", "times"),
    ("voice", {"say": "hello"}, "unknown_field", "say"),
    ("voice", {}, "bad_simulation", None),
]


def unchanged(client, tech, hall) -> None:
    """Nothing was switched or pressed: no ticket waits, the printer prints A001, no bus device holds a press or
    a fault, every device is online."""
    assert sum(s["waiting"] for s in client.get(f"{API}/services").json["services"]) == 0
    devices = client.get(f"{API}/devices", headers=tech).json["devices"]
    assert all(d["online"] for d in devices), [d["name"] for d in devices if not d["online"]]
    assert all(not d.get("faults") for d in devices)
    twins = [d["virtual"] for d in devices if "virtual" in d]
    assert all(t["pending_events"] == 0 and not t["faults"] and not t["adapter_unplugged"] for t in twins)
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A001"


def ids(cases) -> list[str]:
    return [f"{name}-{'-'.join(body) or 'empty'}" for name, body, *_ in cases]


@pytest.mark.parametrize("name, body, code, field", VIRTUAL, ids=ids(VIRTUAL))
def test_bad_simulate_body_on_virtual_devices_is_400_and_changes_nothing(client, tech, hall, name, body, code, field):
    """Situation: the default hall (its virtual printer and the devices on its virtual bus).
    Action: a simulate body with a key the device does not know, a key that does not go with its action, two
    actions, or none.
    Outcome: 400 with `unknown_field` (naming the key), `one_action` (naming the second action) or
    `bad_simulation`; no fault was switched and nothing was pressed (the first of two actions is not applied)."""
    err = assert_error(client.post(f"{API}/devices/{name}/simulate", json=body, headers=tech), 400, code)
    assert err.get("actions" if code == "one_action" else "field") == field
    unchanged(client, tech, hall)


@hall_config(all_simulated)
@pytest.mark.parametrize("name, body, code, field", SIMULATED, ids=ids(SIMULATED))
def test_bad_simulate_body_on_simulated_devices_is_400_and_changes_nothing(client, tech, hall, name, body, code, field):
    """Situation: a hall whose printer, displays, dispenser and voice are the simulated drivers.
    Action: a simulate body with a key the device does not know, two actions, or none.
    Outcome: 400 with `unknown_field` (naming the key), `one_action` or `bad_simulation`; nothing changed."""
    err = assert_error(client.post(f"{API}/devices/{name}/simulate", json=body, headers=tech), 400, code)
    assert err.get("actions" if code == "one_action" else "field") == field
    unchanged(client, tech, hall)


def test_unknown_field_message_says_what_the_device_takes(client, tech):
    """A typo in a dispenser's body is refused with a message naming the key and the actions the device takes."""
    err = assert_error(client.post(f"{API}/devices/dispenser/simulate", json={"pres": 1}, headers=tech), 400,
                       "unknown_field")
    assert "'pres'" in err["message"] and "'press'" in err["message"] and "'fault' (with 'on')" in err["message"]
