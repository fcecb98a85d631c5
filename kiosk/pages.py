"""Pages for people (outside /api/v1): the ticket status page a ticket's printed link opens."""
from __future__ import annotations

from flask import Blueprint, current_app

from .display import status_page

bp = Blueprint("pages", __name__)


@bp.get("/t/<int:ticket_id>")
def ticket_status(ticket_id: int):
    """A ticket's status for the customer's phone (404 with the JSON error for an unknown ticket)."""
    hall = current_app.extensions["hall"]
    view = hall.ticket_view(ticket_id)
    return status_page.render(view, hall.config.data["hall"]["name"]), 200, {"Content-Type": "text/html; charset=utf-8"}
