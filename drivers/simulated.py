"""Simulated devices: they keep what they printed, showed and said, and can be switched to a fault.

They stand in for hardware on a laptop and in the demo hall, behind the same interfaces as the real drivers.
"""
from __future__ import annotations

import collections
import time

from .base import BadSimulation, DeviceError, Dispenser, Display, Printer, PrinterStatus, Speech
from ..display.spoken import Announcement
from ..display.texts import DisplayText

KEEP = 200  # how many printed tickets / announcements a simulator remembers


def printer_fault(printer: Printer, action: dict, faults: tuple[str, ...]) -> tuple[str | None, bool]:
    """Read a printer simulator's ``{"fault": NAME, "on": bool}`` (the fault and on) or ``{"clear": true}``
    (None and True); raise BadSimulation for anything else."""
    key = printer.simulate_action(action)
    on = action.get("on", True)
    if key == "clear" and action["clear"] is True:
        return None, True
    if key == "fault" and action["fault"] in faults and isinstance(on, bool):
        return action["fault"], on
    raise BadSimulation(f"a {printer.type} printer takes {{\"fault\": one of {', '.join(faults)}, \"on\": true|false}} "
                        "or {\"clear\": true}")


class SimulatedPrinter(Printer):
    """A printer that keeps each ticket's text; faults: ``paper_out``, ``paper_near_end``, ``offline``,
    ``cover_open``, ``fail_during_print``."""

    FAULTS = ("paper_out", "paper_near_end", "offline", "cover_open", "fail_during_print")
    SIMULATE = {"fault": ("on",), "clear": ()}

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.printed: collections.deque[str] = collections.deque(maxlen=KEEP)
        self.faults: set[str] = set()
        self.last_ticket_at: float | None = None

    def status(self) -> PrinterStatus:
        """Report the simulated state."""
        with self._lock:
            paper = "out" if "paper_out" in self.faults else ("near_end" if "paper_near_end" in self.faults else "ok")
            return PrinterStatus(online="offline" not in self.faults, paper=paper,
                                 cover_open="cover_open" in self.faults)

    def online(self) -> bool:
        """Offline while that fault is on."""
        return "offline" not in self.faults

    def print_ticket(self, layout) -> None:
        """Keep the ticket's text, or fail like a printer whose paper runs out mid-ticket."""
        status = self.status()
        if not status.ready:
            raise DeviceError("printer_unavailable", status.problem())
        with self._lock:
            if "fail_during_print" in self.faults:
                self.note_error("paper jammed while printing")
                raise DeviceError("print_failed", "the ticket printer failed while printing")
            self.printed.append(layout.as_text())
            self.last_ticket_at = time.time()
        self.traffic.debug("printed %r", self.printed[-1])

    def test_page(self) -> None:
        """Keep a test page (or fail as print_ticket does when not ready)."""
        status = self.status()
        if not status.ready:
            raise DeviceError("printer_unavailable", status.problem())
        with self._lock:
            self.printed.append("*** TEST PAGE ***")

    def state(self) -> dict:
        """Add paper state, faults and the last ticket's time."""
        status = self.status()
        return {**super().state(), "model": "simulated ESC/POS 80 mm", "paper": status.paper,
                "cover_open": status.cover_open, "faults": sorted(self.faults),
                "printed": len(self.printed), "last_ticket_at": self.last_ticket_at,
                "last_printed": self.printed[-1] if self.printed else None}

    def simulate(self, action: dict) -> dict:
        """``{"fault": NAME, "on": true|false}`` or ``{"clear": true}``."""
        fault, on = printer_fault(self, action, self.FAULTS)
        with self._lock:
            if fault is None:
                self.faults.clear()
            else:
                (self.faults.add if on else self.faults.discard)(fault)
        return self.state()


class SimulatedDisplay(Display):
    """A display that keeps what it shows; fault: ``unplugged`` (it then shows nothing new)."""

    SIMULATE = {"unplugged": ()}

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.kind = spec["kind"]
        self.text = DisplayText(("",))
        self.updates = 0
        self.unplugged = False

    def online(self) -> bool:
        """Offline while unplugged."""
        return not self.unplugged

    def show(self, text: DisplayText) -> None:
        """Keep the text (an unplugged display misses it and is resynced when it comes back)."""
        if self.unplugged:
            raise DeviceError("display_offline", f"{self.name} does not answer")
        with self._lock:
            self.text = text
            self.updates += 1
        self.traffic.debug("shows %r", text.lines)

    def state(self) -> dict:
        """Add the shown lines."""
        return {**super().state(), "counter": self.spec.get("counter") or None, "lines": list(self.text.lines),
                "blink": self.text.blink, "updates": self.updates}

    def simulate(self, action: dict) -> dict:
        """``{"unplugged": true|false}``."""
        self.simulate_action(action)
        if not isinstance(action["unplugged"], bool):
            raise BadSimulation("a simulated display takes {\"unplugged\": true|false}")
        self.unplugged = action["unplugged"]
        return self.state()


class SimulatedSpeech(Speech):
    """A voice that keeps each announcement instead of speaking it (``spoken``: the sentences per language)."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.spoken: collections.deque[dict[str, str]] = collections.deque(maxlen=KEEP)

    def announce(self, announcement: Announcement) -> None:
        """Keep the announcement's sentences."""
        with self._lock:
            self.spoken.append(dict(announcement.sentences))

    def simulate(self, action: dict) -> dict:
        """A simulated voice has no faults or buttons: every action is refused as not understood."""
        self.simulate_action(action)   # it takes none, so this always refuses
        return self.state()

    def state(self) -> dict:
        """Add the announcements kept."""
        return {**super().state(), "voice": "simulated", "queue_length": 0, "announced": len(self.spoken),
                "last_announcement": self.spoken[-1] if self.spoken else None}


class SimulatedDispenser(Dispenser):
    """A button box whose buttons are pressed through ``simulate({"press": N})`` (1-based)."""

    SIMULATE = {"press": ()}

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.presses = 0
        self.last_result: dict | None = None

    def simulate(self, action: dict) -> dict:
        """Press button N: issue a ticket for its service through the kiosk's path; return the outcome."""
        self.simulate_action(action)
        button = action["press"]
        if isinstance(button, bool) or not isinstance(button, int) or not 1 <= button <= len(self.services):
            raise BadSimulation(f"a simulated dispenser takes {{\"press\": 1..{len(self.services)}}}")
        if self._handler is None:
            raise DeviceError("not_ready", "the dispenser is not connected to the queue yet")
        self.presses += 1
        self.last_result = self._handler(self.services[button - 1])
        return self.last_result

    def state(self) -> dict:
        """Add the buttons and the last press's outcome."""
        return {**super().state(), "buttons": self.services, "presses": self.presses, "last_result": self.last_result}
