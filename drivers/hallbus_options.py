"""The ``options`` table of a device on the hall bus (``type = "bus"``), and which kinds each protocol serves.

It imports only the schema, so checking a config never loads pyserial or the bus driver (drivers/hallbus.py).
"""
from __future__ import annotations

from ..errors import ConfigError
from ..schema import Field, Section

VENDOR_KINDS = {"led485-ascii": ("counter_display",), "strip-aa": ("hall_display",)}
"""The vendors' output-only display protocols and the device kinds each can serve."""
PROTOCOLS = ("hallbus", *VENDOR_KINDS)
OPTIONS = Section({
    "bus": Field(str, check=lambda v: None if v else "must name a bus of [[buses]]"),
    "address": Field(int, check=lambda v: None if 1 <= v <= 254 else "must be between 1 and 254"),
    "protocol": Field(str, "hallbus", lambda v: None if v in PROTOCOLS else f"must be one of {', '.join(PROTOCOLS)}"),
})


def check(kind: str, options: dict, path: str) -> None:
    """Refuse a protocol the device's kind cannot speak (``path`` is the options table's, for the error)."""
    kinds = VENDOR_KINDS.get(options["protocol"])
    if kinds is not None and kind not in kinds:
        raise ConfigError(f"{path}.protocol", f"{options['protocol']!r} serves only a {' or '.join(kinds)}, "
                          f"not a {kind}")
