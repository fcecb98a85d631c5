"""Switches a technician flips on a running daemon with a signal (``systemctl kill -s SIG hall-kiosk``).

- ``SIGUSR1`` turns the device traffic log on or off: the ``kiosk.traffic`` loggers, where drivers log the
  bytes and texts they send and receive (``KIOSK_TRAFFIC_LOG=1`` turns it on at start).
- ``SIGUSR2``, only when the daemon was started with ``KIOSK_DEBUG_FAULTS=1``, makes the queue writer hang (and
  a second ``SIGUSR2`` lets it go): a real hang, used to check on site and in the tests that the health
  checks notice it and that systemd's watchdog restarts the daemon. Without that setting the signal is
  logged and ignored.
"""
from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)

TRAFFIC_LOGGER = "kiosk.traffic"


def set_traffic_log(on: bool) -> None:
    """Turn the device traffic log on (DEBUG) or off (WARNING and worse only)."""
    logging.getLogger(TRAFFIC_LOGGER).setLevel(logging.DEBUG if on else logging.WARNING)


def traffic_log_on() -> bool:
    """Tell whether the device traffic log is on."""
    return logging.getLogger(TRAFFIC_LOGGER).isEnabledFor(logging.DEBUG)


class WriterHang:
    """Holds the queue writer in an operation that waits until it is let go."""

    def __init__(self, writer):
        self.writer = writer
        self._release: threading.Event | None = None

    @property
    def active(self) -> bool:
        """True while the writer is held."""
        return self._release is not None

    def toggle(self) -> None:
        """Hang the writer, or let it go if it is held."""
        if self._release is None:
            release = threading.Event()
            try:
                self.writer.submit(lambda tx: release.wait())
            except RuntimeError as exc:  # the writer has stopped: nothing to hang
                log.warning("debug fault not applied: %s", exc)
                return
            self._release = release
            log.warning("debug fault: the queue writer now hangs (SIGUSR2 again lets it go)")
        else:
            self.release()
            log.warning("debug fault: the queue writer is let go")

    def release(self) -> None:
        """Let the writer go (also done at stop, so a clean shutdown still finishes)."""
        if self._release is not None:
            self._release.set()
            self._release = None


class Switches:
    """Installs the signal handlers of a running daemon (main thread only)."""

    def __init__(self, hall, *, debug_faults: bool):
        self.hang = WriterHang(hall.writer) if debug_faults else None

    def install(self) -> None:
        """Route SIGUSR1 and SIGUSR2 to the switches."""
        signal.signal(signal.SIGUSR1, self._on_usr1)
        signal.signal(signal.SIGUSR2, self._on_usr2)

    def release(self) -> None:
        """Undo every debug fault."""
        if self.hang is not None:
            self.hang.release()

    def _on_usr1(self, signum, frame) -> None:
        set_traffic_log(not traffic_log_on())
        log.warning("device traffic log %s", "on" if traffic_log_on() else "off")

    def _on_usr2(self, signum, frame) -> None:
        if self.hang is None:
            log.warning("SIGUSR2 ignored: debug faults are off (start with KIOSK_DEBUG_FAULTS=1 to test the watchdog)")
            return
        self.hang.toggle()
