"""Pages for people (outside /api/v1): the hall's screens, their static files, and the ticket status page.

The pages read and change the hall through /api/v1 only (see display/screens.py).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, send_from_directory

from .display import screens

bp = Blueprint("pages", __name__)
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}
SIMULATED_TYPES = ("simulated", "virtual")


def _hall():
    return current_app.extensions["hall"]


def _page(name: str, **ids):
    data = _hall().config.data
    return screens.render(name, data["hall"]["name"], tz=data["business_day"]["timezone"], **ids), 200, HTML


def has_simulated_devices(hall) -> bool:
    """Tell whether any configured device is simulated or virtual, or any bus is a virtual one (the /sim page
    exists only then)."""
    data = hall.config.data
    return (any(str(d.get("type", "")).startswith(SIMULATED_TYPES) for d in data.get("devices", []))
            or any(b.get("port") == "virtual" for b in data.get("buses", [])))


@bp.get("/static/<path:filename>")
def static_file(filename: str):
    """The pages' scripts, stylesheet and message catalogue."""
    return send_from_directory(str(screens.STATIC_DIR), filename, max_age=60)


# The pages anyone may open, by path: (page name, what it is).
PLAIN_PAGES = {
    "/": ("index", "Links to every screen, for a new user."),
    "/kiosk": ("kiosk", "The touch kiosk: a ticket per service, Starlight by agent code."),
    "/guide": ("guide", "The guide desk: VIP and normal tickets, queues per service."),
    "/display": ("display", "The big hall display, live through the event stream."),
    "/admin": ("admin", "The technician console."),
}


def _plain_page(name: str, doc: str):
    def view():
        return _page(name)
    view.__name__, view.__doc__ = f"{name}_page", doc
    return view


for _path, (_name, _doc) in PLAIN_PAGES.items():
    bp.add_url_rule(_path, view_func=_plain_page(_name, _doc), methods=["GET"])


@bp.get("/counter/<int:counter_id>")
def counter(counter_id: int):
    """A counter's station (signs in with the counter's or a technician's token)."""
    _hall().config.counter(counter_id)  # 404 for a counter the hall does not have
    return _page("counter", counter=counter_id)


@bp.get("/sim")
def simulator():
    """The simulated devices (only when the config has any)."""
    if not has_simulated_devices(_hall()):
        abort(404)
    return _page("sim")


@bp.get("/t/<int:ticket_id>")
def ticket_status(ticket_id: int):
    """A ticket's live status for the customer's phone (404 with the JSON error for an unknown ticket)."""
    _hall().ticket_view(ticket_id)
    return _page("status", ticket=ticket_id)
