"""The hall prints through the real ESC/POS driver (python-escpos, pyserial, sockets) to virtual printers on a
loopback TCP port and on a pty, for every printer type that can be reached without hardware; every failure
path is driven end to end through POST /api/v1/tickets.

Each test starts its own virtual printer; the kiosk only sees the API.
"""
import concurrent.futures

import pytest
import requests

from conftest import default_config
from kiosk import tokens
from kiosk.api import create_app
from kiosk.drivers.virtual_printer import PtyPort, TcpPort, VirtualPrinter
from kiosk.store import connect
from util import assert_error, wait_until

API = "/api/v1"


@pytest.fixture
def virtual():
    """Start a virtual printer: ``virtual("tcp")`` or ``virtual("pty")``; returns (printer, port)."""
    ports = []

    def start(kind: str, port: int = 0):
        printer = VirtualPrinter()
        served = TcpPort(printer, port=port) if kind == "tcp" else PtyPort(printer)
        ports.append(served)
        return printer, served
    yield start
    for served in ports:
        served.close()


@pytest.fixture
def kiosk(make_hall):
    """Start a hall whose ticket printer has the given type and options; returns (hall, client, tech headers)."""
    def start(type_: str, options: dict):
        cfg = default_config()
        cfg["devices"][0] = {"name": "ticket-printer", "kind": "printer", "type": type_, "options": options}
        hall = make_hall(cfg)
        conn = connect(hall.store.path)
        try:
            tech = {"Authorization": f"Bearer {tokens.create(conn, 'technician', None)}"}
        finally:
            conn.close()
        return hall, create_app(hall).test_client(), tech
    return start


def waiting(client) -> int:
    return sum(s["waiting"] for s in client.get(f"{API}/services").json["services"])


def printer_state(client, tech) -> dict:
    return next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"] if d["name"] == "ticket-printer")


def reachable(kind: str, virtual) -> tuple[VirtualPrinter, str, dict]:
    """A virtual printer and the config that reaches it through one printer type."""
    if kind == "network":
        printer, port = virtual("tcp")
        return printer, "network", {"host": port.host, "port": port.port}
    printer, port = virtual("pty")
    if kind == "serial":
        return printer, "serial", {"port": port.path, "baud": 115200}
    return printer, "file", {"path": port.path}


@pytest.mark.parametrize("kind", ["network", "serial", "file"])
def test_ticket_prints_through_each_transport_and_decodes_with_chinese(kiosk, virtual, kind):
    """With a printer of type network (TCP), serial (a pty) or file (the pty as a device file), a consultation
    ticket B001 prints: the virtual printer decodes the hall name and 咨询 in Chinese mode, B001 at 4x4, the QR
    code of the status link, and the cut; the device list shows the time of the last ticket."""
    printer, type_, options = reachable(kind, virtual)
    hall, client, tech = kiosk(type_, options)
    resp = client.post(f"{API}/tickets", json={"service": "consult"})
    assert resp.status_code == 201 and resp.json["number"] == "B001"
    page = wait_until(lambda: printer.pages and printer.pages[-1]) if kind == "file" else printer.pages[-1]
    assert page.lines[:3] == ["客户服务中心", "咨询", "Consultation"]
    assert page.size_of("B001") == (4, 4)
    assert page.qr_codes == [f"http://127.0.0.1:8080/t/{resp.json['id']}"]
    assert page.cut and "请留意叫号屏幕  Please watch the call screen" in page.lines
    state = printer_state(client, tech)
    assert state["type"] == type_ and state["last_ticket_at"] is not None and state["online"] is True


@pytest.mark.parametrize("transport", ["network", "serial"])
@pytest.mark.parametrize("fault, problem", [("paper_out", "out of paper"), ("cover_open", "cover is open"),
                                            ("offline", "offline")])
def test_printer_not_ready_is_refused_on_each_transport(kiosk, transport, fault, problem):
    """The virtual printer (over TCP or its pty) reports paper out or cover open, or stops answering: the kiosk
    gets 503 `printer_unavailable` saying why, nothing waits, and the device list shows the state."""
    hall, client, tech = kiosk("virtual", {"transport": transport})
    client.post(f"{API}/devices/ticket-printer/simulate", json={"fault": fault}, headers=tech)
    err = assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert problem in err["message"]
    assert waiting(client) == 0 and hall.devices.printer.printed == []
    state = printer_state(client, tech)
    assert state["online"] is (fault != "offline")
    assert (state["paper"], state["cover_open"]) == {"paper_out": ("out", False), "cover_open": ("ok", True),
                                                    "offline": ("unknown", False)}[fault]


@pytest.mark.parametrize("transport", ["network", "serial"])
def test_paper_running_out_mid_ticket_voids_it(kiosk, transport):
    """The paper runs out while ticket A002 prints (the driver's status check after the ticket sees it): 503
    `printer_unavailable`, A002 is void with a void event, only A001 waits, the printer holds only A001's
    page, and its last error says what happened."""
    hall, client, tech = kiosk("virtual", {"transport": transport})
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    client.post(f"{API}/devices/ticket-printer/simulate", json={"fault": "fail_during_print"}, headers=tech)
    assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert client.get(f"{API}/tickets/2").json["status"] == "void"
    assert waiting(client) == 1
    assert [p.splitlines()[4] for p in hall.devices.printer.printed] == ["A001"]
    assert "while printing" in printer_state(client, tech)["last_error"]


def test_paper_near_end_prints_and_warns_the_technician_once(kiosk):
    """Paper near its end: tickets still print; the device list carries a warning, and the event stream one
    `device_warning` event (not one per ticket)."""
    hall, client, tech = kiosk("virtual", {"transport": "network"})
    client.post(f"{API}/devices/ticket-printer/simulate", json={"fault": "paper_near_end"}, headers=tech)
    for _ in range(2):
        assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    assert len(hall.devices.printer.printed) == 2
    state = printer_state(client, tech)
    assert state["paper"] == "near_end" and "near its end" in state["warning"]
    stream = create_app(hall, {"STREAM_MAX_S": 0}).test_client().get(f"{API}/events?after=0").get_data(as_text=True)
    assert stream.count("event: device_warning") == 1
    assert '"warning": "paper_near_end"' in stream and '"device": "ticket-printer"' in stream


def test_unplugged_network_printer_refuses_tickets_and_reconnects(kiosk, virtual):
    """A network printer is switched off after ticket A001: the next ticket gets 503 `printer_unavailable`,
    nothing more waits, and the device list shows it offline with the error. Switched on again at the same
    address, the driver reconnects by itself and A002 prints."""
    printer, port = virtual("tcp")
    hall, client, tech = kiosk("network", {"host": port.host, "port": port.port, "timeout": 0.3})
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    port.close()
    assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert waiting(client) == 1
    state = printer_state(client, tech)
    assert state["online"] is False and state["last_error"]
    again, _ = virtual("tcp", port.port)
    resp = wait_until(lambda: (r := client.post(f"{API}/tickets", json={"service": "general"})).status_code == 201
                      and r, timeout=10)
    assert resp.json["number"] == "A002" and again.pages[-1].lines[4] == "A002"


def test_missing_usb_printer_gives_a_clear_answer(kiosk):
    """A USB printer that is not plugged in (vendor 0x0416, product 0x5011): the kiosk gets 503
    `printer_unavailable`, nothing waits, and the device list names the USB ids in the last error."""
    hall, client, tech = kiosk("usb", {"vendor_id": 0x0416, "product_id": 0x5011})
    err = assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert "offline" in err["message"]
    assert waiting(client) == 0
    state = printer_state(client, tech)
    assert state["online"] is False and "usb 0416:5011" in state["last_error"]


def test_printer_without_chinese_font_prints_chinese_as_images(kiosk):
    """A printer set to `encoding = "image"` prints a ticket whose Chinese lines (hall, 综合业务, people ahead,
    wait, footer) arrive as raster images, and whose number and English lines arrive as text."""
    hall, client, tech = kiosk("virtual", {"transport": "network", "encoding": "image"})
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    page = hall.devices.printer.virtual.pages[-1]
    assert page.images == 5 and "A001" in page.lines and "General business" in page.lines


def test_missing_font_for_chinese_images_refuses_tickets(kiosk):
    """A printer set to `encoding = "image"` whose font file is missing: the kiosk gets 503
    `printer_unavailable`, nothing waits, and the device list says which font to install."""
    hall, client, tech = kiosk("virtual", {"transport": "network", "encoding": "image", "font": "/nonexistent.ttf"})
    assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert waiting(client) == 0
    assert "fonts-wqy-microhei" in printer_state(client, tech)["last_error"]


def test_technician_reprints_a_waiting_ticket(kiosk):
    """A technician reprints A001 (e.g. after a jam): the printer holds A001 twice and the queue is unchanged.
    With the paper out, the reprint is 503 and A001 still waits; a served ticket cannot be reprinted (409)."""
    hall, client, tech = kiosk("virtual", {"transport": "serial"})
    ticket = client.post(f"{API}/tickets", json={"service": "general"}).json
    resp = client.post(f"{API}/tickets/{ticket['id']}/reprint", headers=tech)
    assert resp.status_code == 200 and resp.json["number"] == "A001"
    assert [p.splitlines()[4] for p in hall.devices.printer.printed] == ["A001", "A001"]
    assert waiting(client) == 1
    client.post(f"{API}/devices/ticket-printer/simulate", json={"fault": "paper_out"}, headers=tech)
    assert_error(client.post(f"{API}/tickets/{ticket['id']}/reprint", headers=tech), 503, "printer_unavailable")
    assert client.get(f"{API}/tickets/{ticket['id']}").json["status"] == "waiting"
    client.post(f"{API}/counters/1/next", headers=tech)
    client.post(f"{API}/counters/1/finish", headers=tech)
    assert_error(client.post(f"{API}/tickets/{ticket['id']}/reprint", headers=tech), 409, "ticket_not_reprintable")


def test_reprint_needs_a_technician(kiosk):
    """Without a token a reprint is refused (401) and nothing is printed."""
    hall, client, tech = kiosk("virtual", {"transport": "network"})
    ticket = client.post(f"{API}/tickets", json={"service": "general"}).json
    assert_error(client.post(f"{API}/tickets/{ticket['id']}/reprint"), 401, "token_required")
    assert len(hall.devices.printer.printed) == 1


@pytest.mark.parametrize("type_, options, path, words", [
    ("usb", {"vendor_id": 0x0416, "product_id": 0x5011, "timeout": 0}, "devices[0].options.timeout", "wait forever"),
    ("usb", {"vendor_id": 0x0416}, "devices[0].options.product_id", "required"),
    ("serial", {"port": "/dev/ttyUSB0", "baud": 1234}, "devices[0].options.baud", "9600"),
    ("network", {"host": "10.0.0.9", "speed": 1}, "devices[0].options.speed", "known here"),
    ("virtual", {"encoding": "utf-16"}, "devices[0].options.encoding", "gb18030"),
    ("virtual", {"paper_width": 76}, "devices[0].options.paper_width", "58"),
])
def test_printer_options_are_checked_with_their_path(client, tech, type_, options, path, words):
    """A printer entry with a bad option is refused with 422 `invalid_config` naming the option's path and
    what it must be; the config in force is unchanged."""
    cfg = client.get(f"{API}/config", headers=tech).json
    cfg["devices"][0].update(type=type_, options=options)
    err = assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 422, "invalid_config")
    assert err["path"] == path and words in err["message"]
    assert client.get(f"{API}/config", headers=tech).json["devices"][0]["type"] == "virtual"


def test_ticket_preview_shows_what_the_printer_printed(kiosk):
    """A technician opens the preview of claims ticket C001: an HTML page 72 mm wide (80 mm paper) whose
    text holds the same lines the virtual printer decoded (hall, 理赔, C001, people ahead, the link), with the
    QR code drawn as SVG; a kiosk without a token gets 401."""
    hall, client, tech = kiosk("virtual", {"transport": "network"})
    ticket = client.post(f"{API}/tickets", json={"service": "claims"}).json
    resp = client.get(f"{API}/tickets/{ticket['id']}/preview", headers=tech)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    printed = [line for line in hall.devices.printer.printed[-1].splitlines() if line]
    assert all(f">{line}</p>" in html for line in printed)
    assert "width:72mm" in html and "<svg" in html
    assert_error(client.get(f"{API}/tickets/{ticket['id']}/preview"), 401, "token_required")


def test_kiosks_printing_at_once_each_get_their_own_whole_ticket(live, hall):
    """Eight kiosks issue five tickets each at the same time through the production server: the printer's one
    worker thread prints them one after another, so the virtual printer decodes 40 whole pages, each holding
    exactly the number its kiosk was given, with no bytes it did not understand."""
    def kiosk_run(_):
        with requests.Session() as session:
            return [session.post(f"{live}/api/v1/tickets", json={"service": "general"}).json()["number"]
                    for _ in range(5)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(kiosk_run, range(8)) for n in batch]
    pages = list(hall.devices.printer.virtual.pages)
    assert sorted(numbers) == [f"A{i:03d}" for i in range(1, 41)]
    assert sorted(page.lines[4] for page in pages) == sorted(numbers)
    assert all(page.cut and len(page.qr_codes) == 1 for page in pages)
    assert hall.devices.printer.virtual.unknown_commands == []
