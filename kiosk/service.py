"""Running under a service manager: ``READY=1`` once the hall serves, the watchdog loop, ``STOPPING=1`` on a
stop, and the signal switches. Without systemd (``make run``) only the switches do anything."""
from __future__ import annotations

import logging
import threading
from typing import Mapping

from .notify import Notifier, watchdog_interval
from .switches import Switches
from .watchdog import Watchdog, loopback_url

log = logging.getLogger(__name__)


class Supervision:
    """What the daemon tells systemd, and when."""

    def __init__(self, hall, *, debug_faults: bool = False, env: Mapping[str, str] | None = None):
        self.notifier = Notifier(env)
        self.period = watchdog_interval(env)
        self.switches = Switches(hall, debug_faults=debug_faults)
        self.watchdog: Watchdog | None = None

    @property
    def probe_timeout(self) -> float:
        """How long one health probe may wait: short enough that a whole check fits in a watchdog round."""
        return max(0.1, min(2.0, self.period / 8)) if self.period else 2.0

    def start(self, server) -> None:
        """Call once the database is open and the server listens: install the switches, start the watchdog
        loop, hook the stop, and send ``READY=1``."""
        if threading.current_thread() is threading.main_thread():
            self.switches.install()
        if self.period:
            self.watchdog = Watchdog(self.notifier, loopback_url(server.host, server.port), self.period)
            self.watchdog.start()
            log.info("systemd watchdog every %.1f s; health checked every %.1f s", self.period,
                     self.watchdog.interval)
        server.on_stopping.append(self.stopping)
        self.notifier.notify(READY=1, STATUS=f"serving at {server.url}")

    def stopping(self) -> None:
        """Tell systemd the stop has begun, end the watchdog loop and undo debug faults (so the writer can
        finish its queue)."""
        self.notifier.notify(STOPPING=1, STATUS="stopping: finishing queued work and closing the database")
        if self.watchdog is not None:
            self.watchdog.stop()
        self.switches.release()
