"""Every event the hall stores has a type defined in kiosk/event_types.py with its classes, and every view of the
types (the event streams, the API document, the screens' scripts, the metrics) agrees with that one definition.
"""
from __future__ import annotations

import ast
import datetime as dt
import importlib.resources
import re
from pathlib import Path

import pytest
import yaml

from kiosk.api import create_app
from kiosk.event_types import CALL_TYPES, COUNTED_TYPES, PUBLIC_TYPES, EventClass, EventType
from util import hall_config, wait_until

API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("kiosk", "drivers", "display")
AGENT = {"agent_code": "SL0101", "name": "张三丰", "branch": "haidian", "valid_from": "2026-10-01",
         "valid_until": "2027-03-31", "revoked": ""}


def no_voice(cfg: dict) -> None:
    """The default hall (virtual printer, virtual bus with keypad and evaluator) without its voice."""
    cfg["devices"] = [d for d in cfg["devices"] if d["kind"] != "speech"]


def stored_types(hall) -> list[str]:
    """The type column of every stored event, oldest first."""
    return [r[0] for r in hall.store.reader().execute("SELECT type FROM events ORDER BY id")]


def simulate(client, tech, device: str, action: dict) -> None:
    resp = client.post(f"{API}/devices/{device}/simulate", json=action, headers=tech)
    assert resp.status_code == 200, resp.json


def a_day_of_everything(hall, client, tech, take, press, clock) -> None:
    """A business day in which every kind of event happens, through the API and the virtual devices."""
    wait_until(lambda: hall.devices.get("evaluator-1").online())
    take("general")                                                  # issued, printed
    simulate(client, tech, "ticket-printer", {"fault": "paper_near_end"})
    take("general")                                                  # device_warning
    simulate(client, tech, "ticket-printer", {"clear": True})
    simulate(client, tech, "ticket-printer", {"fault": "fail_during_print"})
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 503   # void
    simulate(client, tech, "ticket-printer", {"clear": True})
    take("consult")
    assert press(1, "next").status_code == 200                       # called
    assert press(1, "recall").status_code == 200                     # recalled
    assert press(1, "transfer", service="claims").status_code == 200  # transferred
    assert press(1, "next").status_code == 200
    assert press(1, "finish").status_code == 200                     # served
    simulate(client, tech, "evaluator-1", {"rate": 5})                # rated
    wait_until(lambda: "rated" in stored_types(hall))
    assert press(2, "next").status_code == 200
    assert press(2, "no-show").status_code == 200                    # no_show
    assert press(3, "pause").status_code == 200                      # paused
    assert press(3, "resume").status_code == 200                     # resumed
    assert client.put(f"{API}/roster/starlight", json=[AGENT], headers=tech).status_code == 200  # roster_imported
    assert client.post(f"{API}/roster/starlight/SL0101/revoke", json={"reason": "complaint confirmed"},
                       headers=tech).status_code == 200              # roster_revoked
    # the next morning the ticket still waiting expires and a new day starts
    clock.set(dt.datetime.fromtimestamp(clock.now(), hall.config.tz).replace(hour=7).timestamp() + 86400)
    take("general")                                                  # expired, day_started


@hall_config(no_voice)
def test_a_day_stores_only_classified_types_and_streams_only_public_ones(hall, client, tech, take, press, clock):
    """Situation: a business day in which tickets are issued, printed, voided, called, recalled, transferred,
    served, missed and rated, a counter pauses and resumes, the printer warns, the roster is imported and an
    agent revoked, and the day rolls over.
    Action: read the stored events and the event stream from the start.
    Outcome: every type defined is stored and nothing else (so each type in use has its classes); the stream
    carries every public type and none of the private ones (ratings, the roster, printing confirmations);
    /metrics counts each counted type as often as it was stored."""
    a_day_of_everything(hall, client, tech, take, press, clock)
    stored = stored_types(hall)
    assert set(stored) == set(EventType)
    stream = create_app(hall, {"STREAM_MAX_S": 0}).test_client().get(f"{API}/events?after=0").get_data(as_text=True)
    streamed = set(re.findall(r"^event: (\w+)$", stream, re.M))
    assert streamed == set(PUBLIC_TYPES)
    assert not streamed & {t for t in EventType if EventClass.PRIVATE in t.classes}
    metrics = client.get("/metrics").get_data(as_text=True)
    for kind in COUNTED_TYPES:
        counted = sum(float(v) for v in re.findall(rf"^hall_tickets_{kind}_total{{.*}} (\S+)$", metrics, re.M))
        assert counted == stored.count(kind), kind


def test_an_unclassified_event_type_is_refused_and_nothing_is_stored(hall):
    """Situation: an operation emits a type that kiosk/event_types.py does not define.
    Action: run it on the writer.
    Outcome: the operation fails with an error naming the type and the module to add it to; its ticket row
    and its event are not stored."""
    before = stored_types(hall)

    def op(tx):
        tx.execute("INSERT INTO counter_state (id, paused, updated_at) VALUES (9, 1, 0)")
        tx.emit("coffee_break", counter=9)

    with pytest.raises(ValueError, match="coffee_break.*kiosk/event_types.py"):
        hall.writer.run(op)
    assert stored_types(hall) == before
    assert hall.store.reader().execute("SELECT count(*) FROM counter_state WHERE id = 9").fetchone()[0] == 0


def _emit_calls():
    """Every ``.emit(...)`` call in the source folders, with the function it is in."""
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for func in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
                for node in ast.walk(func):
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and node.func.attr == "emit" and node.args):
                        yield path.relative_to(ROOT), func, node


def _names_types_only(arg: ast.expr, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The argument is an ``EventType.X`` member, a choice between members, or a parameter typed EventType."""
    if isinstance(arg, ast.Attribute):
        return isinstance(arg.value, ast.Name) and arg.value.id == "EventType" and arg.attr in EventType.__members__
    if isinstance(arg, ast.IfExp):
        return _names_types_only(arg.body, func) and _names_types_only(arg.orelse, func)
    if isinstance(arg, ast.Name):
        params = func.args.posonlyargs + func.args.args + func.args.kwonlyargs
        return any(p.arg == arg.id and p.annotation is not None and ast.unparse(p.annotation) == "EventType"
                   for p in params)
    return False


def test_every_emit_in_the_source_names_an_event_type_member():
    """Situation: the source folders' calls of ``Tx.emit``.
    Action: read each call's first argument.
    Outcome: each is an ``EventType`` member (or a parameter typed ``EventType``), never a bare string, so a
    type cannot be emitted without being defined with its classes; and every emit site is found (at least the
    dozen the hall has)."""
    calls = list(_emit_calls())
    assert len(calls) >= 12
    bad = [f"{path}:{call.lineno}: {ast.unparse(call.args[0])}" for path, func, call in calls
           if not _names_types_only(call.args[0], func)]
    assert bad == []


def test_every_type_has_exactly_one_audience():
    """Each type is public (streamed) or private (stored only), never both; the board, the voice and the calls
    use public types only, since displays and the voice are public too."""
    for kind in EventType:
        assert len(kind.classes & {EventClass.PUBLIC, EventClass.PRIVATE}) == 1, kind
        if kind.classes & {EventClass.BOARD, EventClass.SPOKEN, EventClass.CALL}:
            assert EventClass.PUBLIC in kind.classes, kind


@pytest.fixture(scope="module")
def spec() -> dict:
    """The OpenAPI document as shipped in the package."""
    return yaml.safe_load(importlib.resources.files("kiosk").joinpath("openapi.yaml").read_text(encoding="utf-8"))


def test_openapi_lists_exactly_the_public_event_types(spec):
    """The API document's event types (a stream message's `event`, an Event's `type`) are the public types in
    their order, and a latest call's `type` the call types: a client generated from it knows every event."""
    stream = spec["paths"]["/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]["schema"]
    message = next(s for s in stream["oneOf"] if s["title"] == "event")
    public = [str(t) for t in PUBLIC_TYPES]
    assert message["properties"]["event"]["enum"] == public
    assert spec["components"]["schemas"]["Event"]["properties"]["type"]["enum"] == public
    assert spec["components"]["schemas"]["Call"]["properties"]["type"]["enum"] == [str(t) for t in CALL_TYPES]


def test_the_screens_follow_only_public_types():
    """Every type a screen's script follows (``Hall.follow([...])``) is a public type, so no screen asks for a
    stream the hall refuses with 400 (a screen that would then never update)."""
    followed = {}
    for script in sorted((ROOT / "display" / "static").glob("*.js")):
        for listed in re.findall(r"Hall\.follow\(\[([^\]]*)\]", script.read_text(encoding="utf-8")):
            followed[script.name] = set(re.findall(r'"(\w+)"', listed))
    assert set(followed) >= {"counter.js", "display.js", "guide.js", "kiosk.js"}
    assert {name: types - set(PUBLIC_TYPES) for name, types in followed.items()} == {name: set() for name in followed}
