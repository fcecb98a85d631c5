"""The watchdog loop: ``WATCHDOG=1`` to systemd only while the hall's own health checks pass.

Every half watchdog period the loop asks the daemon's own ``GET /health`` over loopback. A 200 answer means
that the API answered and the queue writer and the event fan-out moved (:mod:`kiosk.health`), and only then is
``WATCHDOG=1`` sent. Otherwise the loop sends a ``STATUS=`` line that says what failed (``systemctl status``
shows it) and no ``WATCHDOG=1``; if that lasts a whole period, systemd kills the daemon and restarts it.
"""
from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request

from .notify import Notifier

log = logging.getLogger(__name__)


def loopback_url(host: str, port: int) -> str:
    """The URL of the daemon's own ``/health`` as seen from the daemon (wildcard addresses -> loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/health"


def ask_health(url: str, timeout: float) -> tuple[bool, str]:
    """GET the health URL; return (healthy, a one-line summary for ``STATUS=``)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = json.load(resp)
            return True, "; ".join(body.get("problems") or []) or "all checks pass"
    except urllib.error.HTTPError as exc:  # 503: the body says which part
        try:
            body = json.load(exc)
            return False, "; ".join(body.get("problems") or []) or f"health answered {exc.code}"
        except ValueError:
            return False, f"health answered {exc.code}"
    except (OSError, ValueError) as exc:  # timeout, refused: the API itself does not answer
        return False, f"the HTTP API did not answer the health check ({exc})"


class Watchdog:
    """A thread that pets systemd's watchdog while the hall is healthy."""

    def __init__(self, notifier: Notifier, url: str, period: float):
        self.notifier = notifier
        self.url = url
        self.interval = period / 2  # as sd_watchdog_enabled(3) advises
        self.timeout = self.interval * 0.75
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._healthy: bool | None = None

    def start(self) -> None:
        """Start the loop."""
        self._thread.start()

    def stop(self) -> None:
        """End the loop (before the daemon stops serving, so a stop is not taken for a hang).

        It does not wait for the thread: that may be waiting for an answer from the server that is stopping."""
        self._stop.set()

    def round(self) -> bool:
        """Run one check and notify; return whether the hall was healthy."""
        healthy, summary = ask_health(self.url, self.timeout)
        if self._stop.is_set():
            return healthy
        if healthy:
            fields = {"WATCHDOG": 1}
            if self._healthy is not True:
                fields["STATUS"] = f"serving; {summary}"
            self.notifier.notify(**fields)
        else:
            self.notifier.notify(STATUS=f"unhealthy: {summary}")
        if healthy != self._healthy:
            (log.info if healthy else log.error)("health check %s: %s%s", "passes" if healthy else "FAILS",
                                                 summary, "" if healthy else " (no WATCHDOG=1 is sent; "
                                                 "systemd restarts the hall if this lasts)")
        self._healthy = healthy
        return healthy

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.round()
