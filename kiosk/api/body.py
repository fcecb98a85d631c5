"""Reading JSON request bodies with clear errors: not JSON, not an object, text that is not storable
(:func:`kiosk.text.check_text`), a field of the wrong type, a field the endpoint does not know."""
from __future__ import annotations

from flask import request

from ..errors import BadRequest
from ..text import check_text
from .ids import check_id

_TYPES = {str: "a string", int: "a whole number", bool: "true or false", dict: "an object", list: "a list"}


def json_object(optional: bool = False) -> dict:
    """Return the body as a JSON object, or raise 400 saying what is wrong."""
    if not request.data and optional:
        return {}
    if not request.is_json:
        raise BadRequest("Send a JSON object with 'Content-Type: application/json'.", code="expected_json",
                         status=415)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested too deeply for the JSON parser
        data = None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="bad_json")
    check_text(data)
    return data


def field(data: dict, key: str, kind: type, *, required: bool = True, default=None):
    """Return ``data[key]`` checked to be of ``kind`` (booleans are never numbers; whole numbers are ids, so
    they must be ones SQLite can hold: :func:`kiosk.api.ids.check_id`)."""
    if key not in data or data[key] is None:
        if required:
            raise BadRequest(f"The field {key!r} is required.", code="missing_field", field=key)
        return default
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"The field {key!r} must be {_TYPES.get(kind, kind.__name__)}.", code="bad_field",
                         field=key)
    if kind is int and isinstance(value, int):
        check_id(value, key)
    return value


def only(data: dict, *allowed: str) -> None:
    """Reject keys the endpoint does not know, so a typo is not silently ignored."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(f"Unknown field {unknown[0]!r} (allowed: {', '.join(allowed)}).", code="unknown_field",
                         field=unknown[0])
