"""Which driver class serves a device entry of the config, by its ``kind`` and ``type``.

Each driver registers its class and the schema of its ``options`` table (a :class:`kiosk.schema.Section`, so
unknown option keys and bad values are rejected with the key's path, e.g. ``devices[0].options.baud``).
The config check asks :func:`check_device`; the hall builds devices with :func:`build`.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..schema import Section
from .base import Device
from .hallbus import KINDS as BUS_KINDS, OPTIONS as BUS_OPTIONS
from .espeak_speech import OPTIONS as ESPEAK_OPTIONS, EspeakSpeech
from .escpos_options import OPTIONS as ESCPOS_OPTIONS
from .escpos_printer import EscposPrinter
from .simulated import SimulatedDispenser, SimulatedDisplay, SimulatedPrinter, SimulatedSpeech
from .virtual_device import VirtualEscposPrinter

NO_OPTIONS = Section({})

DRIVERS: dict[tuple[str, str], tuple[type[Device], Section]] = {
    ("printer", "simulated"): (SimulatedPrinter, NO_OPTIONS),
    ("counter_display", "simulated"): (SimulatedDisplay, NO_OPTIONS),
    ("hall_display", "simulated"): (SimulatedDisplay, NO_OPTIONS),
    ("dispenser", "simulated"): (SimulatedDispenser, NO_OPTIONS),
    ("speech", "simulated"): (SimulatedSpeech, NO_OPTIONS),
    ("speech", "espeak"): (EspeakSpeech, ESPEAK_OPTIONS),
    **{("printer", t): (EscposPrinter, ESCPOS_OPTIONS[t]) for t in ("usb", "serial", "network", "file")},
    ("printer", "virtual"): (VirtualEscposPrinter, ESCPOS_OPTIONS["virtual"]),
    **{(kind, "bus"): (cls, BUS_OPTIONS) for kind, cls in BUS_KINDS.items()},
}


def register(kind: str, type_: str, cls: type[Device], options: Section = NO_OPTIONS) -> None:
    """Make a driver class available for devices of ``kind`` with ``type = type_``."""
    DRIVERS[(kind, type_)] = (cls, options)


def check_device(spec: dict, path: str) -> dict:
    """Validate one device entry's type and options (``path`` is the entry's, e.g. ``devices[2]``).

    Returns the options with their defaults filled in; raises ConfigError naming the bad key.
    """
    if (spec["kind"], spec["type"]) not in DRIVERS:
        types = sorted(t for k, t in DRIVERS if k == spec["kind"])
        raise ConfigError(f"{path}.type",
                          f"{spec['type']!r} is not a {spec['kind']} driver (available: {', '.join(types)})")
    _cls, options = DRIVERS[(spec["kind"], spec["type"])]
    return options.validate(spec["options"], f"{path}.options")


def build(spec: dict) -> Device:
    """Create the driver object for one validated device entry."""
    cls, _options = DRIVERS[(spec["kind"], spec["type"])]
    return cls(spec)
