"""Every type of event the hall stores, and the classes that decide where each one goes: the one definition.

An event row's ``type`` column holds the member's value (a plain string, so rows stored before this module keep
their meaning). Each type is either :attr:`EventClass.PUBLIC` (sent on the event streams, listed in
``openapi.yaml``) or :attr:`EventClass.PRIVATE` (kept in the database only: the ledger and the reports read it),
and may belong to any of the other classes. The lists the rest of the code reads (:data:`PUBLIC_TYPES`,
:data:`BOARD_TYPES`, ...) are derived here; ``Tx.emit`` refuses a type that is not a member, so an event
nobody classified is never stored.
"""
from __future__ import annotations

from enum import StrEnum


class EventClass(StrEnum):
    """Where events of a type go (an event type lists the classes it belongs to)."""

    PUBLIC = "public"    # sent on the event streams (GET /events): numbers, services, counters, no personal data
    PRIVATE = "private"  # stored only, never sent to a screen or a stream
    BOARD = "board"      # changes the call board: every display is redrawn from the database
    SPOKEN = "spoken"    # announced by the voice
    CALL = "call"        # a ticket called to a counter: the board's latest calls, the counter's board blinks
    COUNTED = "counted"  # counted by GET /metrics (hall_tickets_<type>, by service and priority)


AUDIENCES = frozenset({EventClass.PUBLIC, EventClass.PRIVATE})
"""Every type belongs to exactly one of these."""

_PUBLIC, _PRIVATE, _BOARD, _SPOKEN, _CALL, _COUNTED = (EventClass.PUBLIC, EventClass.PRIVATE, EventClass.BOARD,
                                                       EventClass.SPOKEN, EventClass.CALL, EventClass.COUNTED)


class EventType(StrEnum):
    """A type of event, with its classes (``EventType.CALLED.classes``)."""

    classes: frozenset[EventClass]

    def __new__(cls, value: str, *classes: EventClass) -> EventType:
        if len(AUDIENCES.intersection(classes)) != 1:
            raise TypeError(f"event type {value!r} must be exactly one of {', '.join(sorted(AUDIENCES))}")
        member = str.__new__(cls, value)
        member._value_ = value
        member.classes = frozenset(classes)
        return member

    ISSUED = "issued", _PUBLIC, _COUNTED
    PRINTED = "printed", _PRIVATE           # the printer confirmed the ticket's paper (tickets.void_unprinted)
    CALLED = "called", _PUBLIC, _BOARD, _SPOKEN, _CALL, _COUNTED
    RECALLED = "recalled", _PUBLIC, _BOARD, _SPOKEN, _CALL
    TRANSFERRED = "transferred", _PUBLIC, _BOARD
    SERVED = "served", _PUBLIC, _BOARD
    NO_SHOW = "no_show", _PUBLIC, _BOARD
    EXPIRED = "expired", _PUBLIC, _BOARD
    VOID = "void", _PUBLIC, _BOARD
    PAUSED = "paused", _PUBLIC, _BOARD, _SPOKEN
    RESUMED = "resumed", _PUBLIC, _BOARD
    DAY_STARTED = "day_started", _PUBLIC, _BOARD  # screens clear yesterday's calls on this
    DEVICE_WARNING = "device_warning", _PUBLIC    # for the technician's screens (paper near its end)
    RATED = "rated", _PRIVATE                     # a customer's score from a counter's evaluator
    ROSTER_IMPORTED = "roster_imported", _PRIVATE
    ROSTER_REVOKED = "roster_revoked", _PRIVATE   # with the agent's code masked


def of_class(cls: EventClass) -> tuple[EventType, ...]:
    """The event types of one class, in the order they are defined above."""
    return tuple(t for t in EventType if cls in t.classes)


PUBLIC_TYPES = of_class(EventClass.PUBLIC)
BOARD_TYPES = frozenset(of_class(EventClass.BOARD))
SPOKEN_TYPES = frozenset(of_class(EventClass.SPOKEN))
CALL_TYPES = of_class(EventClass.CALL)
COUNTED_TYPES = of_class(EventClass.COUNTED)


def sql_list(types: tuple[EventType, ...]) -> str:
    """The types as an SQL list of literals, ``('called', 'recalled')``: a query must name the types of a
    partial index (``events_calls``) literally, in the same order, for SQLite to use that index."""
    return "(" + ", ".join(f"'{t.value}'" for t in types) + ")"
