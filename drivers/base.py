"""One interface per device kind. Drivers (real or simulated) implement these; the hall uses only these.

Every device has a ``name``, a ``kind`` and a ``type`` (from its config entry), ``start``/``stop``, and
``state()`` for ``GET /api/v1/devices``. Simulated devices also accept ``simulate(action)`` so a technician or
a test can press a button or switch on a fault.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..display.spoken import Announcement
from ..display.texts import DisplayText


class DeviceError(Exception):
    """A device could not do what was asked (offline, out of paper, unplugged); ``code`` names the fault."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class NotSimulated(Exception):
    """``simulate`` was called on a real device."""


@dataclass
class PrinterStatus:
    """A ticket printer's state. ``paper`` is ``ok``, ``near_end``, ``out`` or ``unknown``."""

    online: bool
    paper: str = "ok"
    cover_open: bool = False
    error: str | None = None

    @property
    def ready(self) -> bool:
        """True when a ticket can be printed now."""
        return self.online and self.paper != "out" and not self.cover_open

    def problem(self) -> str:
        """Say in words why the printer is not ready (empty when it is)."""
        if not self.online:
            return "the ticket printer is offline"
        if self.cover_open:
            return "the ticket printer's cover is open"
        if self.paper == "out":
            return "the ticket printer is out of paper"
        return ""


class Device:
    """What every device has.

    ``data_dir`` is the hall's data folder, set by the device manager before ``start`` (a driver that keeps
    files, such as the voice's WAV files, keeps them under it).
    """

    kind = "device"

    def __init__(self, spec: dict):
        self.name = spec["name"]
        self.type = spec["type"]
        self.spec = spec
        self.data_dir: Path | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._lock = threading.Lock()
        # What the device is sent and answers, at DEBUG; off unless a technician switches it on (SIGUSR1).
        self.traffic = logging.getLogger(f"kiosk.traffic.{self.name}")

    def take_over(self, old: "Device") -> None:
        """Called before :meth:`start` when a config change replaces ``old`` (still running) with this device:
        take what must outlive a driver (a port's worker, work waiting to be done). Nothing by default."""

    def start(self) -> None:
        """Open the device (no-op for devices that need nothing)."""

    def stop(self) -> None:
        """Close the device."""

    def online(self) -> bool:
        """Tell whether the device answers."""
        return True

    def note_error(self, message: str) -> None:
        """Remember the latest error for the technician."""
        self.last_error, self.last_error_at = message, time.time()

    def state(self) -> dict:
        """Return what a technician sees in the device list."""
        return {"name": self.name, "kind": self.kind, "type": self.type, "online": self.online(),
                "last_error": self.last_error, "last_error_at": self.last_error_at}

    def simulate(self, action: dict) -> dict:
        """Apply a simulator action; real devices refuse."""
        raise NotSimulated(f"{self.name} is a real device and cannot be simulated")


class Printer(Device):
    """A ticket printer."""

    kind = "printer"

    def status(self) -> PrinterStatus:
        """Ask the printer for its state now."""
        raise NotImplementedError

    def print_ticket(self, layout) -> None:
        """Print one ticket (a :class:`kiosk.display.ticket.TicketLayout`); raise DeviceError on failure."""
        raise NotImplementedError

    def test_page(self) -> None:
        """Print a test page."""
        raise NotImplementedError


class Display(Device):
    """An LED counter board or a hall strip."""

    kind = "display"

    def show(self, text: DisplayText) -> None:
        """Show text (replacing what was shown)."""
        raise NotImplementedError


class Speech(Device):
    """A voice that announces calls."""

    kind = "speech"

    def announce(self, announcement: Announcement) -> None:
        """Queue one announcement (its sentences are spoken in order) and return at once.

        Called on the event fan-out thread: it must never wait for synthesis or playback."""
        raise NotImplementedError


class Dispenser(Device):
    """A box of ticket buttons; each button issues a ticket for one service."""

    kind = "dispenser"

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.services: list[str] = list(spec["services"])
        self._handler: Callable[[str], dict] | None = None

    def bind(self, handler: Callable[[str], dict]) -> None:
        """Set the function a button press calls with the button's service id."""
        self._handler = handler
