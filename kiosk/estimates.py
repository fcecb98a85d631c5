"""How many people are ahead of a ticket, and how long it will probably wait.

``ahead`` counts the waiting tickets of the same service that the rules in :mod:`kiosk.selection` call first
(VIP tickets count only while no green channel is open, since otherwise the green channel takes them).
The estimate is ``ahead x mean service time / open counters serving the service``; the mean comes from
the last ``queue.service_time_window`` customers served for that service, and is
``queue.default_service_minutes`` until the hall has any.
"""
from __future__ import annotations

import sqlite3

from .selection import green_channel_open, paused_counters
from .settings import HallConfig

_BEFORE = ("SELECT count(*) FROM tickets WHERE status = 'waiting' AND service = ? AND priority = ? "
           "AND (issued_at < ? OR (issued_at = ? AND id < ?))")
_ALL = "SELECT count(*) FROM tickets WHERE status = 'waiting' AND service = ? AND priority = ?"


def _count_before(conn, service: str, priority: str, key: float, ticket_id: int) -> int:
    return conn.execute(_BEFORE, (service, priority, key, key, ticket_id)).fetchone()[0]


def _count_all(conn, service: str, priority: str) -> int:
    return conn.execute(_ALL, (service, priority)).fetchone()[0]


def ahead_of(conn: sqlite3.Connection, cfg: HallConfig, ticket: sqlite3.Row) -> int:
    """Return how many waiting tickets will be called before this waiting ticket."""
    service, prio, issued, tid = ticket["service"], ticket["priority"], ticket["issued_at"], ticket["id"]
    green = green_channel_open(conn, cfg)
    if prio == "vip":
        if green:
            return conn.execute("SELECT count(*) FROM tickets WHERE status = 'waiting' AND priority = 'vip' "
                                "AND (issued_at < ? OR (issued_at = ? AND id < ?))", (issued, issued, tid)).fetchone()[0]
        return _count_before(conn, service, "vip", issued, tid)
    ahead = 0 if green else _count_all(conn, service, "vip")
    credit = cfg.credit_s
    if prio == "starlight":
        ahead += _count_before(conn, service, "starlight", issued, tid)
        if not cfg.strict:
            ahead += _count_before(conn, service, "normal", issued - credit, tid)
    else:
        ahead += _count_before(conn, service, "normal", issued, tid)
        if cfg.strict:
            ahead += _count_all(conn, service, "starlight")
        else:
            ahead += _count_before(conn, service, "starlight", issued + credit, tid)
    return ahead


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


def open_counters(conn: sqlite3.Connection, cfg: HallConfig, service: str, *, vip: bool = False) -> int:
    """Count the open (not paused) counters that would serve a ticket of this service."""
    paused = paused_counters(conn)
    counters = [c for cid, c in cfg.counters.items() if cid not in paused]
    if vip and any(c["green_channel"] for c in counters):
        return sum(1 for c in counters if c["green_channel"])
    return sum(1 for c in counters if service in c["services"])


def estimated_wait(conn: sqlite3.Connection, cfg: HallConfig, service: str, ahead: int, *,
                   vip: bool = False) -> int:
    """Return the estimated wait in whole seconds for a ticket with ``ahead`` people before it."""
    if ahead == 0:
        return 0
    counters = open_counters(conn, cfg, service, vip=vip)
    mean = mean_service_seconds(conn, cfg, service)
    return int(round(ahead * mean / max(counters, 1)))


def waiting_by_service(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Return waiting counts per service and priority."""
    out: dict[str, dict[str, int]] = {}
    for service, prio, n in conn.execute(
            "SELECT service, priority, count(*) FROM tickets WHERE status = 'waiting' GROUP BY service, priority"):
        out.setdefault(service, {})[prio] = n
    return out


def services_overview(conn: sqlite3.Connection, cfg: HallConfig) -> list[dict]:
    """Return each service with its waiting count and the estimated wait of a new normal ticket."""
    waiting = waiting_by_service(conn)
    green = green_channel_open(conn, cfg)
    out = []
    for sid, svc in cfg.services.items():
        counts = waiting.get(sid, {})
        total = sum(counts.values())
        ahead = total - (counts.get("vip", 0) if green else 0)
        out.append({"id": sid, "name": svc["name"], "name_en": svc["name_en"], "prefix": svc["prefix"],
                    "waiting": total, "estimated_wait_s": estimated_wait(conn, cfg, sid, ahead)})
    return out
