"""Bearer tokens: created by the command line, stored only as SHA-256 hashes, looked up per request.

Roles: ``technician`` (everything), ``manager`` (reads config, devices, roster and counters), ``guide`` (VIP
tickets), ``counter`` (one counter's actions; the token is bound to that counter).
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass

from .errors import BadRequest

ROLES = ("technician", "guide", "counter", "manager")
PREFIX = "hk_"


@dataclass(frozen=True)
class Identity:
    """Who is calling: a role, and the counter a counter token is bound to."""

    role: str | None
    counter: int | None = None
    token_id: int | None = None


ANONYMOUS = Identity(None)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(conn: sqlite3.Connection, role: str, counter: int | None = None, label: str | None = None) -> str:
    """Create a token, store its hash, and return the token itself (shown once)."""
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}.", code="bad_role")
    if role == "counter" and counter is None:
        raise BadRequest("A counter token needs --counter ID.", code="counter_required")
    if role != "counter" and counter is not None:
        raise BadRequest("Only counter tokens are bound to a counter.", code="unexpected_counter")
    token = PREFIX + secrets.token_urlsafe(24)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT INTO tokens (hash, role, counter, label, created_at) VALUES (?, ?, ?, ?, ?)",
                     (hash_token(token), role, counter, label, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return token


def lookup(conn: sqlite3.Connection, token: str) -> Identity | None:
    """Return the identity a token stands for, or None when it is unknown."""
    row = conn.execute("SELECT id, role, counter FROM tokens WHERE hash = ?", (hash_token(token),)).fetchone()
    if row is None:
        return None
    return Identity(row["role"], row["counter"], row["id"])
