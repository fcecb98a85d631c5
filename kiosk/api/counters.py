"""A counter's actions: next, recall, no-show, finish, call, transfer, pause, resume."""
from __future__ import annotations

from flask import Blueprint, jsonify

from .. import selection
from ..clock import iso
from .auth import counter_access, hall, requires
from .body import field, json_object, only

bp = Blueprint("counters", __name__)


@bp.get("/counters")
@requires("manager", "guide")
def list_counters():
    """Every counter with its state and current ticket."""
    h = hall()
    return jsonify({"counters": [h.counter_view(cid) for cid in h.config.counters]})


@bp.get("/counters/<int:counter_id>")
@counter_access("manager", "guide")
def get_counter(counter_id: int):
    """One counter's state and current ticket."""
    return jsonify(hall().counter_view(counter_id))


@bp.get("/counters/<int:counter_id>/queue")
@counter_access("manager", "guide")
def waiting_for_counter(counter_id: int):
    """The tickets this counter would call, in the order it would call them (at most 50)."""
    h = hall()
    h.config.counter(counter_id)  # 404 for an unknown counter
    rows = selection.call_order(h.store.reader(), h.config, counter_id)
    return jsonify({"counter": counter_id, "tickets": [
        {"id": r["id"], "number": r["number"], "service": r["service"], "priority": r["priority"],
         "issued_at": iso(r["issued_at"], h.config.tz), "only_this_counter": r["target_counter"] == counter_id}
        for r in rows]})


def _ticket_or_204(view):
    return (jsonify(view), 200) if view is not None else ("", 204)


@bp.post("/counters/<int:counter_id>/next")
@counter_access()
def next_ticket(counter_id: int):
    """Finish the current ticket as served and call the next (204 when nobody waits)."""
    json_object(optional=True)
    return _ticket_or_204(hall().counter_action(counter_id, "next"))


def _simple(action: str):
    @counter_access()
    def view(counter_id: int):
        json_object(optional=True)
        return jsonify(hall().counter_action(counter_id, action))
    view.__name__ = action.replace("-", "_")
    view.__doc__ = f"Counter action '{action}'."
    return view


for _action in ("recall", "no-show", "finish", "pause", "resume"):
    bp.add_url_rule(f"/counters/<int:counter_id>/{_action}", view_func=_simple(_action), methods=["POST"])


@bp.post("/counters/<int:counter_id>/call")
@counter_access()
def call_ticket(counter_id: int):
    """Call one named waiting ticket."""
    data = json_object()
    only(data, "ticket")
    return jsonify(hall().counter_action(counter_id, "call", ticket_id=field(data, "ticket", int)))


@bp.post("/counters/<int:counter_id>/transfer")
@counter_access()
def transfer(counter_id: int):
    """Send the current ticket to another service (and optionally one counter), keeping its place."""
    data = json_object()
    only(data, "service", "counter")
    return jsonify(hall().counter_action(counter_id, "transfer", service_id=field(data, "service", str),
                                         target=field(data, "counter", int, required=False)))
