"""The call board: what every screen in the hall shows, read from the database.

One function builds it from the stored state (the counters' current tickets and the latest call events), so
a display that reconnects or a daemon that restarts shows exactly what the queue says, and the HTTP
``/display`` answer, the LED boards and the hall strip never disagree.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import asdict, dataclass, field

from ..event_types import CALL_TYPES, sql_list


@dataclass
class CounterView:
    """One counter as the hall sees it."""

    id: int
    name: str
    name_en: str
    status: str  # "serving", "idle" or "paused"
    number: str | None = None
    service: str | None = None
    priority: str | None = None
    called_at: str | None = None


@dataclass
class CallView:
    """One recent call or recall."""

    number: str
    counter: int
    counter_name: str
    counter_name_en: str
    type: str
    at: str
    event_id: int


@dataclass
class Board:
    """Everything the hall's screens show."""

    counters: list[CounterView] = field(default_factory=list)
    last_calls: list[CallView] = field(default_factory=list)

    @property
    def latest(self) -> CallView | None:
        """The most recent call, or None."""
        return self.last_calls[0] if self.last_calls else None

    def counter(self, counter_id: int) -> CounterView | None:
        """Return one counter's view."""
        return next((c for c in self.counters if c.id == counter_id), None)

    def to_dict(self) -> dict:
        """Return the board as JSON-ready data."""
        return {"latest": asdict(self.latest) if self.latest else None,
                "counters": [asdict(c) for c in self.counters],
                "last_calls": [asdict(c) for c in self.last_calls]}


def _iso(ts: float | None, tz: dt.tzinfo) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def load_board(conn: sqlite3.Connection, counters: dict[int, dict], tz: dt.tzinfo, last_n: int,
               since: float = 0.0) -> Board:
    """Build the board from the database for the configured ``counters``, with the calls made since ``since``
    (the start of the business day, so yesterday's calls are not shown as the latest)."""
    paused = {r[0] for r in conn.execute("SELECT id FROM counter_state WHERE paused = 1")}
    serving = {r["counter"]: r for r in conn.execute(
        "SELECT counter, number, service, priority, called_at FROM tickets WHERE status = 'called'")}
    board = Board()
    for cid, cfg in sorted(counters.items()):
        row = serving.get(cid)
        status = "paused" if cid in paused else ("serving" if row else "idle")
        view = CounterView(cid, cfg["name"], cfg["name_en"], status)
        if row is not None:
            view.number, view.service, view.priority = row["number"], row["service"], row["priority"]
            view.called_at = _iso(row["called_at"], tz)
        board.counters.append(view)
    for ev in conn.execute(f"SELECT id, at, type, counter, data FROM events WHERE type IN {sql_list(CALL_TYPES)} "
                           "AND at >= ? ORDER BY id DESC LIMIT ?", (since, last_n)):
        cfg = counters.get(ev["counter"])
        if cfg is None:
            continue
        data = json.loads(ev["data"])
        board.last_calls.append(CallView(data.get("number", "?"), ev["counter"], cfg["name"], cfg["name_en"],
                                         ev["type"], _iso(ev["at"], tz), ev["id"]))
    return board
