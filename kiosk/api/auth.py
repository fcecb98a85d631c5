"""Who is calling, and what they may do: bearer tokens and role decorators."""
from __future__ import annotations

import functools

from flask import current_app, g, request

from .. import tokens
from ..errors import Forbidden, Unauthorized


def hall():
    """Return the hall this app serves."""
    return current_app.extensions["hall"]


def identity() -> tokens.Identity:
    """Return the caller's identity (anonymous without a token; 401 for a token that is not known)."""
    if "identity" in g:
        return g.identity
    header = request.headers.get("Authorization", "")
    if not header:
        g.identity = tokens.ANONYMOUS
        return g.identity
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Use the header 'Authorization: Bearer <token>'.", code="bad_authorization")
    found = tokens.lookup(hall().store.reader(), value.strip())
    if found is None:
        raise Unauthorized("This token is not known to the hall.", code="invalid_token")
    g.identity = found
    return found


def require_role(who: tokens.Identity, *roles: str) -> None:
    """Raise 401/403 unless ``who`` has one of ``roles`` (technicians may do everything)."""
    if who.role is None:
        raise Unauthorized("This needs a token; sign in first.", code="token_required")
    if who.role != "technician" and who.role not in roles:
        raise Forbidden(f"A {who.role} token may not do this.", code="wrong_role")


def requires(*roles: str):
    """Decorate a view so only the given roles (and technicians) may call it."""
    def wrap(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            require_role(identity(), *roles)
            return view(*args, **kwargs)
        return checked
    return wrap


def counter_access(*also: str):
    """Decorate a counter view: a counter token bound to that counter, a technician token, or a token of one of
    the roles in ``also`` (for views that only read)."""
    def wrap(view):
        @functools.wraps(view)
        def checked(counter_id: int, *args, **kwargs):
            who = identity()
            require_role(who, "counter", *also)
            if who.role == "counter" and who.counter != counter_id:
                raise Forbidden(f"This token belongs to counter {who.counter}, not counter {counter_id}.",
                                code="wrong_counter")
            return view(counter_id, *args, **kwargs)
        return checked
    return wrap
