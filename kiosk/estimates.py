"""How many people are ahead of a ticket, and how long it will probably wait.

``ahead`` is the ticket's rank in the calling order (:mod:`kiosk.selection`, the one definition of the order)
at the counter where it stands best: the fewest waiting tickets that any open counter that could call it
would call first (any counter that could call it, when none of them is open). The estimate is
``ahead x mean service time / open counters that could call it``; the mean comes from the last
``queue.service_time_window`` customers served for the ticket's service, and is
``queue.default_service_minutes`` until the hall has any (docs/queue-rules.md, "How ahead is counted").

Counting costs the same at any queue length. The store keeps the number of waiting tickets per group
(``waiting_groups``), and per group and hour and 10-second slot of issue (``waiting_counts``), all maintained
by triggers in the writer's transaction (``kiosk/store.py``). The tickets of a group below a bound are the
kept total less the few after it when the bound is near the end of the group (a new ticket); otherwise the
whole hours before the bound's hour, the whole slots of that hour before its slot (at most 360), and a count
inside that one slot on the partial index ``tickets_waiting``, from whichever end of the slot is nearer.
"""
from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Iterator

from .selection import (Group, Ticket, counters_for, green_channel_open, group_bound, group_of, order_key,
                        paused_counters)
from .settings import HallConfig
from .store import WAITING_WIDTHS

HOUR, SLOT = WAITING_WIDTHS  # the widths of the kept counts, in seconds (an hour holds whole slots)
RECENT = 32  # a bound with fewer tickets than this after it is counted from the end of its group

_GROUPS = "SELECT service, priority, target, n FROM waiting_groups"
_KEPT = "SELECT total(n) FROM waiting_counts WHERE service = :service AND priority = :priority AND target = :target"
_SUMS = (f"SELECT ({_KEPT} AND width = {HOUR} AND bucket < :hour), "
         f"({_KEPT} AND width = {SLOT} AND bucket >= :first AND bucket < :slot), "
         f"({_KEPT} AND width = {SLOT} AND bucket = :slot)")
_IN_GROUP = "status = 'waiting' AND service = ? AND priority = ? AND target_counter IS ?"
_AFTER = f"SELECT count(*) FROM (SELECT 1 FROM tickets WHERE {_IN_GROUP} AND (issued_at, id) >= (?, ?) LIMIT ?)"
_AFTER_IN_SLOT = (f"SELECT count(*) FROM (SELECT 1 FROM tickets WHERE {_IN_GROUP} AND (issued_at, id) >= (?, ?) "
                  "AND issued_at < ? LIMIT ?)")
_BEFORE_IN_SLOT = (f"SELECT count(*) FROM tickets WHERE {_IN_GROUP} AND issued_at >= ? AND issued_at <= ? "
                   "AND (issued_at, id) < (?, ?)")


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Read the counts of one moment: a read transaction, unless the caller (the writer) is in one."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _waiting_groups(conn: sqlite3.Connection) -> dict[Group, int]:
    cur = conn.cursor()
    cur.row_factory = None
    return {Group(s, p, t or None): n for s, p, t, n in cur.execute(_GROUPS) if n > 0}


def _count_below(conn: sqlite3.Connection, group: Group, total: int, at: float, ticket_id: float) -> int:
    """Count the waiting tickets of ``group`` whose ``(issued_at, id)`` is below ``(at, ticket_id)``."""
    if at == math.inf:
        return total
    where = (group.service, group.priority, group.target)
    after = conn.execute(_AFTER, (*where, at, ticket_id, RECENT)).fetchone()[0]
    if after < RECENT:
        return total - after
    hour, slot = int(at) // HOUR, int(at) // SLOT  # the buckets of kiosk/store.py: whole seconds // width
    kept = {"service": group.service, "priority": group.priority, "target": group.target or 0, "hour": hour,
            "first": hour * HOUR // SLOT, "slot": slot}
    hours, slots, inside = (int(v) for v in conn.execute(_SUMS, kept).fetchone())
    if inside == 0:
        return hours + slots
    half = inside // 2 + 1
    after = conn.execute(_AFTER_IN_SLOT, (*where, at, ticket_id, (slot + 1) * SLOT, half)).fetchone()[0]
    if after < half:
        return hours + slots + inside - after
    return hours + slots + conn.execute(_BEFORE_IN_SLOT, (*where, slot * SLOT, at, at, ticket_id)).fetchone()[0]


def place(conn: sqlite3.Connection, cfg: HallConfig, ticket: Ticket) -> tuple[int, int]:
    """Return ``(ahead, open counters that could call it)`` for a waiting ticket (``id``, ``service``,
    ``priority``, ``issued_at``, ``target_counter``)."""
    with _snapshot(conn):
        paused = paused_counters(conn)
        green = green_channel_open(conn, cfg, paused)
        counters = counters_for(cfg, green, group_of(ticket))
        open_ = [cid for cid in counters if cid not in paused]
        key = order_key(cfg, ticket["priority"], ticket["issued_at"], ticket["id"])
        ranks = dict.fromkeys(open_ or counters, 0)
        for group, total in _waiting_groups(conn).items():
            callers = [cid for cid in counters_for(cfg, green, group) if cid in ranks]
            if not callers:
                continue
            bound = group_bound(cfg, group, key)
            below = total if bound is True else 0 if bound is False else _count_below(conn, group, total, *bound)
            for cid in callers:
                ranks[cid] += below
    return min(ranks.values(), default=0), len(open_)


def ahead_of(conn: sqlite3.Connection, cfg: HallConfig, ticket: Ticket) -> int:
    """Return how many waiting tickets will be called before this waiting ticket (see the module doc)."""
    return place(conn, cfg, ticket)[0]


def mean_service_seconds(conn: sqlite3.Connection, cfg: HallConfig, service: str) -> float:
    """Return the mean time from call to finish of the service's recent customers (or the default)."""
    window = cfg.data["queue"]["service_time_window"]
    row = conn.execute(
        "SELECT avg(finished_at - called_at), count(*) FROM (SELECT finished_at, called_at FROM tickets "
        "WHERE status = 'served' AND service = ? AND called_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?)",
        (service, window)).fetchone()
    if row[1] == 0 or row[0] is None:
        return cfg.data["queue"]["default_service_minutes"] * 60
    return max(float(row[0]), 1.0)


def estimated_wait(conn: sqlite3.Connection, cfg: HallConfig, service: str, ahead: int, counters: int) -> int:
    """Return the estimated wait in whole seconds for a ticket of ``service`` with ``ahead`` people before it
    and ``counters`` open counters that could call it (at least one is assumed)."""
    if ahead == 0:
        return 0
    mean = mean_service_seconds(conn, cfg, service)
    return int(round(ahead * mean / max(counters, 1)))


def ticket_estimate(conn: sqlite3.Connection, cfg: HallConfig, ticket: Ticket) -> tuple[int, int]:
    """Return ``(ahead, estimated_wait_s)`` for a waiting ticket."""
    with _snapshot(conn):
        ahead, counters = place(conn, cfg, ticket)
        return ahead, estimated_wait(conn, cfg, ticket["service"], ahead, counters)


def services_overview(conn: sqlite3.Connection, cfg: HallConfig) -> list[dict]:
    """Return each service with its waiting count and the estimated wait of a normal ticket taken now (one
    issued after every waiting ticket)."""
    out = []
    with _snapshot(conn):
        waiting = _waiting_groups(conn)
        for sid, svc in cfg.services.items():
            new = {"id": math.inf, "service": sid, "priority": "normal", "issued_at": math.inf,
                   "target_counter": None}
            _, wait = ticket_estimate(conn, cfg, new)
            out.append({"id": sid, "name": svc["name"], "name_en": svc["name_en"], "prefix": svc["prefix"],
                        "waiting": sum(n for g, n in waiting.items() if g.service == sid),
                        "estimated_wait_s": wait})
    return out
