"""The Starlight roster: importing it (CSV or JSON), checking an agent at the kiosk, and masked listings.

An import replaces the whole roster with the rows that pass; each rejected row is reported with its row
number and a reason. Branch quotas from the config are enforced in file order. A file that cannot be read as
a roster at all, or whose rows are all rejected, changes nothing. An answer lists the first
:data:`REJECTIONS_LISTED` rejections and counts the rest, and a reason quotes at most :data:`QUOTED_MAX`
characters of the value it refuses, so a big file of bad rows gets a small answer.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3

from .errors import BadRequest, Forbidden, HallError
from .event_types import EventType
from .settings import HallConfig
from .text import check_text
from .writer import Tx

COLUMNS = ("agent_code", "name", "branch", "valid_from", "valid_until")
OPTIONAL = ("revoked", "revoked_reason")
CODE_RE = re.compile(r"^[A-Za-z0-9-]{3,32}$")
MAX_VALIDITY_DAYS = 184  # six months, as the plan grants
TRUE_WORDS = {"1", "true", "yes", "y", "是"}
FALSE_WORDS = {"", "0", "false", "no", "n", "否"}
REJECTIONS_LISTED = 100
QUOTED_MAX = 40


def mask_name(name: str) -> str:
    """Keep the first character of a name and hide the rest ("张三丰" -> "张**")."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_code(code: str) -> str:
    """Keep the first and last two characters of an agent code ("SL0042" -> "SL**42")."""
    if len(code) <= 4:
        return "*" * len(code)
    return code[:2] + "*" * min(len(code) - 4, 28) + code[-2:]  # a valid code has at most 32 characters


def _quoted(value) -> str:
    """A refused value as a reason quotes it: ``'2026-13-01'``, cut after :data:`QUOTED_MAX` characters."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= QUOTED_MAX else text[:QUOTED_MAX] + "…")


def rejection_list(rejected: list[dict]) -> dict:
    """The rejections an answer lists (the first :data:`REJECTIONS_LISTED`) and how many it leaves out."""
    return {"rejections": rejected[:REJECTIONS_LISTED],
            "rejections_omitted": max(len(rejected) - REJECTIONS_LISTED, 0)}


def parse_upload(body: bytes, content_type: str) -> list[dict]:
    """Read an uploaded roster (CSV with a header row, or a JSON list of objects) into raw rows."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The roster must be UTF-8 text.", code="bad_roster") from None
    if "json" in content_type:
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise BadRequest(f"The roster is not valid JSON: {exc}", code="bad_roster") from None
        except RecursionError:
            raise BadRequest("The roster is not valid JSON: it is nested too deeply.", code="bad_roster") from None
        check_text(rows, "The roster")
        if isinstance(rows, dict) and isinstance(rows.get("rows"), list):
            rows = rows["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadRequest("A JSON roster must be a list of objects (one per agent).", code="bad_roster")
        return rows
    if "csv" not in content_type and "text/plain" not in content_type:
        raise BadRequest("Send the roster as text/csv or application/json.", code="unsupported_media_type",
                         status=415)
    reader = csv.DictReader(io.StringIO(text, newline=""))  # the csv module reads line ends itself
    try:
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise BadRequest(f"The CSV header lacks the column(s) {', '.join(missing)}.", code="bad_roster")
        return [dict(row) for row in reader]
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
        raise BadRequest(f"The roster is not valid CSV: {exc}.", code="bad_roster") from None


class RowRejected(Exception):
    """One roster row cannot be accepted; ``code`` and ``reason`` say why."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowRejected("missing_field", f"{key} is missing")
    if not isinstance(value, str):
        raise RowRejected("bad_field", f"{key} must be text")
    return value.strip()


def _date(row: dict, key: str) -> dt.date:
    value = _text(row, key)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RowRejected("bad_date", f"{key} {_quoted(value)} is not a date (YYYY-MM-DD)") from None


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowRejected("bad_field", f"revoked {_quoted(value)} is not yes/no")


def _branch(cfg: HallConfig, value: str) -> str:
    for branch in cfg.branches.values():
        if value in (branch["id"], branch["name"]):
            return branch["id"]
    raise RowRejected("unknown_branch", f"branch {_quoted(value)} is not in the config's starlight.branches")


def clean_row(row: dict, cfg: HallConfig) -> dict:
    """Validate one raw row and return it normalised, or raise :class:`RowRejected`."""
    unknown = [k for k in row if k not in COLUMNS + OPTIONAL]
    if unknown:
        raise RowRejected("unknown_field", f"unknown column {_quoted(unknown[0])}")
    code = _text(row, "agent_code")
    if not CODE_RE.match(code):
        raise RowRejected("bad_agent_code", "agent_code must be 3-32 letters, digits or '-'")
    valid_from, valid_until = _date(row, "valid_from"), _date(row, "valid_until")
    if valid_until < valid_from:
        raise RowRejected("bad_dates", "valid_until is before valid_from")
    if (valid_until - valid_from).days > MAX_VALIDITY_DAYS:
        raise RowRejected("too_long", "a qualification is valid for six months at most")
    revoked = _flag(row.get("revoked"))
    reason = row.get("revoked_reason") or None
    return {"agent_code": code, "name": _text(row, "name"), "branch": _branch(cfg, _text(row, "branch")),
            "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat(),
            "revoked": int(revoked), "revoked_reason": str(reason) if reason else None}


def sort_rows(rows: list[dict], cfg: HallConfig, today: dt.date) -> tuple[list[dict], list[dict]]:
    """Split raw rows into accepted rows and rejections (with 1-based row numbers), quotas included."""
    accepted, rejected, seen = [], [], {}
    used = {bid: 0 for bid in cfg.branches}
    for number, raw in enumerate(rows, start=1):
        try:
            row = clean_row(raw, cfg)
            if row["agent_code"] in seen:
                raise RowRejected("duplicate", f"agent_code repeats row {seen[row['agent_code']]}")
            counts = not row["revoked"] and row["valid_until"] >= today.isoformat()
            quota = cfg.branches[row["branch"]]["quota"]
            if counts and used[row["branch"]] >= quota:
                raise RowRejected("quota_full", f"branch {row['branch']} has its quota of {quota} already")
        except RowRejected as exc:
            code = raw.get("agent_code") if isinstance(raw.get("agent_code"), str) else ""
            rejected.append({"row": number, "agent_code": mask_code(code.strip()), "code": exc.code,
                             "reason": exc.reason})
            continue
        seen[row["agent_code"]] = number
        used[row["branch"]] += int(counts)
        accepted.append(row)
    return accepted, rejected


def replace(tx: Tx, rows: list[dict]) -> int:
    """Replace the whole roster with already-checked rows (one transaction); return how many."""
    tx.execute("DELETE FROM roster")
    tx.conn.executemany(
        "INSERT INTO roster (agent_code, name, branch, valid_from, valid_until, revoked, revoked_reason, "
        "imported_at) VALUES (:agent_code, :name, :branch, :valid_from, :valid_until, :revoked, "
        ":revoked_reason, :imported_at)", [dict(r, imported_at=tx.now) for r in rows])
    tx.emit(EventType.ROSTER_IMPORTED, count=len(rows))
    return len(rows)


def revoke(tx: Tx, agent_code: str, reason: str) -> None:
    """Revoke one agent's qualification at once."""
    cur = tx.execute("UPDATE roster SET revoked = 1, revoked_reason = ? WHERE agent_code = ?", (reason, agent_code))
    if cur.rowcount == 0:
        raise HallError("This agent code is not on the Starlight roster.", code="unknown_agent", status=404)
    tx.emit(EventType.ROSTER_REVOKED, agent=mask_code(agent_code))


def check_agent(conn: sqlite3.Connection, agent_code: str | None, today: dt.date) -> None:
    """Raise 403 with a reason a person understands unless the agent holds a valid qualification today."""
    if not isinstance(agent_code, str) or not agent_code.strip():
        raise BadRequest("A Starlight ticket needs the agent's code.", code="agent_code_required")
    row = conn.execute("SELECT valid_from, valid_until, revoked FROM roster WHERE agent_code = ?",
                       (agent_code.strip(),)).fetchone()
    if row is None:
        raise Forbidden("This agent code is not on the Starlight roster. Please ask at the guide desk.",
                        code="starlight_unknown")
    if row["revoked"]:
        raise Forbidden("The Starlight qualification for this code has been revoked. Please ask at the guide desk.",
                        code="starlight_revoked")
    if today.isoformat() > row["valid_until"]:
        raise Forbidden(f"The Starlight qualification expired on {row['valid_until']}.",
                        code="starlight_expired", valid_until=row["valid_until"])
    if today.isoformat() < row["valid_from"]:
        raise Forbidden(f"The Starlight qualification is valid from {row['valid_from']}.",
                        code="starlight_not_yet_valid", valid_from=row["valid_from"])


def listing(conn: sqlite3.Connection, today: dt.date) -> list[dict]:
    """Return the roster with names and codes masked, and whether each entry is valid today."""
    out = []
    for row in conn.execute("SELECT * FROM roster ORDER BY branch, valid_until, agent_code"):
        valid = not row["revoked"] and row["valid_from"] <= today.isoformat() <= row["valid_until"]
        out.append({"agent_code": mask_code(row["agent_code"]), "name": mask_name(row["name"]),
                    "branch": row["branch"], "valid_from": row["valid_from"], "valid_until": row["valid_until"],
                    "revoked": bool(row["revoked"]), "valid_today": valid})
    return out
