"""One interface per device kind. Drivers (real or simulated) implement these; the hall uses only these.

Every device has a ``name``, a ``kind`` and a ``type`` (from its config entry), ``start``/``stop``, and
``state()`` for ``GET /api/v1/devices``. Simulated devices also accept ``simulate(action)`` so a technician or
a test can press a button or switch on a fault. Input devices report in these interfaces' own terms (a keypad
reports the action of its key, never its wire code), and a device that needs something shared with others
(a bus device: its bus) joins it through :meth:`Device.attach`, so the hall knows no concrete driver.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from ..display.spoken import Announcement
from ..display.texts import DisplayText


class DeviceError(Exception):
    """A device could not do what was asked (offline, out of paper, unplugged); ``code`` names the fault."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class NotSimulated(Exception):
    """``simulate`` was called on a real device."""


class BadSimulation(ValueError):
    """A simulate action the device does not take. ``code`` is ``bad_simulation`` (a value it does not know, or
    no action), ``unknown_field`` (a key it does not know; ``details`` has ``field``, its name) or
    ``one_action`` (two actions in one body; ``details`` has ``actions``, their keys)."""

    def __init__(self, message: str, code: str = "bad_simulation", **details):
        super().__init__(message)
        self.message, self.code, self.details = message, code, details


Actions = dict[str, tuple[str, ...]]
"""A device's simulate actions: each action's key, and the keys that may go with it (``{"fault": ("on",)}``)."""


def pick_action(action: dict, actions: Actions, device: str) -> str:
    """The one action a simulate body asks for; raise :class:`BadSimulation` for a key the device does not
    know, a key that does not go with the action, two actions at once, or none."""
    takes = " or ".join(f"{key!r}" + (f" (with {', '.join(map(repr, extra))})" if extra else "")
                        for key, extra in actions.items()) or "no simulate actions"
    known = set(actions).union(*actions.values())
    for key in sorted(action):
        if key not in known:
            raise BadSimulation(f"Unknown field {key!r}: {device} takes {takes}.", "unknown_field", field=key)
    asked = sorted(key for key in action if key in actions)
    if len(asked) > 1:
        raise BadSimulation(f"One action at a time: {' and '.join(map(repr, asked))} were given together.",
                            "one_action", actions=asked)
    if not asked:
        raise BadSimulation(f"No action given: {device} takes {takes}.")
    for key in sorted(action):
        if key != asked[0] and key not in actions[asked[0]]:
            raise BadSimulation(f"The field {key!r} does not go with {asked[0]!r}.", "unknown_field", field=key)
    return asked[0]


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


class SharedParts(Protocol):
    """What several devices share and the device manager keeps across config changes: the hall bus's ports
    (:class:`~.hallbus.BusPool`). Each part has a name (``bus hall-bus``); it is built from its own config
    section when a device first joins it, and kept while that section's entry stays the same."""

    def changed(self, config: dict) -> set[str]:
        """The names of the running parts whose entry differs in ``config`` (validated) or is gone from it."""
        ...

    def replace(self, config: dict) -> dict[str, Callable[[], None]]:
        """Take the entries of ``config``: forget each part whose entry changed or went, and return, per part,
        the function that stops it (the devices on it are rebuilt)."""
        ...

    def start(self) -> None:
        """Start every part not yet started."""
        ...

    def stoppers(self) -> dict[str, Callable[[], None]]:
        """Per part, the function that stops it; the parts are forgotten."""
        ...


class Device:
    """What every device has.

    ``data_dir`` is the hall's data folder, set by the device manager before ``start`` (a driver that keeps
    files, such as the voice's WAV files, keeps them under it).
    """

    kind = "device"
    SIMULATE: Actions = {}
    """The simulate actions this kind of device takes (none: a real device); see :func:`pick_action`."""

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

    def shares(self) -> str | None:
        """The name of the shared part this device runs on (see :class:`SharedParts`), or None."""
        return None

    def attach(self, parts: SharedParts) -> None:
        """Join the shared part this device runs on (a bus device: its bus), after it is built and before
        :meth:`start`. Nothing by default."""

    def detach(self) -> None:
        """Leave the shared part joined in :meth:`attach`, before a successor takes this device's place (a
        config change). Nothing by default."""

    def take_over(self, old: "Device") -> None:
        """Called before :meth:`start` when a config change replaces ``old`` (still running) with this device:
        take what must outlive a driver (a port's worker, work waiting to be done). Nothing by default."""

    def start(self) -> None:
        """Open the device (no-op for devices that need nothing)."""

    def stop(self) -> None:
        """Close the device."""

    def online(self) -> bool:
        """Tell whether the device answered when last asked (never waits for it)."""
        return True

    def note_error(self, message: str) -> None:
        """Remember the latest error for the technician."""
        self.last_error, self.last_error_at = message, time.time()

    def state(self) -> dict:
        """Return what a technician sees in the device list: the last known state, read without waiting for
        the device (``/health`` and ``/metrics`` read it too, so it must never block)."""
        return {"name": self.name, "kind": self.kind, "type": self.type, "online": self.online(),
                "last_error": self.last_error, "last_error_at": self.last_error_at}

    def simulate(self, action: dict) -> dict:
        """Apply a simulator action; real devices refuse."""
        raise NotSimulated(f"{self.name} is a real device and cannot be simulated")

    def simulate_action(self, action: dict) -> str:
        """The key of the one action in ``action`` (checked against :attr:`SIMULATE`)."""
        return pick_action(action, self.SIMULATE, self.name)


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


class Keypad(Device):
    """A counter's keypad: each key is one of the counter's actions, done at the keypad's counter.

    A driver reports a press with :meth:`key` and the action's name from :data:`ACTIONS`, translating its own
    key codes; a key it has no name for is reported as ``key N`` (N its code), which the hall refuses as an
    unknown action (the outcome the device shows says so)."""

    kind = "keypad"
    ACTIONS = ("next", "recall", "no-show", "finish", "pause", "resume")
    """The actions a key may stand for: the counter's actions that need nothing else (not call, not transfer)."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.counter: int = spec["counter"]
        self._on_key: Callable[[int, str], dict] | None = None

    def bind(self, handler: Callable[[int, str], dict]) -> None:
        """Set the function a key press calls with (counter, action); it returns the outcome."""
        self._on_key = handler

    def key(self, action: str) -> dict:
        """Report a key press as its action; return the hall's outcome (``{"ok": ...}``)."""
        if self._on_key is None:
            raise DeviceError("not_bound", f"{self.name} is not connected to the hall")
        return self._on_key(self.counter, action)


class Evaluator(Device):
    """A customer's rating pad at a counter: scores 1 to 5, stored against the ticket last served there."""

    kind = "evaluator"

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.counter: int = spec["counter"]
        self._on_score: Callable[[int, int], dict] | None = None

    def bind(self, handler: Callable[[int, int], dict]) -> None:
        """Set the function a rating calls with (counter, score); it returns the outcome."""
        self._on_score = handler

    def rate(self, score: int) -> dict:
        """Report a customer's score; return the hall's outcome (the hall checks the score)."""
        if self._on_score is None:
            raise DeviceError("not_bound", f"{self.name} is not connected to the hall")
        return self._on_score(self.counter, score)
