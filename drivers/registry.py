"""Which driver class serves a device entry of the config, by its ``kind`` and ``type``.

Real drivers (ESC/POS printer, RS-485 bus devices, speech engine) register here as they are added; the
config check asks :func:`check_device` so an unknown type is rejected with the key's path.
"""
from __future__ import annotations

from .base import Device
from .simulated import SimulatedDispenser, SimulatedDisplay, SimulatedPrinter, SimulatedSpeech

DRIVERS: dict[tuple[str, str], type[Device]] = {
    ("printer", "simulated"): SimulatedPrinter,
    ("counter_display", "simulated"): SimulatedDisplay,
    ("hall_display", "simulated"): SimulatedDisplay,
    ("dispenser", "simulated"): SimulatedDispenser,
    ("speech", "simulated"): SimulatedSpeech,
}


def check_device(spec: dict) -> tuple[str, str] | None:
    """Return ``(key, problem)`` when no driver can serve the entry, else None."""
    if (spec["kind"], spec["type"]) not in DRIVERS:
        types = sorted(t for k, t in DRIVERS if k == spec["kind"])
        return "type", f"{spec['type']!r} is not a {spec['kind']} driver (available: {', '.join(types)})"
    if spec["type"] == "simulated" and spec["options"]:
        return "options", "a simulated device takes no options"
    return None


def build(spec: dict) -> Device:
    """Create the driver object for one validated device entry."""
    return DRIVERS[(spec["kind"], spec["type"])](spec)
