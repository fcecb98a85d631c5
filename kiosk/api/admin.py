"""The technician's resources: config, devices, the Starlight roster."""
from __future__ import annotations

import copy
import time

from flask import Blueprint, Response, jsonify, request

from .. import config_file, roster, settings, tickets
from ..display.spoken import sample_announcement
from ..display import ticket_preview
from ..display.texts import DisplayText
from ..drivers.base import BadSimulation, DeviceError, Display, NotSimulated, Printer, Speech
from ..errors import BadRequest, Conflict, HallError
from .auth import hall, requires
from .body import field, json_object, only
from .headers import PREVIEW_CSP

bp = Blueprint("admin", __name__)

TEST_TEXT = DisplayText(("8888 测试", "TEST"), blink=3)


@bp.get("/config")
@requires("manager")
def get_config():
    """The effective config: JSON of the same shape as the TOML file, or with ``?format=toml`` the config
    file's own text with its comments (what the console's editor shows and saves back)."""
    h = hall()
    form = request.args.get("format", "json")
    if form == "toml":
        text = config_file.current_text(h.config_path, h.config.data)
        return Response(text, content_type="application/toml; charset=utf-8")
    if form != "json":
        raise BadRequest("format must be json or toml.", code="bad_field", field="format")
    return jsonify(h.config.data)


@bp.put("/config")
@requires()
def put_config():
    """Replace the whole config (JSON or TOML); validated, saved, and applied without a restart.

    A TOML body is saved as it was sent; a JSON body edits the config file in place (kiosk/config_file.py)."""
    ctype = request.mimetype or ""
    h = hall()
    if ctype == "application/json":
        sent = settings.read_json(request.get_data())
        h.apply_config(settings.validate(copy.deepcopy(sent)), sent=sent)
    elif ctype in ("application/toml", "text/plain", "text/x-toml"):
        try:
            text = request.get_data().decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The config must be UTF-8 text.", code="bad_encoding") from None
        h.apply_config(settings.parse_toml(text), text=text)
    else:
        raise BadRequest("Send the config as application/json or application/toml.",
                         code="unsupported_media_type", status=415)
    return jsonify(h.config.data)


@bp.get("/devices")
@requires("manager")
def list_devices():
    """The state of every device."""
    return jsonify({"devices": hall().devices.states()})


@bp.post("/devices/<name>/test")
@requires()
def test_device(name: str):
    """Print a test page, flash a test text, or speak a test sentence."""
    h = hall()
    device = h.devices.get(name)
    try:
        if isinstance(device, Printer):
            device.test_page()
        elif isinstance(device, Display):
            device.show(TEST_TEXT)
            h.devices.resync_later(3.0)  # back to the queue's state after the test text
        elif isinstance(device, Speech):
            device.announce(sample_announcement(h.config.languages, time.time()))
    except DeviceError as exc:
        device.note_error(exc.message)
        raise HallError(f"{name}: {exc.message}", code="device_unavailable", status=503) from None
    return jsonify(device.state())


@bp.post("/tickets/<int:ticket_id>/reprint")
@requires()
def reprint_ticket(ticket_id: int):
    """Print a waiting or called ticket again (after a jam or a lost ticket); the queue does not change."""
    return jsonify(hall().reprint_ticket(ticket_id))


@bp.get("/tickets/<int:ticket_id>/preview")
@requires("manager")
def preview_ticket(ticket_id: int):
    """The ticket as it would print now, as an HTML page (same layout as the printer's)."""
    h = hall()
    view = h.ticket_view(ticket_id)
    style = getattr(h.devices.printer, "style", None)   # an ESC/POS printer knows its paper width
    html = ticket_preview.render(h.ticket_layout(view), style.width_mm if style else 80)
    return html, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PREVIEW_CSP}


@bp.post("/devices/<name>/simulate")
@requires()
def simulate_device(name: str):
    """Drive a simulated device: switch a fault, unplug a display, press a dispenser button.

    One action per body, with only the keys that go with it (each device kind's ``SIMULATE``): an unknown key
    is 400 ``unknown_field``, two actions 400 ``one_action``, a value the device does not take 400
    ``bad_simulation``."""
    h = hall()
    device = h.devices.get(name)
    action = json_object()
    try:
        result = device.simulate(action)
    except NotSimulated as exc:
        raise Conflict(str(exc), code="not_simulated") from None
    except BadSimulation as exc:
        raise BadRequest(exc.message, code=exc.code, **exc.details) from None
    except DeviceError as exc:
        raise HallError(exc.message, code=exc.code, status=503) from None
    if isinstance(device, Display):
        h.devices.resync()
        result = device.state()  # what it shows after the resync, not before
    return jsonify(result)


@bp.get("/roster/starlight")
@requires("manager")
def get_roster():
    """The Starlight roster with names and codes masked."""
    h = hall()
    today = tickets.local_date(h.clock.now(), h.config)
    return jsonify({"agents": roster.listing(h.store.reader(), today)})


@bp.put("/roster/starlight")
@requires()
def put_roster():
    """Replace the roster from CSV or JSON rows; the answer counts accepted and rejected rows with reasons."""
    return jsonify(hall().import_roster(request.get_data(), request.mimetype or ""))


@bp.post("/roster/starlight/<code>/revoke")
@requires()
def revoke_agent(code: str):
    """Revoke one agent's qualification at once (a confirmed quality problem)."""
    data = json_object()
    only(data, "reason")
    reason = field(data, "reason", str)
    hall().writer.run(roster.revoke, code, reason)
    return jsonify({"revoked": roster.mask_code(code)})
