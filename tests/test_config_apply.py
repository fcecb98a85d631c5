"""Saving a config while the hall serves: kiosks keep answering, only the devices whose entry changed are rebuilt,
the ticket being printed is printed and the next goes to the new printer driver, and removed devices go away.

Everything runs through the API (the production server where kiosks run at once) on the default hall: the real
ESC/POS driver to the virtual printer, the RS-485 bus with its virtual devices, the espeak-ng voice."""
import copy
import socket
import threading
import time

import requests

from kiosk import tokens
from kiosk.drivers import registry
from kiosk.store import connect
from util import hall_config, wait_until

API = "/api/v1"



def wait_until_closed(host: str, port: int) -> None:
    """Wait until nothing listens on ``host:port`` any more (an old virtual printer's port was closed)."""
    def refused() -> bool:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return True
        return False
    wait_until(refused, timeout=10)

def technician(hall) -> dict:
    conn = connect(hall.store.path)
    try:
        return {"Authorization": f"Bearer {tokens.create(conn, 'technician')}"}
    finally:
        conn.close()


def entry(cfg: dict, name: str) -> dict:
    """The ``[[devices]]`` entry called ``name``."""
    return next(d for d in cfg["devices"] if d["name"] == name)


def device_state(client, tech, name: str) -> dict:
    return next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"] if d["name"] == name)


def put(client, tech, cfg: dict) -> None:
    resp = client.put(f"{API}/config", json=cfg, headers=tech)
    assert resp.status_code == 200, resp.get_data(as_text=True)


class Kiosk(threading.Thread):
    """A kiosk taking general tickets one after another over keep-alive HTTP until told to stop or ``most``
    tickets were taken; keeps each answer's status, ticket and how long it took."""

    def __init__(self, url: str, stop: threading.Event, most: int):
        super().__init__(daemon=True)
        self.url, self.halt, self.most = url, stop, most
        self.answers: list[tuple[int, dict, float]] = []

    def run(self) -> None:
        with requests.Session() as session:
            while not self.halt.is_set() and len(self.answers) < self.most:
                start = time.monotonic()
                resp = session.post(f"{self.url}{API}/tickets", json={"service": "general"}, timeout=60)
                self.answers.append((resp.status_code, resp.json(), time.monotonic() - start))


def test_kiosks_keep_answering_while_saves_change_the_voice_rate_and_the_print_timeout(live, hall):
    """Four kiosks take tickets without pause while a technician saves the config back to back, each save
    changing the voice's rate or the printer's print_timeout (so the voice and the printer driver are rebuilt
    each time). Every kiosk request is answered 201 well within 5 s (none waits out a print timeout), no
    ticket is voided (every ticket told is waiting), and the virtual printer printed each ticket exactly once."""
    tech = technician(hall)
    cfg = requests.get(f"{live}{API}/config", headers=tech, timeout=10).json()
    done = threading.Event()
    kiosks = [Kiosk(live, done, most=45) for _ in range(4)]
    for kiosk in kiosks:
        kiosk.start()
    saves = 0
    while any(k.is_alive() for k in kiosks) and saves < 40:
        new = copy.deepcopy(cfg)
        if saves % 2:
            entry(new, "voice")["options"]["rate"] = 151 + saves
        else:
            entry(new, "ticket-printer")["options"]["print_timeout"] = 10.0 + saves
        resp = requests.put(f"{live}{API}/config", json=new, headers=tech, timeout=60)
        assert resp.status_code == 200, resp.text
        saves += 1
    done.set()
    for kiosk in kiosks:
        kiosk.join(60)
    answers = [a for k in kiosks for a in k.answers]
    assert saves >= 4 and len(answers) >= 4
    assert [status for status, _, _ in answers if status != 201] == []
    assert max(took for _, _, took in answers) < 5.0
    told = [body for _, body, _ in answers]
    statuses = {requests.get(f"{live}{API}/tickets/{t['id']}", timeout=10).json()["status"] for t in told}
    assert statuses == {"waiting"}
    printed = [page.lines[4] for page in hall.devices.printer.virtual.pages]
    assert sorted(printed) == sorted(t["number"] for t in told)


def test_a_save_leaves_unchanged_devices_running_and_adds_and_removes_devices_on_a_running_bus(client, tech, hall):
    """Counter 2's LED is unplugged (on its virtual twin) and the printer's paper is near its end. A save
    changes the voice's rate, adds a keypad for counter 2 on the same bus and removes the evaluator. The
    unchanged devices were not rebuilt: counter 2's LED is still offline, the printer still reports its paper
    near its end. The evaluator is gone from the device list; the new keypad comes online and its "next" key
    calls A001 at counter 2, and once counter 2's LED is plugged back in it shows A001."""
    unplug = client.post(f"{API}/devices/counter-2-led/simulate", json={"unplugged": True}, headers=tech)
    assert unplug.status_code == 200
    client.post(f"{API}/devices/ticket-printer/simulate", json={"fault": "paper_near_end"}, headers=tech)
    wait_until(lambda: device_state(client, tech, "counter-2-led")["online"] is False)
    cfg = client.get(f"{API}/config", headers=tech).json
    entry(cfg, "voice")["options"]["rate"] = 170
    cfg["devices"] = [d for d in cfg["devices"] if d["name"] != "evaluator-1"]
    cfg["devices"].append({"name": "keypad-2", "kind": "keypad", "type": "bus", "counter": 2,
                           "options": {"bus": "hall-bus", "address": 42}})
    put(client, tech, cfg)

    names = [d["name"] for d in client.get(f"{API}/devices", headers=tech).json["devices"]]
    assert "evaluator-1" not in names and "keypad-2" in names
    assert device_state(client, tech, "counter-2-led")["online"] is False
    assert device_state(client, tech, "ticket-printer")["paper"] == "near_end"
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A001"
    wait_until(lambda: device_state(client, tech, "keypad-2")["online"])
    client.post(f"{API}/devices/keypad-2/simulate", json={"key": "next"}, headers=tech)
    wait_until(lambda: client.get(f"{API}/counters/2", headers=tech).json["current"])
    assert client.get(f"{API}/counters/2", headers=tech).json["current"]["number"] == "A001"
    client.post(f"{API}/devices/counter-2-led/simulate", json={"unplugged": False}, headers=tech)
    wait_until(lambda: hall.devices.get("counter-2-led").virtual.devices[2].lines == ("A001",))


def test_a_changed_bus_entry_rebuilds_that_bus_and_its_displays_show_the_queue_again(client, tech, hall):
    """Counter 1 called A001 and its LED shows it; counter 3's LED is unplugged and the printer's paper is near
    its end. A save changes the bus's retries: the bus and every device on it are rebuilt (counter 3's twin
    is a fresh, plugged-in one), all come back online and counter 1's LED shows A001 again, while the printer
    (not on the bus) is untouched and still reports its paper near its end."""
    client.post(f"{API}/devices/ticket-printer/simulate", json={"fault": "paper_near_end"}, headers=tech)
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    wait_until(lambda: hall.devices.get("counter-1-led").virtual.devices[1].lines == ("A001",))
    client.post(f"{API}/devices/counter-3-led/simulate", json={"unplugged": True}, headers=tech)
    wait_until(lambda: device_state(client, tech, "counter-3-led")["online"] is False)
    cfg = client.get(f"{API}/config", headers=tech).json
    cfg["buses"][0]["retries"] = 2
    put(client, tech, cfg)

    assert device_state(client, tech, "ticket-printer")["paper"] == "near_end"
    bus_devices = [d["name"] for d in cfg["devices"] if d["type"] == "bus"]
    wait_until(lambda: all(device_state(client, tech, name)["online"] for name in bus_devices))
    wait_until(lambda: hall.devices.get("counter-1-led").virtual.devices[1].lines == ("A001",))


def _patient_printer(cfg):
    entry(cfg, "ticket-printer")["options"]["timeout"] = 3.0   # a slow printer's answers are still taken


@hall_config(_patient_printer)
def test_the_ticket_being_printed_when_the_printer_entry_changes_is_printed_and_the_next_uses_the_new_settings(
        live, hall):
    """The virtual printer answers slowly (a ticket takes about two seconds). While A001 is being printed,
    a technician changes the printer to 58 mm paper. A001 is printed once, whole, with the old 80 mm layout
    (number at 4x size) and answered 201; A002 is printed by the new driver (number at 3x, the 58 mm size).
    The virtual printer is the same hardware throughout: its slow fault is still on and it holds both pages."""
    tech = technician(hall)
    requests.post(f"{live}{API}/devices/ticket-printer/simulate", json={"fault": "slow_answers", "delay_s": 1.0},
                  headers=tech, timeout=10)
    cfg = requests.get(f"{live}{API}/config", headers=tech, timeout=10).json()
    entry(cfg, "ticket-printer")["options"]["paper_width"] = 58
    virtual = hall.devices.printer.virtual
    first: dict = {}
    kiosk = threading.Thread(target=lambda: first.update(
        resp=requests.post(f"{live}{API}/tickets", json={"service": "general"}, timeout=60)))
    kiosk.start()
    wait_until(lambda: virtual.received > 200, timeout=10)  # the ticket's bytes are arriving
    saved = requests.put(f"{live}{API}/config", json=cfg, headers=tech, timeout=60)
    assert saved.status_code == 200
    assert kiosk.is_alive()  # the save was answered while A001 was still being printed
    kiosk.join(30)
    assert first["resp"].status_code == 201 and first["resp"].json()["number"] == "A001"
    second = requests.post(f"{live}{API}/tickets", json={"service": "general"}, timeout=60)
    assert second.status_code == 201
    pages = list(hall.devices.printer.virtual.pages)
    assert [p.lines[4] for p in pages] == ["A001", "A002"]
    assert pages[0].size_of("A001") == (4, 4) and pages[1].size_of("A002") == (3, 3)
    state = requests.get(f"{live}{API}/devices", headers=tech, timeout=10).json()["devices"]
    printer = next(d for d in state if d["name"] == "ticket-printer")
    assert printer["faults"] == ["slow_answers"] and printer["printed"] == 2
    assert requests.get(f"{live}{API}/tickets/{first['resp'].json()['id']}", timeout=10).json()["status"] == "waiting"


def test_moving_the_virtual_printer_to_another_transport_closes_the_old_simulator_port(client, tech, hall):
    """The virtual printer listens on a loopback TCP port and printed A001. A save moves it to the serial
    transport (a pty): A002 is printed over the pty to the same virtual printer (it holds both pages), and
    the old TCP port no longer accepts connections."""
    printer = hall.devices.printer
    host, port = printer.options["host"], printer.options["port"]
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    cfg = client.get(f"{API}/config", headers=tech).json
    entry(cfg, "ticket-printer")["options"]["transport"] = "serial"
    put(client, tech, cfg)
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    assert [p.lines[4] for p in hall.devices.printer.virtual.pages] == ["A001", "A002"]
    assert hall.devices.printer.options["port"].startswith("/dev/")
    wait_until_closed(host, port)


def test_a_printer_replaced_by_a_simulated_one_hands_over_and_its_port_closes(client, tech, hall):
    """A save replaces the virtual ESC/POS printer with a simulated printer: the next ticket is printed on the
    simulated printer at once, and the old driver's simulator port is closed."""
    old = hall.devices.printer
    host, port = old.options["host"], old.options["port"]
    cfg = client.get(f"{API}/config", headers=tech).json
    cfg["devices"][0] = {"name": "ticket-printer", "kind": "printer", "type": "simulated", "options": {}}
    put(client, tech, cfg)
    start = time.monotonic()
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    assert time.monotonic() - start < 5.0
    assert "A001" in hall.devices.printer.printed[-1]
    wait_until_closed(host, port)


def test_calls_waiting_to_be_announced_are_spoken_once_by_the_new_voice(client, tech, hall):
    """Four counters call A001-A004 one after another, and at once a technician changes the voice's rate: the
    calls the old voice had not spoken yet are spoken by the new one, so each call is announced exactly once
    (one announcement file each)."""
    for _ in range(4):
        client.post(f"{API}/tickets", json={"service": "general"})
    for counter in (1, 2, 3, 4):
        assert client.post(f"{API}/counters/{counter}/next", headers=tech).status_code == 200
    cfg = client.get(f"{API}/config", headers=tech).json
    entry(cfg, "voice")["options"]["rate"] = 180
    put(client, tech, cfg)
    folder = hall.data_dir / "announcements"

    def calls() -> list[str]:
        return sorted(p.name.split("-call-")[1].split("-")[0] for p in folder.glob("*-call-*.wav"))
    wait_until(lambda: len(calls()) >= 4, timeout=60)
    assert calls() == ["A001", "A002", "A003", "A004"]
    assert hall.devices.speech.options["rate"] == 180


def test_a_stopped_printer_driver_refuses_a_status_check_at_once_instead_of_timing_out():
    """A virtual ESC/POS printer's driver answers a status check, then is stopped (as a replaced driver is).
    A caller that still holds it and asks again is told at once that the driver has stopped, instead of
    waiting out the timeout for a job that would never run."""
    spec = {"name": "ticket-printer", "kind": "printer", "type": "virtual", "counter": 0, "services": [],
            "options": {}}
    spec["options"] = registry.check_device(spec, "devices[0]")
    printer = registry.build(spec)
    printer.start()
    assert printer.status().ready
    printer.stop()
    status = printer.status()
    assert not status.online and "driver has stopped" in status.error
