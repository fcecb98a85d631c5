"""Ticket life-cycle operations that are not a counter's: issue, printed, void and the business-day roll-over.

Each function runs on the writer (``op(tx, ...)``) inside one transaction with its event row.
"""
from __future__ import annotations

import datetime as dt
import logging
import sqlite3

from . import roster
from .clock import business_day
from .errors import BadRequest, Conflict, NotFound
from .event_types import EventType
from .settings import HallConfig
from .writer import Tx

log = logging.getLogger(__name__)

PRIORITIES = ("normal", "starlight", "vip")

# Never wraps: after 999 comes 1000, so no number is issued twice in a business day (docs/queue-rules.md).
_NEXT_NUMBER = ("INSERT INTO number_seq (prefix, business_day, last) VALUES (?, ?, 1) "
                "ON CONFLICT (prefix, business_day) DO UPDATE SET last = last + 1 RETURNING last")
NOT_PRINTED = "the hall stopped before the ticket was printed"


def local_date(ts: float, cfg: HallConfig) -> dt.date:
    """Return the calendar date in the hall's time zone."""
    return dt.datetime.fromtimestamp(ts, cfg.tz).date()


def issue(tx: Tx, cfg: HallConfig, service_id: str, priority: str = "normal",
          agent_code: str | None = None, source: str = "kiosk", paper: bool = False) -> int:
    """Issue a ticket and return its id.

    The number is the service's prefix (the VIP series for VIP tickets) and the next number of this business
    day, at least three digits (A001 … A999, then A1000: it never wraps). A Starlight ticket needs a valid
    roster entry. ``paper``: the ticket is about to be printed, and holds nobody until its ``printed`` event
    is stored (see :func:`void_unprinted`).
    """
    service = cfg.service(service_id)
    if priority not in PRIORITIES:
        raise BadRequest(f"priority must be one of {', '.join(PRIORITIES)}.", code="bad_priority")
    if priority == "starlight":
        roster.check_agent(tx.conn, agent_code, local_date(tx.now, cfg))
    elif agent_code is not None:
        raise BadRequest("agent_code is only used with Starlight tickets.", code="unexpected_agent_code")
    day = business_day(tx.now, cfg.tz, cfg.day_start)
    prefix = cfg.vip_prefix if priority == "vip" else service["prefix"]
    seq = tx.one(_NEXT_NUMBER, (prefix, day))[0]
    number = f"{prefix}{seq:03d}"
    cur = tx.execute(
        "INSERT INTO tickets (number, prefix, seq, business_day, service, priority, agent_code, source, "
        "status, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?)",
        (number, prefix, seq, day, service_id, priority, agent_code, source, tx.now))
    extra = {"paper": True} if paper else {}
    tx.emit(EventType.ISSUED, ticket_id=cur.lastrowid, number=number, service=service_id, priority=priority,
            **extra)
    return cur.lastrowid


def printed(tx: Tx, ticket_id: int) -> None:
    """Record that the printer confirmed a ticket's paper: from now on a customer holds it."""
    tx.emit(EventType.PRINTED, ticket_id=ticket_id)


def void_unprinted(tx: Tx) -> list[str]:
    """At start: void every open ticket that was to be printed but whose printing was never confirmed (the
    hall stopped between the commit and the printer's answer), since nobody holds it. Returns their numbers.

    Tickets issued without a printer (no ``paper`` in their ``issued`` event) are left alone."""
    rows = tx.execute(
        "SELECT t.id, t.number FROM tickets t JOIN events e ON e.ticket_id = t.id "
        f"AND e.type = '{EventType.ISSUED}' "
        "WHERE t.status IN ('waiting', 'called') AND json_extract(e.data, '$.paper') = 1 "
        f"AND NOT EXISTS (SELECT 1 FROM events p WHERE p.ticket_id = t.id AND p.type = '{EventType.PRINTED}') "
        "ORDER BY t.id").fetchall()
    for row in rows:
        void(tx, row["id"], NOT_PRINTED)
    return [row["number"] for row in rows]


def void(tx: Tx, ticket_id: int, reason: str) -> None:
    """End a ticket whose paper could not be printed as ``void``.

    It may already have been called in the moment between issue and the print failure; it is voided all the
    same (the counter's board then clears), since nobody holds that ticket.
    """
    row = tx.one("UPDATE tickets SET status = 'void', finished_at = ? WHERE id = ? "
                 "AND status IN ('waiting', 'called') RETURNING number, service, counter", (tx.now, ticket_id))
    if row is None:
        raise Conflict(f"Ticket {ticket_id} has already ended and cannot be voided.", code="ticket_ended")
    tx.emit(EventType.VOID, ticket_id=ticket_id, counter=row["counter"], number=row["number"],
            service=row["service"], reason=reason)


def expire_before(tx: Tx, today: str) -> int:
    """Expire every ticket still waiting or called from a business day before ``today``; return how many."""
    rows = tx.execute(
        "UPDATE tickets SET status = 'expired', finished_at = ? "
        "WHERE status IN ('waiting', 'called') AND business_day < ? RETURNING id, number, service, counter",
        (tx.now, today)).fetchall()
    for row in rows:
        tx.emit(EventType.EXPIRED, ticket_id=row["id"], counter=row["counter"], number=row["number"],
                service=row["service"])
    tx.execute("INSERT INTO meta (key, value) VALUES ('business_day', ?) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (today,))
    tx.emit(EventType.DAY_STARTED, day=today, expired=len(rows))  # screens clear yesterday's calls on this
    if rows:
        log.info("business day %s began: %d tickets from earlier days expired", today, len(rows))
    return len(rows)


def get_row(conn: sqlite3.Connection, ticket_id: int) -> sqlite3.Row:
    """Return a ticket's row or raise NotFound."""
    if not -2 ** 63 <= ticket_id < 2 ** 63:  # beyond any SQLite integer, so no such ticket
        raise NotFound(f"There is no ticket {ticket_id}.", code="unknown_ticket")
    row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no ticket {ticket_id}.", code="unknown_ticket")
    return row
