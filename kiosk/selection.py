"""Which waiting ticket a counter calls next: the green channel and the Starlight time credit.

The rules (docs/queue-rules.md):

* While at least one green-channel counter is open (not paused), VIP tickets are called only by green-channel
  counters, before anything else, oldest first, whatever their service. Other counters skip them.
* With no green-channel counter open, VIP tickets come first at any counter that serves their service.
* Among the other tickets a counter serves, the next is the lowest ``issued_at - credit`` (credit is
  ``starlight_credit_minutes`` for Starlight tickets, 0 for normal ones), ties by issue order. With
  ``"strict"``, Starlight tickets always come first.
* A ticket transferred to a named counter is called only by that counter.

Every look-up is a ``LIMIT 1`` on the partial index of waiting tickets, one per (service, priority, target),
so the cost does not grow with the length of the queue.
"""
from __future__ import annotations

import sqlite3

from .settings import HallConfig

_HEAD = ("SELECT id, issued_at FROM tickets WHERE status = 'waiting' AND service = ? AND priority = ? "
         "AND target_counter IS ? ORDER BY issued_at, id LIMIT 1")
_VIP_ANY = ("SELECT id, issued_at FROM tickets WHERE status = 'waiting' AND priority = 'vip' "
            "AND (target_counter IS NULL OR target_counter = ?) ORDER BY issued_at, id LIMIT 1")


def green_channel_open(conn: sqlite3.Connection, cfg: HallConfig) -> bool:
    """Tell whether at least one green-channel counter is open (configured and not paused)."""
    green = [cid for cid, c in cfg.counters.items() if c["green_channel"]]
    if not green:
        return False
    paused = paused_counters(conn)
    return any(cid not in paused for cid in green)


def paused_counters(conn: sqlite3.Connection) -> set[int]:
    """Return the ids of paused counters."""
    return {row[0] for row in conn.execute("SELECT id FROM counter_state WHERE paused = 1")}


def _heads(conn: sqlite3.Connection, services: list[str], priority: str, counter_id: int,
           *, untargeted: bool = True) -> list[tuple]:
    """Return ``(issued_at, id)`` of the oldest waiting ticket of each (service, target) this counter may call."""
    targets = (None, counter_id) if untargeted else (counter_id,)
    found = []
    for service in services:
        for target in targets:
            row = conn.execute(_HEAD, (service, priority, target)).fetchone()
            if row is not None:
                found.append((row[1], row[0]))
    return found


def pick_next(conn: sqlite3.Connection, cfg: HallConfig, counter_id: int) -> int | None:
    """Return the id of the ticket counter ``counter_id`` should call next, or None when nobody waits."""
    counter = cfg.counters[counter_id]
    services = counter["services"]
    if green_channel_open(conn, cfg):
        if counter["green_channel"]:
            row = conn.execute(_VIP_ANY, (counter_id,)).fetchone()
            if row is not None:
                return row[0]
        else:
            targeted = _heads(conn, services, "vip", counter_id, untargeted=False)
            if targeted:
                return min(targeted)[1]
    else:
        vip = _heads(conn, services, "vip", counter_id)
        if vip:
            return min(vip)[1]
    return _pick_credit_order(conn, cfg, services, counter_id)


def _pick_credit_order(conn: sqlite3.Connection, cfg: HallConfig, services: list[str],
                       counter_id: int) -> int | None:
    starlight = _heads(conn, services, "starlight", counter_id)
    if cfg.strict and starlight:
        return min(starlight)[1]
    candidates = [(issued - cfg.credit_s, tid) for issued, tid in starlight]
    candidates += _heads(conn, services, "normal", counter_id)
    if not candidates:
        return None
    return min(candidates)[1]


_WAITING_FOR = ("SELECT id, number, service, priority, issued_at, target_counter FROM tickets "
                "WHERE status = 'waiting' AND (target_counter IS NULL OR target_counter = ?)")


def call_order(conn: sqlite3.Connection, cfg: HallConfig, counter_id: int, limit: int = 50) -> list[sqlite3.Row]:
    """Return the waiting tickets counter ``counter_id`` would call, in the order :func:`pick_next` calls them.

    The same rules as :func:`pick_next`, applied to the whole list at once (for the counter's screen); the
    order holds as long as nothing else changes in the hall."""
    counter = cfg.counters[counter_id]
    services = set(counter["services"])
    green_open = green_channel_open(conn, cfg)
    vips, others = [], []
    for row in conn.execute(_WAITING_FOR, (counter_id,)):
        if row["priority"] == "vip":
            if green_open and counter["green_channel"]:
                vips.append(row)
            elif row["service"] in services and (not green_open or row["target_counter"] == counter_id):
                vips.append(row)
        elif row["service"] in services:
            others.append(row)
    vips.sort(key=lambda r: (r["issued_at"], r["id"]))

    def credit_key(r):
        starlight = r["priority"] == "starlight"
        if cfg.strict:
            return (0 if starlight else 1, r["issued_at"], r["id"])
        return (0, r["issued_at"] - (cfg.credit_s if starlight else 0), r["id"])
    others.sort(key=credit_key)
    return (vips + others)[:limit]
