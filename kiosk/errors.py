"""Domain errors: each carries an HTTP status, a machine-readable code and a message a person understands.

The API turns any :class:`HallError` into ``{"error": {"code": ..., "message": ...}}`` with its status; the
command line prints the message. Raising one inside a queue operation rolls that operation back whole.
"""
from __future__ import annotations


class HallError(Exception):
    """Base of all errors the hall reports to a user."""

    status = 400
    code = "bad_request"
    exit_code = 2  # the ``kiosk`` command's exit status for it (3: a database that restarting cannot mend)

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, **details):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict:
        """Return the JSON error body."""
        body = {"code": self.code, "message": self.message}
        body.update(self.details)
        return {"error": body}


class BadRequest(HallError):
    """The request is malformed or a value is out of range (400)."""

    status = 400
    code = "bad_request"


class Unauthorized(HallError):
    """No valid token was given where one is needed (401)."""

    status = 401
    code = "unauthorized"


class Forbidden(HallError):
    """The caller's role or counter may not do this (403)."""

    status = 403
    code = "forbidden"


class NotFound(HallError):
    """The named ticket, counter, service or device does not exist (404)."""

    status = 404
    code = "not_found"


class Conflict(HallError):
    """The ticket, counter or device is not in the state the request needs (409)."""

    status = 409
    code = "conflict"


class Unavailable(HallError):
    """A device needed for the request is not ready (503)."""

    status = 503
    code = "unavailable"


class StorageFull(Unavailable):
    """The disk holding the data directory is full, so the change was not stored (503); see kiosk/storage.py."""

    status = 503
    code = "storage_full"


class ConfigError(HallError):
    """A config value is wrong; ``path`` names the key (``counters[2].services``)."""

    status = 422
    code = "invalid_config"

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}", path=path)
        self.path = path
