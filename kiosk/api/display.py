"""What the hall's screens read: the call board and the live event stream (server-sent events)."""
from __future__ import annotations

import json
import queue
import time

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from ..errors import BadRequest, HallError
from ..events import PUBLIC_TYPES, events_after, last_event_id, public_event
from .auth import hall

bp = Blueprint("display", __name__)

_RENDERED = "sse_text"
HEARTBEAT_S = 15.0
STREAM_MAX_S = 600.0  # a stream ends after this; EventSource reconnects and resumes by Last-Event-ID
MAX_STREAMS = 32


@bp.get("/display")
def board():
    """The current call of each counter and the latest calls."""
    return jsonify(hall().board().to_dict())


def _sse(event: dict) -> str:
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def _sse_once(event: dict, tz) -> str:
    """The message of a live event, rendered by the first stream that sends it and reused by the others (the
    fan-out hands every stream the same event object)."""
    text = event.get(_RENDERED)
    if text is None:
        text = event[_RENDERED] = _sse(public_event(event, tz))
    return text


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
    tz = h.config.tz
    stream = h.bus.open_stream(types)  # opened before reading the backlog, so nothing falls between the two
    conn = h.store.reader()
    backlog, missed_too_many = events_after(conn, last_id) if last_id is not None else ([], False)
    if types is not None:
        backlog = [e for e in backlog if e["type"] in types]
    if missed_too_many:
        backlog = []
        last_id = last_event_id(conn)

    def generate():
        seen = backlog[-1]["id"] if backlog else (last_id or 0)
        ends = time.monotonic() + max_s
        try:
            yield "retry: 2000\n\n"
            if missed_too_many:  # the client missed too much to replay: it reloads /display instead
                yield f"id: {last_id}\nevent: resync\ndata: {{}}\n\n"
            for event in backlog:
                yield _sse(public_event(event, tz))
            while stream.open:
                left = ends - time.monotonic()
                if left <= 0:
                    return
                try:
                    events = [stream.queue.get(timeout=min(HEARTBEAT_S, left))]
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                while True:  # what else is queued goes out in the same write (a call is "served" + "called")
                    try:
                        events.append(stream.queue.get_nowait())
                    except queue.Empty:
                        break
                chunk = []
                for event in events:
                    if event is not None and event["id"] > seen:
                        seen = event["id"]
                        chunk.append(_sse_once(event, tz))
                if chunk:
                    yield "".join(chunk)
        finally:
            h.bus.close_stream(stream)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(generate()), mimetype="text/event-stream", headers=headers)
