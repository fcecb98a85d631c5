"""Telling systemd how the daemon is doing: the ``sd_notify`` protocol, in a few lines.

systemd passes ``NOTIFY_SOCKET`` (a filesystem path, or ``@name`` for the abstract namespace) to a
``Type=notify`` service; each notification is one datagram of ``KEY=VALUE`` lines (``READY=1``,
``WATCHDOG=1``, ``STOPPING=1``, ``STATUS=...``). ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``, when set) say whether
the watchdog is on for this process and how often systemd expects to hear from it. Without ``NOTIFY_SOCKET``
(``make run``, a terminal) every call is a no-op. Why a sender of our own and not a package: see
docs/operations.md ("The notify sender").
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Mapping

log = logging.getLogger(__name__)


def socket_address(value: str) -> str | bytes:
    """Turn ``NOTIFY_SOCKET`` into an address for ``sendto``: ``@name`` is the abstract name ``\\0name``."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_interval(env: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Return the watchdog period in seconds that systemd set for this process, or None when it is off."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 1_000_000


class Notifier:
    """Sends notifications to the service manager, if there is one; never raises."""

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        value = env.get("NOTIFY_SOCKET", "")
        self.address = socket_address(value) if value else None
        self._sock: socket.socket | None = None
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)

    @property
    def enabled(self) -> bool:
        """True when a service manager listens."""
        return self._sock is not None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` lines (``notify(READY=1, STATUS="serving")``); True if the datagram went out."""
        if self._sock is None:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            self._sock.sendto(message, self.address)
        except OSError as exc:  # the manager went away or its queue is full: not a reason to stop the hall
            log.warning("could not notify the service manager (%s): %s", fields, exc)
            return False
        return True

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
