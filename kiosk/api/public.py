"""What the kiosk and anyone in the hall may use without a token: services, tickets, health."""
from __future__ import annotations

from flask import Blueprint, jsonify

from .. import estimates
from ..errors import BadRequest
from .auth import hall, identity, require_role
from .body import field, json_object, only
from .ops import health_response

bp = Blueprint("public", __name__)


@bp.get("/services")
def list_services():
    """Each service with its waiting count and the estimated wait of a new ticket."""
    h = hall()
    return jsonify({"services": estimates.services_overview(h.store.reader(), h.config)})


@bp.post("/tickets")
def issue_ticket():
    """Issue (and print) a ticket; VIP tickets need a guide or technician token."""
    data = json_object()
    only(data, "service", "priority", "agent_code")
    service = field(data, "service", str)
    priority = field(data, "priority", str, required=False, default="normal")
    agent_code = field(data, "agent_code", str, required=False)
    if priority not in ("normal", "starlight", "vip"):
        raise BadRequest("priority must be normal, starlight or vip.", code="bad_priority", field="priority")
    who = identity()
    if priority == "vip":
        require_role(who, "guide")
    source = "guide" if who.role == "guide" else ("api" if who.role else "kiosk")
    view = hall().issue_ticket(service, priority, agent_code, source)
    return jsonify(view), 201, {"Location": f"/api/v1/tickets/{view['id']}"}


@bp.get("/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int):
    """A ticket's status, how many are ahead, and its counter once called."""
    return jsonify(hall().ticket_view(ticket_id))


@bp.get("/health")
def health():
    """Whether the queue writer and the event fan-out move, and what is wrong with the devices."""
    return health_response()
