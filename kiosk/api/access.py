"""The hall's tokens, for the technician console: list them, create one (shown once), revoke one."""
from __future__ import annotations

from flask import Blueprint, jsonify

from .. import tokens
from ..errors import BadRequest, Conflict
from .auth import hall, identity, requires
from .body import field, json_object, only

bp = Blueprint("access", __name__)

LABEL_MAX = 80


@bp.get("/tokens")
@requires()
def list_tokens():
    """Every token's id, role, counter, label and creation time; never the token itself."""
    return jsonify({"tokens": tokens.listing(hall().store.reader())})


@bp.post("/tokens")
@requires()
def create_token():
    """Create a token for a role (a counter token for one counter of this hall); the answer carries the token
    itself, which is shown this once."""
    data = json_object()
    only(data, "role", "counter", "label")
    role = field(data, "role", str)
    counter = field(data, "counter", int, required=False)
    label = field(data, "label", str, required=False)
    h = hall()
    if counter is not None and counter not in h.config.counters:
        raise BadRequest(f"This hall has no counter {counter}.", code="unknown_counter", field="counter")
    if label is not None and len(label) > LABEL_MAX:
        raise BadRequest(f"A label is at most {LABEL_MAX} characters.", code="bad_field", field="label")
    return jsonify(h.writer.run(tokens.issue, role, counter, label and label.strip() or None)), 201


@bp.delete("/tokens/<int:token_id>")
@requires()
def revoke_token(token_id: int):
    """Revoke a token at once; the token making the request cannot revoke itself (so nobody locks themselves
    out of the console by mistake)."""
    if identity().token_id == token_id:
        raise Conflict("This is the token you are signed in with; sign in with another technician token to "
                       "revoke it.", code="own_token")
    hall().writer.run(tokens.revoke, token_id)
    return "", 204
