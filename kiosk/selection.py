"""The calling order: which waiting tickets each counter calls, and in what order — defined here, once.

Every waiting ticket belongs to one *group*: its (service, priority, target counter). The order is two rules
(docs/queue-rules.md, "Who is called next"):

* **Which groups a counter may call** — :func:`may_call`. A ticket sent to a named counter only by that
  counter. While the green channel is open (a green-channel counter configured and not paused), VIP tickets
  only by green-channel counters, whatever their service (or by the counter they were sent to); otherwise a
  counter calls the services it lists.
* **Where a ticket stands** — :func:`standing` gives each priority a *tier* and a time *credit*; a ticket's
  key is ``(tier, issued_at - credit, id)`` (:func:`order_key`) and the lowest key is called first. VIP tier
  0; Starlight and normal tier 1, Starlight with ``starlight_credit_minutes`` of credit; with ``"strict"``
  normal tickets are tier 2 and nobody has credit.

Everything else is derived from these two, and nothing else restates them:

* :func:`call_order` (a counter's list) merges the groups the counter may call by key. Inside one group the
  key grows with ``(issued_at, id)``, the order the partial index ``tickets_waiting`` keeps, so each group is
  read in order with ``LIMIT n`` and the cost does not grow with the length of the queue;
* :func:`pick_next` (``next``) is the first of :func:`call_order`;
* :func:`counters_for` (the counters that could call a ticket: ``call``'s check, the estimate's divisor) asks
  :func:`may_call`;
* :func:`kiosk.estimates.ahead_of` counts, per group, the tickets whose key is below the ticket's
  (:func:`group_bound` turns a key into a bound inside one group).

**A new rule (appointments, reinstated no-shows, elderly first) changes this module only**: a new kind of
ticket is a priority with its tier and credit in :func:`standing`, a new restriction is a condition in
:func:`may_call`. The one thing such a rule must keep is the order inside a group, ``(issued_at, id)``: a rule
that orders a group's tickets by something else (an appointment time, say) makes that value part of the
group or of the ticket's ``issued_at``, so that the index ``tickets_waiting`` and the counts ``waiting_counts``
(``kiosk/store.py``) keep following the order. ``tests/test_calling_order_property.py`` checks that ``next``,
:func:`call_order` and ``ahead`` agree over random queues and configs.
"""
from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections.abc import Mapping
from typing import Any, NamedTuple

from .settings import HallConfig

PRIORITIES = ("vip", "starlight", "normal")

Ticket = sqlite3.Row | Mapping[str, Any]  # a ticket's row, or the same keys in a dict


class Group(NamedTuple):
    """The waiting tickets of one service, priority and target counter (None: any counter)."""

    service: str
    priority: str
    target: int | None


def group_of(ticket: Ticket) -> Group:
    """Return the group of a ticket row (``service``, ``priority``, ``target_counter``)."""
    return Group(ticket["service"], ticket["priority"], ticket["target_counter"])


def standing(cfg: HallConfig, priority: str) -> tuple[int, float]:
    """Return a priority's tier and time credit in seconds: its tickets' key is ``(tier, issued_at - credit,
    id)``, and the lowest key is called first."""
    if priority == "vip":
        return 0, 0.0
    if priority == "starlight":
        return 1, (0.0 if cfg.strict else float(cfg.credit_s))
    return (2 if cfg.strict else 1), 0.0


def order_key(cfg: HallConfig, priority: str, issued_at: float, ticket_id: float) -> tuple[int, float, float]:
    """Return a ticket's place in the order of every counter that may call it (lowest first)."""
    tier, credit = standing(cfg, priority)
    return tier, issued_at - credit, ticket_id


def group_bound(cfg: HallConfig, group: Group, key: tuple[int, float, float]) -> bool | tuple[float, float]:
    """Which tickets of ``group`` have a key below ``key``: True (all), False (none), or those whose
    ``(issued_at, id)`` is below the returned pair.

    Timestamps of this era are doubles of at least 2**30, and credits whole seconds, so ``issued_at - credit``
    and back are exact: the pair is exactly the bound the key sets."""
    tier, credit = standing(cfg, group.priority)
    if tier != key[0]:
        return tier < key[0]
    return key[1] + credit, key[2]


def may_call(cfg: HallConfig, counter_id: int, green_open: bool, group: Group) -> bool:
    """Tell whether counter ``counter_id`` may call the tickets of ``group``."""
    counter = cfg.counters[counter_id]
    if group.target not in (None, counter_id):
        return False
    if group.priority == "vip" and green_open:
        return bool(counter["green_channel"]) or (group.target == counter_id
                                                  and group.service in counter["services"])
    return group.service in counter["services"]


def counters_for(cfg: HallConfig, green_open: bool, group: Group) -> tuple[int, ...]:
    """Return the configured counters that may call the tickets of ``group`` (paused ones included)."""
    return tuple(cid for cid in cfg.counters if may_call(cfg, cid, green_open, group))


def groups_of(cfg: HallConfig, counter_id: int, green_open: bool) -> list[Group]:
    """Return every group counter ``counter_id`` may call."""
    candidates = (Group(s, p, t) for s in cfg.services for p in PRIORITIES for t in (None, counter_id))
    return [g for g in candidates if may_call(cfg, counter_id, green_open, g)]


def green_channel_open(conn: sqlite3.Connection, cfg: HallConfig, paused: set[int] | None = None) -> bool:
    """Tell whether at least one green-channel counter is open (configured and not paused); ``paused`` is the
    set of paused counters when the caller has read it already."""
    green = [cid for cid, c in cfg.counters.items() if c["green_channel"]]
    if not green:
        return False
    if paused is None:
        paused = paused_counters(conn)
    return any(cid not in paused for cid in green)


def paused_counters(conn: sqlite3.Connection) -> set[int]:
    """Return the ids of paused counters."""
    return {row[0] for row in conn.execute("SELECT id FROM counter_state WHERE paused = 1")}


_GROUP_QUEUE = ("SELECT id, number, service, priority, issued_at, target_counter FROM tickets "
                "WHERE status = 'waiting' AND service = ? AND priority = ? AND target_counter IS ? "
                "ORDER BY issued_at, id LIMIT ?")


def call_order(conn: sqlite3.Connection, cfg: HallConfig, counter_id: int,
               limit: int | None = 50) -> list[sqlite3.Row]:
    """Return the waiting tickets counter ``counter_id`` would call, in the order it calls them (the first
    ``limit``, or all with None); the order holds as long as nothing else changes in the hall."""
    green = green_channel_open(conn, cfg)
    n = -1 if limit is None else limit
    queues = [conn.execute(_GROUP_QUEUE, (*g, n)).fetchall() for g in groups_of(cfg, counter_id, green)]
    merged = heapq.merge(*queues, key=lambda r: order_key(cfg, r["priority"], r["issued_at"], r["id"]))
    return list(itertools.islice(merged, limit))


def pick_next(conn: sqlite3.Connection, cfg: HallConfig, counter_id: int) -> int | None:
    """Return the id of the ticket counter ``counter_id`` should call next, or None when nobody waits."""
    first = call_order(conn, cfg, counter_id, limit=1)
    return first[0]["id"] if first else None
