"""What the hall's screens read: the call board and the live event stream (server-sent events)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from ..errors import BadRequest, HallError
from ..events import PUBLIC_TYPES, events_after, last_event_id
from ..live import HEARTBEAT_S, Feed, sse_message
from ..parking import PARK_KEY
from .auth import hall

bp = Blueprint("display", __name__)

STREAM_MAX_S = 600.0  # a stream ends after this; EventSource reconnects and resumes by Last-Event-ID
MAX_STREAMS = 32  # without HallServer's setting (e.g. the test client)


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


@bp.get("/events")
def events():
    """Server-sent events for every call, recall and counter change; resumes after ``Last-Event-ID``."""
    h = hall()
    types = _types_asked()
    if h.bus.stream_count() >= current_app.config.get("MAX_STREAMS", MAX_STREAMS):
        raise HallError("Too many screens are connected; try again shortly.", code="too_many_streams", status=503)
    last = (request.headers.get("Last-Event-ID") or request.args.get("after") or "").strip()
    last_id = int(last) if last.isascii() and last.isdigit() else None
    max_s = float(current_app.config.get("STREAM_MAX_S", STREAM_MAX_S))
    heartbeat_s = float(current_app.config.get("STREAM_HEARTBEAT_S", HEARTBEAT_S))
    tz = h.config.tz
    stream = h.bus.open_stream(types)  # opened before reading the backlog, so nothing falls between the two
    conn = h.store.reader()
    backlog, missed_too_many = events_after(conn, last_id) if last_id is not None else ([], False)
    if types is not None:
        backlog = [e for e in backlog if e["type"] in types]
    if missed_too_many:
        backlog = []
        last_id = last_event_id(conn)

    park = request.environ.get(PARK_KEY)  # the server can take the stream off this thread (kiosk/parking.py)

    def generate():
        feed = Feed(stream, tz, backlog[-1]["id"] if backlog else (last_id or 0), max_s, heartbeat_s=heartbeat_s)
        parked = False
        try:
            opening = ["retry: 2000\n\n"]
            if missed_too_many:  # the client missed too much to replay: it reloads /display instead
                opening.append(f"id: {last_id}\nevent: resync\ndata: {{}}\n\n")
            opening.extend(sse_message(event, tz) for event in backlog)
            yield "".join(opening).encode()
            if park is not None:
                park(feed)
                parked = True
                return
            while not feed.done():
                data = feed.take(timeout=feed.quiet_left())
                if data:
                    yield data
        finally:
            if not parked:
                h.bus.close_stream(stream)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(generate()), mimetype="text/event-stream", headers=headers)
