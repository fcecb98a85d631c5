"""What a clerk does at a counter: next, call, recall, no-show, finish, transfer, pause and resume.

Each function runs on the writer (``op(tx, cfg, counter_id, ...)``) as one transaction with its event rows, so
two counters never get the same ticket and each ticket reaches exactly one final state.
"""
from __future__ import annotations

import sqlite3

from .errors import Conflict
from .event_types import EventType
from .selection import green_channel_open, group_of, may_call, pick_next
from .settings import HallConfig
from .tickets import get_row
from .writer import Tx


def current(conn: sqlite3.Connection, counter_id: int) -> sqlite3.Row | None:
    """Return the ticket a counter is serving now (status ``called``), or None."""
    return conn.execute("SELECT * FROM tickets WHERE status = 'called' AND counter = ?", (counter_id,)).fetchone()


def is_paused(conn: sqlite3.Connection, counter_id: int) -> bool:
    """Tell whether a counter is paused."""
    row = conn.execute("SELECT paused FROM counter_state WHERE id = ?", (counter_id,)).fetchone()
    return bool(row and row[0])


def _require_current(tx: Tx, counter_id: int) -> sqlite3.Row:
    row = current(tx.conn, counter_id)
    if row is None:
        raise Conflict(f"Counter {counter_id} is not serving a ticket now.", code="no_current_ticket")
    return row


def _require_open(tx: Tx, counter_id: int) -> None:
    if is_paused(tx.conn, counter_id):
        raise Conflict(f"Counter {counter_id} is paused; resume it before calling.", code="counter_paused")


def _end(tx: Tx, row: sqlite3.Row, status: EventType) -> None:
    """End the called ticket ``row`` with the final status of the same name as its event (served, no_show)."""
    tx.execute("UPDATE tickets SET status = ?, finished_at = ? WHERE id = ? AND status = 'called'",
               (status.value, tx.now, row["id"]))
    tx.emit(status, ticket_id=row["id"], counter=row["counter"], number=row["number"], service=row["service"])


def _claim(tx: Tx, counter_id: int, ticket_id: int) -> int:
    row = tx.one("UPDATE tickets SET status = 'called', counter = ?, called_at = ? "
                 "WHERE id = ? AND status = 'waiting' RETURNING number, service, priority",
                 (counter_id, tx.now, ticket_id))
    if row is None:
        raise Conflict(f"Ticket {ticket_id} is no longer waiting.", code="ticket_not_waiting")
    tx.emit(EventType.CALLED, ticket_id=ticket_id, counter=counter_id, number=row["number"],
            service=row["service"], priority=row["priority"])
    return ticket_id


def next_ticket(tx: Tx, cfg: HallConfig, counter_id: int) -> int | None:
    """Finish the counter's current ticket as served and call the next; return its id or None."""
    cfg.counter(counter_id)
    _require_open(tx, counter_id)
    row = current(tx.conn, counter_id)
    if row is not None:
        _end(tx, row, EventType.SERVED)
    ticket_id = pick_next(tx.conn, cfg, counter_id)
    return None if ticket_id is None else _claim(tx, counter_id, ticket_id)


def _not_yours(counter: dict, counter_id: int, ticket: sqlite3.Row) -> Conflict:
    """Say why a counter may not call a ticket (the decision is :func:`kiosk.selection.may_call`'s)."""
    if ticket["target_counter"] not in (None, counter_id):
        return Conflict(f"Ticket {ticket['number']} was sent to counter {ticket['target_counter']}.",
                        code="ticket_sent_elsewhere")
    if ticket["priority"] == "vip" and ticket["service"] in counter["services"]:
        return Conflict(f"Ticket {ticket['number']} is a VIP ticket; the green channel calls it.",
                        code="vip_for_green_channel")
    return Conflict(f"Counter {counter_id} does not serve {ticket['service']!r}.", code="service_not_served")


def call_ticket(tx: Tx, cfg: HallConfig, counter_id: int, ticket_id: int) -> int:
    """Call one named waiting ticket (finishing the current one as served)."""
    counter = cfg.counter(counter_id)
    _require_open(tx, counter_id)
    ticket = get_row(tx.conn, ticket_id)
    if ticket["status"] != "waiting":
        raise Conflict(f"Ticket {ticket['number']} is {ticket['status']}, not waiting.", code="ticket_not_waiting")
    if not may_call(cfg, counter_id, green_channel_open(tx.conn, cfg), group_of(ticket)):
        raise _not_yours(counter, counter_id, ticket)
    row = current(tx.conn, counter_id)
    if row is not None:
        _end(tx, row, EventType.SERVED)
    return _claim(tx, counter_id, ticket_id)


def recall(tx: Tx, cfg: HallConfig, counter_id: int) -> int:
    """Call the current ticket again (counted); return its id."""
    cfg.counter(counter_id)
    row = _require_current(tx, counter_id)
    tx.execute("UPDATE tickets SET recalls = recalls + 1 WHERE id = ?", (row["id"],))
    tx.emit(EventType.RECALLED, ticket_id=row["id"], counter=counter_id, number=row["number"],
            service=row["service"], priority=row["priority"], recalls=row["recalls"] + 1)
    return row["id"]


def no_show(tx: Tx, cfg: HallConfig, counter_id: int) -> int:
    """End the current ticket as a no-show; return its id."""
    cfg.counter(counter_id)
    row = _require_current(tx, counter_id)
    _end(tx, row, EventType.NO_SHOW)
    return row["id"]


def finish(tx: Tx, cfg: HallConfig, counter_id: int) -> int:
    """End the current ticket as served; return its id."""
    cfg.counter(counter_id)
    row = _require_current(tx, counter_id)
    _end(tx, row, EventType.SERVED)
    return row["id"]


def transfer(tx: Tx, cfg: HallConfig, counter_id: int, service_id: str, target: int | None = None) -> int:
    """Send the current ticket back to waiting for another service (and optionally one counter).

    The ticket keeps its ``issued_at``, so the customer does not go to the back of the queue.
    """
    cfg.counter(counter_id)
    cfg.service(service_id)
    if target is not None:
        target_counter = cfg.counter(target)
        if service_id not in target_counter["services"]:
            raise Conflict(f"Counter {target} does not serve {service_id!r}.", code="service_not_served")
    row = _require_current(tx, counter_id)
    tx.execute("UPDATE tickets SET status = 'waiting', service = ?, target_counter = ?, counter = NULL, "
               "called_at = NULL WHERE id = ?", (service_id, target, row["id"]))
    tx.emit(EventType.TRANSFERRED, ticket_id=row["id"], counter=counter_id, number=row["number"],
            service=service_id, from_service=row["service"], to_counter=target)
    return row["id"]


def set_paused(tx: Tx, cfg: HallConfig, counter_id: int, paused: bool) -> None:
    """Pause or resume a counter; a paused counter calls nobody and does not count as open."""
    cfg.counter(counter_id)
    if is_paused(tx.conn, counter_id) == paused:
        return
    tx.execute("INSERT INTO counter_state (id, paused, updated_at) VALUES (?, ?, ?) "
               "ON CONFLICT (id) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at",
               (counter_id, int(paused), tx.now))
    tx.emit(EventType.PAUSED if paused else EventType.RESUMED, counter=counter_id)

