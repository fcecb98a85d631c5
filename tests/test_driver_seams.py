"""The hall's core knows device interfaces, never concrete drivers: checking a config loads no driver library,
the core imports no driver module but the interfaces and the registry, and an input device of any driver is
bound by the interface it implements (a keypad reports its key's action in the interface's own terms)."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from conftest import default_config
from kiosk.api import create_app
from kiosk.drivers import hallbus_frame, registry
from kiosk.drivers.base import Dispenser, Display, Evaluator, Keypad, Printer, Speech
from kiosk.hall import COUNTER_ACTIONS
from util import wait_until

API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("escpos", "pyttsx3", "serial", "usb", "PIL")

CHECK = """
import json, sys
from kiosk import settings
settings.validate(settings.parse_toml(settings.default_text()))
print(json.dumps(sorted(sys.modules)))
"""


def test_checking_the_default_config_loads_no_driver_library():
    """Situation: a fresh process (as `kiosk config check` or a daemon's start before its devices are built).
    Action: import kiosk.settings and validate the default config, whose printer, voice and bus devices are
    all real drivers.
    Outcome: none of python-escpos, pyttsx3, pyserial, pyusb or Pillow is imported, nor any driver module:
    only the interfaces, the registry and the option schemas (and the pure ESC/POS codes they name)."""
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    modules = json.loads(out.stdout)
    assert [m for m in modules if m.split(".")[0] in LIBRARIES] == []
    drivers = {m.rsplit(".", 1)[1] for m in modules if m.startswith("kiosk.drivers.")}
    assert drivers == {"base", "registry", "escpos_options", "escpos_codes", "espeak_options", "hallbus_options"}


INTERFACES = {"printer": Printer, "counter_display": Display, "hall_display": Display, "dispenser": Dispenser,
              "speech": Speech, "keypad": Keypad, "evaluator": Evaluator}


def test_every_registered_driver_loads_and_implements_its_kind():
    """Each (kind, type) of the registry names a class that imports (its module is loaded only now) and
    implements the interface of its kind, so a config that passes the check builds a device of that kind."""
    for (kind, type_), driver in registry.DRIVERS.items():
        cls = driver.load()
        assert issubclass(cls, INTERFACES[kind]), (kind, type_, cls)


def _driver_imports(path: Path) -> set[str]:
    """The modules of kiosk.drivers that one module of the core imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if "drivers" in parts:
                rest = parts[parts.index("drivers") + 1:]
                found.update(rest[:1] or [alias.name for alias in node.names])
    return found


def test_the_core_imports_only_the_interfaces_and_the_registry_of_the_drivers():
    """Every module of kiosk/ (the daemon) imports from kiosk.drivers only ``base`` (the interfaces) and
    ``registry``: no bus, printer or voice driver, no wire codes."""
    imports = {str(p.relative_to(ROOT)): _driver_imports(p) for p in sorted((ROOT / "kiosk").rglob("*.py"))}
    assert {path: found for path, found in imports.items() if found - {"base", "registry"}} == {}
    assert imports["kiosk/devices.py"] and imports["kiosk/hall.py"] == {"base"}


def test_the_bus_keypad_reports_only_keypad_actions_that_the_counter_has():
    """The bus keypad's key codes name actions of the keypad interface, and each of those is a counter action
    the hall runs (a keypad cannot call a named ticket or transfer, which need more than a key)."""
    assert set(hallbus_frame.KEYS.values()) <= set(Keypad.ACTIONS) <= set(COUNTER_ACTIONS)
    assert not {"call", "transfer"} & set(Keypad.ACTIONS)


class PanelKeypad(Keypad):
    """A counter keypad on another transport (a touch panel at the counter): no bus, only the interface."""


def test_a_keypad_of_any_driver_is_bound_by_its_interface(make_hall, monkeypatch):
    """Situation: a driver registered as keypad type "panel" (not a bus device) serves counter 2; A001 waits.
    Action: its driver reports the key "next", then a key it has no name for, then "call".
    Outcome: "next" calls A001 at counter 2 as the counter's API would; the other two are refused as
    `unknown_action` and change nothing."""
    monkeypatch.setitem(registry.DRIVERS, ("keypad", "panel"), registry.Driver(PanelKeypad))
    cfg = default_config()
    cfg["devices"].append({"name": "panel-2", "kind": "keypad", "type": "panel", "counter": 2, "options": {}})
    hall = make_hall(cfg)
    client = create_app(hall).test_client()
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    panel = hall.devices.get("panel-2")
    outcome = panel.key("next")
    assert outcome["ok"] is True and outcome["ticket"]["number"] == "A001"
    ticket = client.get(f"{API}/tickets/1").json
    assert (ticket["status"], ticket["counter"]) == ("called", 2)
    for refused in ("key 9", "call"):
        outcome = panel.key(refused)
        assert outcome["ok"] is False and outcome["error"]["code"] == "unknown_action", outcome
    wait_until(lambda: client.get(f"{API}/display").json["counters"][1]["number"] == "A001")
    assert client.get(f"{API}/tickets/1").json["status"] == "called"
