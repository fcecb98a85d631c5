"""Wall-clock time and the hall's business day.

A business day starts at ``business_day.start`` in the hall's time zone, so a hall that opens at 06:00 keeps
numbering on the same day until 06:00 the next morning. Tests pass a :class:`ManualClock` to move time.
"""
from __future__ import annotations

import datetime as dt
import threading
import time


def business_day(ts: float, tz: dt.tzinfo, start: dt.time) -> str:
    """Return the business day (``YYYY-MM-DD``) that the instant ``ts`` belongs to."""
    local = dt.datetime.fromtimestamp(ts, tz)
    shifted = local - dt.timedelta(hours=start.hour, minutes=start.minute, seconds=start.second)
    return shifted.date().isoformat()


def day_began_at(ts: float, tz: dt.tzinfo, start: dt.time) -> float:
    """Return the instant the business day holding ``ts`` began."""
    day = dt.date.fromisoformat(business_day(ts, tz, start))
    return dt.datetime.combine(day, start, tzinfo=tz).timestamp()


def iso(ts: float | None, tz: dt.tzinfo) -> str | None:
    """Format an instant as ISO 8601 in the hall's time zone (seconds precision)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


class SystemClock:
    """The real time."""

    def now(self) -> float:
        """Return the current Unix time in seconds."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to; for tests and benchmarks."""

    def __init__(self, start: float):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the clock's current time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += seconds

    def set(self, ts: float) -> None:
        """Jump to an instant."""
        with self._lock:
            self._now = ts
