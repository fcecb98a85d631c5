"""Customer ratings from a counter's evaluator, stored as a ``rated`` event against the ticket served there."""
from __future__ import annotations

from .errors import Conflict
from .event_types import EventType
from .settings import HallConfig
from .writer import Tx


def rate(tx: Tx, cfg: HallConfig, counter_id: int, score: int) -> int:
    """Store ``score`` (1-5) for the ticket called most recently at the counter; return the ticket's id.

    Raises Conflict when the counter has not called anyone today (there is nobody to rate)."""
    cfg.counter(counter_id)
    if not 1 <= score <= 5:
        raise Conflict(f"A rating must be 1 to 5, not {score}.", code="bad_rating")
    row = tx.one("SELECT id, number FROM tickets WHERE counter = ? AND called_at IS NOT NULL "
                 "AND status IN ('called', 'served') ORDER BY called_at DESC, id DESC LIMIT 1", (counter_id,))
    if row is None:
        raise Conflict(f"Counter {counter_id} has served nobody to rate.", code="nobody_to_rate")
    tx.emit(EventType.RATED, ticket_id=row["id"], counter=counter_id, number=row["number"], score=score)
    return row["id"]
