"""The ``virtual`` ticket printer: the real ESC/POS driver printing to a :class:`VirtualPrinter` it starts.

With ``transport = "network"`` the driver connects to the virtual printer's loopback TCP port; with
``"serial"`` it opens the virtual printer's pty as a serial port. Everything between the hall and the bytes
is the real driver; the simulator's faults are switched with ``POST /devices/{name}/simulate`` and the
decoded tickets are in :attr:`printed` and in the device list.

The virtual printer stands for the hardware, so it outlives its driver: when a config change replaces the
driver, the new one takes over the same virtual printer (its paper, faults and printed pages) and, on the
same transport, the same simulator port; the old port is closed only after the old driver's last job.
"""
from __future__ import annotations

from .base import BadSimulation
from .escpos_printer import EscposPrinter
from .simulated import printer_fault
from .virtual_printer import FAULTS, PtyPort, TcpPort, VirtualPrinter

MAX_DELAY_S = 60.0


class VirtualEscposPrinter(EscposPrinter):
    """An :class:`EscposPrinter` wired to its own virtual printer."""

    SIMULATE = {"fault": ("on", "delay_s"), "clear": ()}

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.virtual = VirtualPrinter(self.style.encoding)
        self.virtual.answer_delay_s = 1.5 * self.options["timeout"]   # late, yet within what the driver sorts out
        self._port: TcpPort | PtyPort | None = None
        self.transport = spec["options"]["transport"]
        self.model = self.options["model"] or "virtual ESC/POS printer"

    def take_over(self, old) -> None:
        """Keep the virtual printer of the driver this one replaces (and its port, on the same transport)."""
        if isinstance(old, VirtualEscposPrinter):
            self.virtual = old.virtual
            self.virtual.encoding = self.style.encoding   # for the connections opened from now on
            if old.transport == self.transport and old._port is not None:
                self._port, old._port = old._port, None
        super().take_over(old)

    def start(self) -> None:
        """Start the virtual printer on its transport (unless taken over), then the driver's worker."""
        if self._port is None:
            self._port = TcpPort(self.virtual) if self.transport == "network" else PtyPort(self.virtual)
        if isinstance(self._port, TcpPort):
            self.options = {**self.options, "host": self._port.host, "port": self._port.port}
        else:
            self.options = {**self.options, "port": self._port.path, "baud": 115200}
        super().start()

    def stop(self) -> None:
        """Stop the driver, then the virtual printer."""
        super().stop()
        if self._port is not None:
            self._port.close()

    @property
    def printed(self) -> list[str]:
        """The text of every page the virtual printer cut, oldest first."""
        return [page.text for page in self.virtual.pages]

    def state(self) -> dict:
        """Add the virtual printer's faults and what it printed last."""
        pages = self.virtual.pages
        return {**super().state(), "faults": sorted(self.virtual.faults), "printed": len(pages),
                "last_printed": pages[-1].text if pages else None,
                "answer_delay_s": self.virtual.answer_delay_s if "slow_answers" in self.virtual.faults else None}

    def simulate(self, action: dict) -> dict:
        """``{"fault": NAME, "on": true|false}`` or ``{"clear": true}``; ``slow_answers`` also takes
        ``"delay_s"``: how late each status answer comes (default 1.5 times the driver's ``timeout``).

        The answer is the state the driver reads from the printer right after the change (it asks, as before a
        ticket), so it shows the fault at once."""
        fault, on = printer_fault(self, action, FAULTS)
        delay = action.get("delay_s")
        if delay is not None and (fault != "slow_answers" or isinstance(delay, bool)
                                  or not isinstance(delay, (int, float)) or not 0 < delay <= MAX_DELAY_S):
            raise BadSimulation(f"\"delay_s\" goes with the fault slow_answers: seconds, more than 0 and at most "
                                f"{MAX_DELAY_S:g}", field="delay_s")
        if fault is None:
            self.virtual.clear()
        else:
            self.virtual.set_fault(fault, on, delay)
        self.status()
        return self.state()
