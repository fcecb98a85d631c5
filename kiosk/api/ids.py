"""Ids in URLs and in bodies: whole numbers that SQLite can hold, else 400 ``bad_id``.

SQLite's integers are 64-bit signed, so no ticket, counter or token has an id beyond 2^63 - 1; a larger one
would fail deep in the database (an overflow, 500) instead of being refused with a reason. One rule for the
whole API: every ``<int:...>`` of a URL goes through :class:`IdConverter` (registered on the app in place of
Werkzeug's ``int``), and every whole-number body field through :func:`check_id`. An id that is not plain
ASCII digits is still no URL of the hall (404 ``not_found``); a whole number within range that names nothing
is the resource's own 404 (``unknown_ticket``, ``unknown_counter``, ``unknown_token``).
"""
from __future__ import annotations

from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, ValidationError

from ..errors import BadRequest

ID_MIN, ID_MAX = -2 ** 63, 2 ** 63 - 1
_DIGITS_MAX = len(str(ID_MAX))
MESSAGE = f"is beyond the largest id the hall can hold ({ID_MAX})."


class BadIdInPath(HTTPException):
    """An id in the URL beyond SQLite's range. Raised while the URL is matched, before any view runs, so it
    is an HTTP exception; the app's HTTP error handler renders it as 400 with :attr:`error_code`."""

    code = 400
    error_code = "bad_id"
    description = f"The id in the URL {MESSAGE}"


class IdConverter(IntegerConverter):
    """``<int:...>``: ASCII digits only (anything else does not match: 404), at most :data:`ID_MAX` (else
    400 ``bad_id``)."""

    def to_python(self, value: str) -> int:
        """Return the id, or refuse it as described above."""
        if not value.isascii():
            raise ValidationError()
        digits = value.lstrip("0") or "0"  # leading zeros do not make an id larger
        if len(digits) > _DIGITS_MAX or int(digits) > ID_MAX:
            raise BadIdInPath()
        return super().to_python(digits)


def check_id(value: int, field: str) -> int:
    """Return ``value`` if SQLite can hold it, else raise 400 ``bad_id`` naming the body ``field``."""
    if not ID_MIN <= value <= ID_MAX:
        raise BadRequest(f"The field {field!r} {MESSAGE}", code="bad_id", field=field)
    return value
