"""The voice's queue and its policy: call order, recalls merged, stale calls dropped when it backs up.

- Announcements are spoken in the order they were queued.
- A recall whose ticket and counter still have a call (or recall) waiting to be spoken merges with it: the
  customer hears it once, at the earlier place.
- When more than ``limit`` announcements wait, the oldest are dropped (and reported to the caller, who logs
  them); the newest is never dropped.

Any thread may :meth:`put`; the announcer thread alone :meth:`take` s. When the voice's driver is replaced
(a config change), :meth:`hand_over` moves what waits to the new driver's queue and forwards every later put.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from ..display.spoken import Announcement


@dataclass
class Outcome:
    """What :meth:`SpeechQueue.put` did: ``merged`` into a waiting call, and which announcements it dropped."""

    merged: bool = False
    dropped: list[Announcement] = field(default_factory=list)


class SpeechQueue:
    """A bounded, thread-safe queue of announcements."""

    def __init__(self, limit: int):
        self.limit = limit
        self._items: deque[Announcement] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._successor: SpeechQueue | None = None
        self.merged = self.dropped = 0

    def put(self, announcement: Announcement) -> Outcome:
        """Queue an announcement under the policy above (on the successor's queue once handed over)."""
        with self._cond:
            if self._successor is not None:
                return self._successor.put(announcement)
            if announcement.kind == "recall" and any(
                    a.key == announcement.key and a.kind in ("call", "recall") for a in self._items):
                self.merged += 1
                return Outcome(merged=True)
            self._items.append(announcement)
            dropped = []
            while len(self._items) > self.limit:
                dropped.append(self._items.popleft())
            self.dropped += len(dropped)
            self._cond.notify()
            return Outcome(dropped=dropped)

    def take(self, timeout: float | None = None) -> Announcement | None:
        """The oldest announcement, waiting up to ``timeout`` seconds; None when none came or closed."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items and not self._closed else None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def hand_over(self, successor: "SpeechQueue") -> None:
        """Close this queue and move what waits, in order, to ``successor``, where every later put goes too."""
        with self._cond:
            self._closed, self._successor = True, successor
            waiting, self._items = list(self._items), deque()
            for announcement in waiting:   # under our lock, so a put forwarded meanwhile comes after them
                successor.put(announcement)
            self._cond.notify_all()

    def close(self) -> None:
        """Wake the taker; nothing more is handed out."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
