"""What the hall's screens read: the call board and the live event stream (server-sent events)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..errors import BadRequest, HallError
from ..event_types import PUBLIC_TYPES
from ..events import Stream, StreamsFull, events_after, last_event_id
from ..live import HEARTBEAT_S, PARK_KEY, Feed, LiveStream, sse_message
from .auth import hall

bp = Blueprint("display", __name__)

STREAM_MAX_S = 600.0  # a stream ends after this; EventSource reconnects and resumes by Last-Event-ID
MAX_STREAMS = 32  # without HallServer's settings (e.g. the test client)
CLIENT_STREAMS = 32
MAX_EVENT_ID = 2 ** 63 - 1  # the largest id SQLite can hold


@bp.get("/display")
def board():
    """The current call of each counter and the latest calls."""
    return jsonify(hall().board().to_dict())


def _types_asked() -> frozenset[str] | None:
    raw = request.args.get("types")
    if raw is None:
        return None
    types = frozenset(t.strip() for t in raw.split(",") if t.strip())
    unknown = types - set(PUBLIC_TYPES)
    if unknown or not types:
        raise BadRequest(f"types must be a comma-separated list of {', '.join(PUBLIC_TYPES)}.", code="bad_field",
                         field="types")
    return types


RESYNC = -1  # the resume point to answer with a ``resync``: the client reloads the board


def _resume_point() -> int | None:
    """The id of the last event the client has: None when it has none, :data:`RESYNC` for a ``Last-Event-ID``
    that is not an event id (the browser sends back what it was sent, so a garbled one means something between
    mangled it: the screen reloads its board and goes on). A garbled ``?after=`` (a program asks) is a 400."""
    after = request.args.get("after")
    if after is not None and _event_id(after) is None:
        raise BadRequest(f"after must be an event id, a whole number from 0 to {MAX_EVENT_ID}.",
                         code="bad_resume_point", field="after")
    header = request.headers.get("Last-Event-ID")
    if header is None or not header.strip():
        return _event_id(after) if after is not None else None
    resume = _event_id(header)
    return RESYNC if resume is None else resume


def _event_id(raw: str) -> int | None:
    """``raw`` as an event id (ASCII digits, spaces around them trimmed, at most 2^63-1), or None."""
    raw = raw.strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 19 and int(raw) <= MAX_EVENT_ID:
        return int(raw)
    return None


def _open_stream(h, types: frozenset[str] | None) -> Stream:
    """Take a stream place for this client, or 503 when the hall's or this client's places are all taken."""
    cfg = current_app.config
    try:
        return h.bus.open_stream(types, client=request.remote_addr, limit=cfg.get("MAX_STREAMS", MAX_STREAMS),
                                 client_limit=cfg.get("CLIENT_STREAMS", CLIENT_STREAMS))
    except StreamsFull as full:
        if full.scope == "hall":
            raise HallError("Too many screens are connected; try again shortly.", code="too_many_streams",
                            status=503) from None
        raise HallError(f"This device already has {full.limit} live screens open; close one and try again.",
                        code="too_many_client_streams", status=503) from None


def _opening(h, types: frozenset[str] | None, last_id: int | None) -> tuple[bytes, int]:
    """The stream's opening part and the id of the last event in it: ``retry:``, then the events missed since
    ``last_id`` — or a ``resync`` (the client reloads the board) when it missed too many, or its resume point
    is garbled or beyond the newest event (the database was restored from a backup)."""
    conn = h.store.reader()
    tz = h.config.tz
    opening = ["retry: 2000\n\n"]
    if last_id is None:
        return opening[0].encode(), 0
    newest = last_event_id(conn)
    backlog, missed_too_many = events_after(conn, last_id) if RESYNC < last_id <= newest else ([], True)
    if missed_too_many:
        opening.append(f"id: {newest}\nevent: resync\ndata: {{}}\n\n")
        return "".join(opening).encode(), newest
    if types is not None:
        backlog = [e for e in backlog if e["type"] in types]
    opening.extend(sse_message(event, tz) for event in backlog)
    return "".join(opening).encode(), backlog[-1]["id"] if backlog else last_id


@bp.get("/events")
def events():
    """Server-sent events for every call, recall and counter change; resumes after ``Last-Event-ID``."""
    h = hall()
    types = _types_asked()
    last_id = _resume_point()
    stream = _open_stream(h, types)  # before the backlog is read, so nothing falls between the two
    try:
        opening, seen = _opening(h, types, last_id)
        cfg = current_app.config
        feed = Feed(stream, h.config.tz, seen, float(cfg.get("STREAM_MAX_S", STREAM_MAX_S)),
                    heartbeat_s=float(cfg.get("STREAM_HEARTBEAT_S", HEARTBEAT_S)))
    except BaseException:
        h.bus.close_stream(stream)
        raise
    body = LiveStream(h.bus, feed, opening, request.environ.get(PARK_KEY))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(body, mimetype="text/event-stream", headers=headers)
