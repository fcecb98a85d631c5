"""Bearer tokens: created by the command line or the technician console, stored only as SHA-256 hashes,
looked up per request.

Roles: ``technician`` (everything), ``manager`` (reads config, devices, roster and counters), ``guide`` (VIP
tickets), ``counter`` (one counter's actions; the token is bound to that counter).
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass

from .errors import BadRequest, NotFound
from .text import check_text

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


def check(role: str, counter: int | None, label: str | None = None) -> None:
    """Refuse a role that does not exist, a counter token without its counter, a counter on another role, or a
    label that is not storable text (from a command line in another encoding)."""
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}.", code="bad_role", field="role")
    if role == "counter" and counter is None:
        raise BadRequest("A counter token needs the counter it belongs to.", code="counter_required",
                         field="counter")
    if role != "counter" and counter is not None:
        raise BadRequest("Only counter tokens are bound to a counter.", code="unexpected_counter", field="counter")
    check_text({"label": label})


def _insert(execute, role: str, counter: int | None, label: str | None, now: float) -> tuple[int, str]:
    token = PREFIX + secrets.token_urlsafe(24)
    cur = execute("INSERT INTO tokens (hash, role, counter, label, created_at) VALUES (?, ?, ?, ?, ?)",
                  (hash_token(token), role, counter, label, now))
    return cur.lastrowid, token


def create(conn: sqlite3.Connection, role: str, counter: int | None = None, label: str | None = None) -> str:
    """Create a token on a connection of its own (the command line), store its hash, and return the token
    itself (shown once)."""
    check(role, counter, label)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _, token = _insert(conn.execute, role, counter, label, time.time())
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return token


def issue(tx, role: str, counter: int | None = None, label: str | None = None) -> dict:
    """Create a token in the writer's transaction (the console); return its listing entry with the token
    itself, which is shown this once."""
    check(role, counter, label)
    token_id, token = _insert(tx.execute, role, counter, label, tx.now)
    stored = {"id": token_id, "role": role, "counter": counter, "label": label, "created_at": tx.now}
    return {**_entry(stored), "token": token}


def revoke(tx, token_id: int) -> None:
    """Delete a token: it stops working with the next request."""
    if tx.execute("DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount == 0:
        raise NotFound(f"There is no token {token_id}.", code="unknown_token")


def listing(conn: sqlite3.Connection) -> list[dict]:
    """Every token, oldest first, without the token itself (only its hash is kept, and that is not shown)."""
    return [_entry(row) for row in conn.execute("SELECT * FROM tokens ORDER BY id")]


def _entry(row) -> dict:
    return {"id": row["id"], "role": row["role"], "counter": row["counter"], "label": row["label"],
            "created_at": row["created_at"]}


def lookup(conn: sqlite3.Connection, token: str) -> Identity | None:
    """Return the identity a token stands for, or None when it is unknown."""
    row = conn.execute("SELECT id, role, counter FROM tokens WHERE hash = ?", (hash_token(token),)).fetchone()
    if row is None:
        return None
    return Identity(row["role"], row["counter"], row["id"])
