"""The hall's own health checks: is the queue writer answering, is the event fan-out moving, which devices fail.

``GET /health`` (and ``/api/v1/health``) answer with :meth:`Health.check`; the watchdog loop
(:mod:`kiosk.watchdog`) asks that URL over loopback, so one answer also proves that the API answers.

The answer's ``status`` is one of three:

* ``ok`` (200) — everything works;
* ``degraded`` (200) — the hall serves, but something needs a technician: each problem is named in
  ``problems`` (a device offline or out of paper, a voice that speaks only through its ``espeak-ng -w``
  fallback, the data directory's disk full, and so on). A restart would not help (it does not load paper or
  free space), so the watchdog goes on being fed;
* ``unhealthy`` (503) — the queue writer or the event fan-out does not move; a restart can help them.

Devices are judged from their last known state (``Device.state()`` never waits for a device), so a silent
printer with a long timeout cannot hold up the answer or starve the watchdog.
"""
from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout

from . import storage
from .errors import StorageFull

log = logging.getLogger(__name__)


def _probe_writer(tx) -> None:
    """An empty change: the writer runs it (and its start-of-batch checks) like any other."""


def device_problem(state: dict) -> str | None:
    """Say in words what is wrong with a device from its ``state()`` dict (None when nothing is)."""
    name = state.get("name", "?")
    if "status_age_s" in state and state["status_age_s"] is None:
        return f"device {name} has not answered yet"
    if not state.get("online", True):
        return f"device {name} is offline"
    if state.get("paper") == "out":
        return f"device {name} is out of paper"
    if state.get("cover_open"):
        return f"device {name} has its cover open"
    if state.get("degraded"):   # it works, on a fallback (the voice: drivers/espeak_speech.py)
        return f"device {name} is degraded: {state['degraded']}"
    return None


class Health:
    """Runs the checks of one hall; each probe waits at most ``probe_timeout`` seconds."""

    def __init__(self, hall, probe_timeout: float = 2.0, max_streams: int | None = None):
        self.hall = hall
        self.probe_timeout = probe_timeout
        self.max_streams = max_streams

    def writer_ok(self) -> tuple[bool, str | None]:
        """The writer thread runs and commits an empty change in time."""
        writer = self.hall.writer
        if not writer.alive():
            return False, "the queue writer thread has stopped"
        try:
            # While writes fail for lack of space, the probe writes one row, so health sees space return.
            future = writer.submit(storage.probe if writer.storage_full else _probe_writer)
            future.result(self.probe_timeout)
        except StorageFull:
            pass  # the writer answered; the disk is full (reported by the storage part)
        except FutureTimeout:
            future.cancel()
            return False, f"the queue writer did not answer within {self.probe_timeout:g} s (hung or overloaded)"
        except Exception as exc:  # e.g. the disk is full or the database went read-only
            return False, f"the queue writer failed: {exc}"
        return True, None

    def events_ok(self) -> tuple[bool, str | None]:
        """The fan-out thread runs and gets through its inbox in time."""
        bus = self.hall.bus
        if not bus.alive():
            return False, "the event fan-out thread has stopped"
        if not bus.ping(self.probe_timeout):
            return False, (f"the event fan-out did not move within {self.probe_timeout:g} s "
                           f"({bus.pending} batches waiting)")
        return True, None

    def check(self) -> dict:
        """Run every check; return the body of ``GET /health``."""
        parts, problems = {}, []
        for name, probe in (("writer", self.writer_ok), ("events", self.events_ok)):
            ok, problem = probe()
            parts[name] = ok
            if problem:
                problems.append(problem)
        disk = storage.state(self.hall.data_dir, self.hall.writer.storage_full)
        full = storage.problem(disk)
        if full:
            problems.append(full)
        states = self.hall.devices.states()
        problems += [p for p in map(device_problem, states) if p]
        streams = {"open": self.hall.bus.stream_count(), "limit": self.max_streams}
        if self.max_streams is not None and streams["open"] >= self.max_streams:
            problems.append(f"all {self.max_streams} event-stream places are taken: a screen that connects now "
                            "is refused (503 too_many_streams)")
        status = "unhealthy" if not all(parts.values()) else ("degraded" if problems else "ok")
        return {"status": status, "parts": parts, "storage": disk,
                "devices_online": {s["name"]: s["online"] for s in states}, "streams": streams,
                "problems": problems}
