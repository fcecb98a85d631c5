"""Which driver class serves a device entry of the config, by its ``kind`` and ``type``.

Each driver registers where its class lives (``module:Class`` in this package) and the schema of its
``options`` table (a :class:`kiosk.schema.Section`, so unknown option keys and bad values are rejected with the
key's path, e.g. ``devices[0].options.baud``). The schemas live in small modules that import only the schema
(``escpos_options``, ``espeak_options``, ``hallbus_options``): the config check asks :func:`check_device`
without importing any driver or its library (python-escpos, pyusb, pyserial, pyttsx3), and :func:`build`
imports a driver's module only when a device of its type is built.
"""
from __future__ import annotations

import importlib
from typing import Callable, NamedTuple

from ..errors import ConfigError
from ..schema import Section
from .base import Device, SharedParts
from .escpos_options import OPTIONS as ESCPOS_OPTIONS
from .espeak_options import OPTIONS as ESPEAK_OPTIONS
from .hallbus_options import OPTIONS as BUS_OPTIONS, check as bus_check

NO_OPTIONS = Section({})


class Driver(NamedTuple):
    """One driver: its class, or where to import it from (``"module:Class"``, relative to this package), its
    options schema, and what else it checks once the options are valid (``check(kind, options, path)``, which
    raises ConfigError)."""

    target: str | type[Device]
    options: Section = NO_OPTIONS
    check: Callable[[str, dict, str], None] | None = None

    def load(self) -> type[Device]:
        """The driver class (its module is imported on the first call)."""
        if not isinstance(self.target, str):
            return self.target
        module, _, name = self.target.partition(":")
        cls: type[Device] = getattr(importlib.import_module(f".{module}", __package__), name)
        return cls


DRIVERS: dict[tuple[str, str], Driver] = {
    ("printer", "simulated"): Driver("simulated:SimulatedPrinter"),
    ("counter_display", "simulated"): Driver("simulated:SimulatedDisplay"),
    ("hall_display", "simulated"): Driver("simulated:SimulatedDisplay"),
    ("dispenser", "simulated"): Driver("simulated:SimulatedDispenser"),
    ("speech", "simulated"): Driver("simulated:SimulatedSpeech"),
    ("speech", "espeak"): Driver("espeak_speech:EspeakSpeech", ESPEAK_OPTIONS),
    **{("printer", t): Driver("escpos_printer:EscposPrinter", ESCPOS_OPTIONS[t])
       for t in ("usb", "serial", "network", "file")},
    ("printer", "virtual"): Driver("virtual_device:VirtualEscposPrinter", ESCPOS_OPTIONS["virtual"]),
    ("counter_display", "bus"): Driver("hallbus:BusDisplay", BUS_OPTIONS, bus_check),
    ("hall_display", "bus"): Driver("hallbus:BusDisplay", BUS_OPTIONS, bus_check),
    ("dispenser", "bus"): Driver("hallbus:BusDispenser", BUS_OPTIONS, bus_check),
    ("keypad", "bus"): Driver("hallbus:BusKeypad", BUS_OPTIONS, bus_check),
    ("evaluator", "bus"): Driver("hallbus:BusEvaluator", BUS_OPTIONS, bus_check),
}


def register(kind: str, type_: str, target: str | type[Device], options: Section = NO_OPTIONS,
             check: Callable[[str, dict, str], None] | None = None) -> None:
    """Make a driver class (or ``"module:Class"``, imported when first built) available for devices of ``kind``
    with ``type = type_``."""
    DRIVERS[(kind, type_)] = Driver(target, options, check)


def check_device(spec: dict, path: str) -> dict:
    """Validate one device entry's type and options (``path`` is the entry's, e.g. ``devices[2]``).

    Returns the options with their defaults filled in; raises ConfigError naming the bad key.
    """
    if (spec["kind"], spec["type"]) not in DRIVERS:
        types = sorted(t for k, t in DRIVERS if k == spec["kind"])
        raise ConfigError(f"{path}.type",
                          f"{spec['type']!r} is not a {spec['kind']} driver (available: {', '.join(types)})")
    driver = DRIVERS[(spec["kind"], spec["type"])]
    options = driver.options.validate(spec["options"], f"{path}.options")
    if driver.check is not None:
        driver.check(spec["kind"], options, f"{path}.options")
    return options


def build(spec: dict) -> Device:
    """Create the driver object for one validated device entry (importing its driver's module)."""
    return DRIVERS[(spec["kind"], spec["type"])].load()(spec)


def shared_parts() -> SharedParts:
    """An empty set of the parts devices share (the hall's buses), for a device manager to fill as devices join.

    The bus driver (and pyserial) is imported here, when a hall is built, not when a config is checked."""
    from .hallbus import BusPool
    return BusPool([])
