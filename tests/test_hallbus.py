"""The hall's RS-485 devices end to end: the real bus master on a pty against virtual devices that speak the
protocol's bytes (drivers/hallbus_virtual.py), driven through the API like a technician or a clerk would.

The bus runs on its own thread; checks wait with ``wait_until`` (no timed assertions)."""
import logging
import time

import pytest

from util import hall_config, wait_until

API = "/api/v1"
BUS = {"name": "hall-bus", "port": "virtual", "timeout_ms": 20, "retries": 1, "offline_after": 2,
       "ping_ms": 30, "poll_ms": 5}


def on_bus(name: str, kind: str, address: int, **extra) -> dict:
    return {"name": name, "kind": kind, "type": "bus", "options": {"bus": "hall-bus", "address": address}, **extra}


def bus_hall(cfg: dict) -> None:
    """The default hall with its displays, dispenser, keypad and evaluator on a virtual bus (no voice)."""
    cfg["buses"] = [dict(BUS)]
    cfg["devices"] = [d for d in cfg["devices"] if d["kind"] == "printer"] + [
        on_bus("counter-1-led", "counter_display", 1, counter=1),
        on_bus("counter-2-led", "counter_display", 2, counter=2),
        on_bus("hall-strip", "hall_display", 20),
        on_bus("dispenser", "dispenser", 30, services=["general", "consult"]),
        on_bus("keypad-1", "keypad", 41, counter=1),
        on_bus("rater-1", "evaluator", 51, counter=1),
    ]


pytestmark = hall_config(bus_hall)


def simulate(client, tech, device, action):
    resp = client.post(f"{API}/devices/{device}/simulate", json=action, headers=tech)
    assert resp.status_code == 200, resp.json
    return resp.json


def device(client, tech, name) -> dict:
    return next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"] if d["name"] == name)


def shows(client, tech, name) -> list[str]:
    """What the virtual device decoded from the bytes it received."""
    return device(client, tech, name)["virtual"]["shows"]


def all_online(client, tech):
    wait_until(lambda: all(d["online"] for d in client.get(f"{API}/devices", headers=tech).json["devices"]))


def test_call_appears_on_counter_display_and_strip(client, tech, take):
    """A001 is taken and counter 1 presses next: the virtual LED above counter 1 receives a SHOW with "A001"
    blinking, the strip receives the call in Chinese and English, counter 2's LED stays blank."""
    all_online(client, tech)
    take("general")
    client.post(f"{API}/counters/1/next", headers=tech)
    wait_until(lambda: shows(client, tech, "counter-1-led") == ["A001"])
    assert device(client, tech, "counter-1-led")["virtual"]["blink"] == 3
    wait_until(lambda: shows(client, tech, "hall-strip")[:2] == ["请A001号到1号窗口办理",
                                                                  "Ticket A001, please go to Counter 1"])
    assert shows(client, tech, "counter-2-led") == [""]


def test_paused_counter_display_and_idle_strip(client, tech):
    """Counter 2 pauses: its LED shows 暂停服务 / Paused; with no calls yet the strip shows the welcome text."""
    all_online(client, tech)
    client.post(f"{API}/counters/2/pause", headers=tech)
    wait_until(lambda: shows(client, tech, "counter-2-led") == ["暂停服务", "Paused"])
    assert shows(client, tech, "hall-strip") == ["欢迎光临", "Welcome"]


def test_dispenser_button_issues_a_printed_ticket_and_signals_ok(client, tech, hall):
    """Button 2 on the virtual dispenser is pressed: its TAKE is polled, consultation ticket B001 is issued
    and printed through the kiosk path, and the dispenser is sent the ok signal."""
    all_online(client, tech)
    simulate(client, tech, "dispenser", {"press": 2})
    wait_until(lambda: device(client, tech, "dispenser")["virtual"]["signals"] == ["ok"])
    assert device(client, tech, "dispenser")["last_result"]["ticket"]["number"] == "B001"
    assert "B001" in hall.devices.get("ticket-printer").printed[-1]


def test_dispenser_press_with_printer_out_signals_error_and_issues_nothing(client, tech, hall):
    """The printer is out of paper; button 1 is pressed: the dispenser gets its error signal, nothing waits
    and no ticket was printed (no phantom ticket). With paper back, the next press issues A001."""
    all_online(client, tech)
    simulate(client, tech, "ticket-printer", {"fault": "paper_out"})
    simulate(client, tech, "dispenser", {"press": 1})
    wait_until(lambda: device(client, tech, "dispenser")["virtual"]["signals"] == ["error"])
    assert device(client, tech, "dispenser")["last_result"]["error"]["code"] == "printer_unavailable"
    assert sum(s["waiting"] for s in client.get(f"{API}/services").json["services"]) == 0
    assert len(hall.devices.get("ticket-printer").printed) == 0
    simulate(client, tech, "ticket-printer", {"clear": True})
    simulate(client, tech, "dispenser", {"press": 1})
    wait_until(lambda: device(client, tech, "dispenser")["virtual"]["signals"] == ["error", "ok"])
    assert device(client, tech, "dispenser")["last_result"]["ticket"]["number"] == "A001"


def test_keypad_keys_drive_the_counter(client, tech, take):
    """Counter 1's keypad: "next" calls A001 (its LED shows it), "no-show" ends it, "pause" pauses the
    counter; each as the counter API would."""
    all_online(client, tech)
    take("general")
    simulate(client, tech, "keypad-1", {"key": "next"})
    wait_until(lambda: client.get(f"{API}/tickets/1").json["status"] == "called")
    wait_until(lambda: shows(client, tech, "counter-1-led") == ["A001"])
    simulate(client, tech, "keypad-1", {"key": "no-show"})
    wait_until(lambda: client.get(f"{API}/tickets/1").json["status"] == "no_show")
    simulate(client, tech, "keypad-1", {"key": "pause"})
    wait_until(lambda: shows(client, tech, "counter-1-led") == ["暂停服务", "Paused"])


def test_a_key_the_keypad_has_no_action_for_is_refused_and_changes_nothing(client, tech, take, hall):
    """Situation: A001 waits; counter 1's keypad firmware sends a key code (9) the protocol names no action for.
    Action: the bus polls the keypad and gets the key.
    Outcome: the keypad's last result is the refusal `unknown_action` naming the key; A001 still waits and
    counter 1 calls nobody."""
    from kiosk.drivers import hallbus_frame as hb
    all_online(client, tech)
    take("general")
    hall.devices.get("keypad-1").virtual.devices[41].queue(hb.KEY, hb.counter_event(1, 9))
    wait_until(lambda: device(client, tech, "keypad-1")["last_result"])
    error = device(client, tech, "keypad-1")["last_result"]["error"]
    assert error["code"] == "unknown_action" and "key 9" in error["message"]
    assert client.get(f"{API}/tickets/1").json["status"] == "waiting"
    assert client.get(f"{API}/counters/1", headers=tech).json["current"] is None


def test_evaluator_rating_is_stored_against_the_ticket_served(client, tech, take, hall):
    """Counter 1 calls A001 and serves it; the customer presses 4 on the evaluator: a `rated` event with
    score 4 is stored for ticket A001 at counter 1."""
    all_online(client, tech)
    take("general")
    client.post(f"{API}/counters/1/next", headers=tech)
    client.post(f"{API}/counters/1/finish", headers=tech)
    simulate(client, tech, "rater-1", {"rate": 4})
    wait_until(lambda: device(client, tech, "rater-1")["last_result"])
    rows = hall.store.reader().execute(
        "SELECT ticket_id, counter, json_extract(data, '$.score') FROM events WHERE type = 'rated'").fetchall()
    assert [tuple(r) for r in rows] == [(1, 1, 4)]


def test_rating_with_nobody_served_stores_nothing(client, tech, hall):
    """A rating at a counter that has called nobody is refused (the device shows why) and nothing is stored."""
    all_online(client, tech)
    simulate(client, tech, "rater-1", {"rate": 5})
    wait_until(lambda: device(client, tech, "rater-1")["last_result"])
    assert device(client, tech, "rater-1")["last_result"]["error"]["code"] == "nobody_to_rate"
    assert hall.store.reader().execute("SELECT count(*) FROM events WHERE type = 'rated'").fetchone()[0] == 0


def test_unplugged_display_goes_offline_and_is_resynced_when_back(client, tech, take):
    """Counter 1's LED loses power (blank, silent): the list shows it offline with its error counted; A001 is
    called meanwhile. Powered back, it is online again and shows A001 without anyone pressing anything."""
    all_online(client, tech)
    simulate(client, tech, "counter-1-led", {"unplugged": True})
    wait_until(lambda: not device(client, tech, "counter-1-led")["online"])
    state = device(client, tech, "counter-1-led")
    assert state["errors"]["timeouts"] >= 2 and "no answer at address 1" in state["last_error"]
    take("general")
    client.post(f"{API}/counters/1/next", headers=tech)
    wait_until(lambda: shows(client, tech, "hall-strip")[0] == "请A001号到1号窗口办理")
    assert shows(client, tech, "counter-1-led") == [""]
    simulate(client, tech, "counter-1-led", {"unplugged": False})
    wait_until(lambda: shows(client, tech, "counter-1-led") == ["A001"])
    assert device(client, tech, "counter-1-led")["online"] is True


def test_garbled_answers_mark_a_device_offline_without_a_crash(client, tech, caplog):
    """The strip answers with a bad CRC: the bad frames are counted, it is marked offline and it is logged
    once; the other devices keep working. Fixed, it is online again."""
    all_online(client, tech)
    with caplog.at_level(logging.WARNING, logger="kiosk.drivers.hallbus_master"):
        simulate(client, tech, "hall-strip", {"fault": "garbled", "on": True})
        wait_until(lambda: not device(client, tech, "hall-strip")["online"])
        wait_until(lambda: device(client, tech, "hall-strip")["errors"]["bad_frames"] >= 4)
    assert sum("hall-strip at address 20 does not answer" in r.getMessage() for r in caplog.records) == 1
    assert device(client, tech, "counter-1-led")["online"] is True
    simulate(client, tech, "hall-strip", {"fault": "garbled", "on": False})
    wait_until(lambda: device(client, tech, "hall-strip")["online"])


def test_unplugged_adapter_is_reopened_and_every_display_resynced(client, tech, take, caplog):
    """The USB adapter is pulled out: every bus device goes offline and the error is logged; counter 1
    calls A001 meanwhile. Plugged back, the bus reopens by itself and the LED shows A001."""
    all_online(client, tech)
    with caplog.at_level(logging.ERROR, logger="kiosk.drivers.hallbus_master"):
        simulate(client, tech, "counter-1-led", {"adapter_unplugged": True})
        wait_until(lambda: not any(d.get("online") for d in client.get(f"{API}/devices", headers=tech).json["devices"]
                                   if d["type"] == "bus"))
        wait_until(lambda: any("cannot open the port" in r.getMessage() for r in caplog.records))
    take("general")
    client.post(f"{API}/counters/1/next", headers=tech)
    simulate(client, tech, "counter-1-led", {"adapter_unplugged": False})
    # reopened on the next try of a backoff that doubles up to 5 s while the adapter was out
    wait_until(lambda: all(d["online"] for d in client.get(f"{API}/devices", headers=tech).json["devices"]),
               timeout=10)
    wait_until(lambda: shows(client, tech, "counter-1-led") == ["A001"])


def test_test_text_reaches_the_display(client, tech):
    """POST /devices/counter-2-led/test: the virtual LED receives the test text."""
    all_online(client, tech)
    assert client.post(f"{API}/devices/counter-2-led/test", headers=tech).status_code == 200
    wait_until(lambda: shows(client, tech, "counter-2-led")[0] == "8888 测试")


def test_device_list_shows_bus_details(client, tech):
    """Each bus device lists its bus, address, protocol, online state, last seen and error counts."""
    all_online(client, tech)
    led = device(client, tech, "counter-2-led")
    assert (led["bus"], led["address"], led["protocol"], led["counter"]) == ("hall-bus", 2, "hallbus", 2)
    assert led["last_seen"] and set(led["errors"]) == {"timeouts", "bad_frames", "naks"}


@pytest.mark.parametrize("name, action", [("dispenser", {"press": 3}), ("keypad-1", {"key": "finish"}),
                                          ("rater-1", {"rate": 6}), ("counter-1-led", {"fault": "on_fire"})])
def test_bad_simulation_is_400(client, tech, name, action):
    """An action the virtual device does not have is refused with 400 and presses nothing."""
    resp = client.post(f"{API}/devices/{name}/simulate", json=action, headers=tech)
    assert resp.status_code == 400 and resp.json["error"]["code"] == "bad_simulation"
    assert device(client, tech, name)["virtual"]["pending_events"] == 0


# -- presses while a device is offline: each ends in exactly one outcome ------------------------------------------

def tickets(hall) -> list[tuple[str, str]]:
    """Every ticket stored, as (number, status), in issuing order."""
    rows = hall.store.reader().execute("SELECT number, status FROM tickets ORDER BY id").fetchall()
    return [tuple(r) for r in rows]


def polled_since(client, tech, name, moment: float) -> bool:
    """The bus has had valid answers from the device for a while (0.2 s) after ``moment`` (time.time())."""
    return (device(client, tech, name)["last_seen"] or 0) > moment + 0.2


OFFLINE = {"silent": ({"fault": "silent", "on": True}, {"fault": "silent", "on": False}),
           "unplugged": ({"unplugged": True}, {"unplugged": False}),
           "adapter": ({"adapter_unplugged": True}, {"adapter_unplugged": False})}


@pytest.mark.parametrize("how", OFFLINE)
def test_presses_on_an_offline_dispenser_each_give_one_ticket_when_it_is_back(client, tech, hall, how):
    """Situation: the dispenser stops answering (silent, unplugged, or the bus adapter pulled out) and is shown
    offline.
    Action: a customer presses button 1 and then button 2 (the dispenser keeps both presses); it comes back.
    Outcome: exactly one ticket per press, A001 and B001, each printed, and the dispenser gets two ok signals;
    no press is lost (the answer that brings it back carries the first one) and none is doubled, however
    long it is polled afterwards."""
    all_online(client, tech)
    off, on = OFFLINE[how]
    simulate(client, tech, "dispenser", off)
    wait_until(lambda: not device(client, tech, "dispenser")["online"])
    simulate(client, tech, "dispenser", {"press": 1})
    simulate(client, tech, "dispenser", {"press": 2})
    assert device(client, tech, "dispenser")["virtual"]["pending_events"] == 2
    simulate(client, tech, "dispenser", on)
    wait_until(lambda: device(client, tech, "dispenser")["virtual"]["signals"] == ["ok", "ok"], timeout=10)
    done = time.time()
    wait_until(lambda: polled_since(client, tech, "dispenser", done))
    assert tickets(hall) == [("A001", "waiting"), ("B001", "waiting")]
    assert [p.splitlines()[4] for p in hall.devices.get("ticket-printer").printed] == ["A001", "B001"]
    assert device(client, tech, "dispenser")["virtual"]["signals"] == ["ok", "ok"]


def test_key_pressed_on_an_offline_keypad_acts_once_when_it_is_back(client, tech, take, hall):
    """Situation: A001 and A002 wait; counter 1's keypad is silent and shown offline.
    Action: the clerk presses "next" on it (the keypad keeps the key); the keypad answers again.
    Outcome: A001 is called at counter 1 exactly once; A002 still waits (the key was neither lost nor
    doubled)."""
    all_online(client, tech)
    take("general")
    take("general")
    simulate(client, tech, "keypad-1", {"fault": "silent", "on": True})
    wait_until(lambda: not device(client, tech, "keypad-1")["online"])
    simulate(client, tech, "keypad-1", {"key": "next"})
    simulate(client, tech, "keypad-1", {"fault": "silent", "on": False})
    wait_until(lambda: client.get(f"{API}/tickets/1").json["status"] == "called")
    done = time.time()
    wait_until(lambda: polled_since(client, tech, "keypad-1", done))
    assert tickets(hall) == [("A001", "called"), ("A002", "waiting")]
    assert device(client, tech, "keypad-1")["events"] == 1


def test_press_whose_answer_was_garbled_is_not_lost(client, tech, hall):
    """Situation: the dispenser's answers are garbled (bad CRC) on the line.
    Action: button 1 is pressed; the dispenser hands the press out on its (garbled) answer to the next poll, and
    the host cannot read it however often it asks; then the line is clean again.
    Outcome: the host asks again with the same SEQ, the dispenser repeats its answer, and exactly one ticket,
    A001, is issued with one ok signal."""
    from kiosk.drivers import hallbus_frame as hb
    all_online(client, tech)
    twin = hall.devices.get("dispenser").virtual.devices[30]
    with twin.lock:  # in one step, so the press goes out on the next (garbled) answer: had a poll been garbled
        twin.faults.add("garbled")  # first, the host would ask that poll again and again, and the press would
        twin.events.append((hb.TAKE, bytes((1,))))  # only go out once the line is clean
    wait_until(lambda: device(client, tech, "dispenser")["virtual"]["pending_events"] == 0)
    wait_until(lambda: not device(client, tech, "dispenser")["online"])
    assert tickets(hall) == []
    simulate(client, tech, "dispenser", {"fault": "garbled", "on": False})
    wait_until(lambda: device(client, tech, "dispenser")["virtual"]["signals"] == ["ok"])
    done = time.time()
    wait_until(lambda: polled_since(client, tech, "dispenser", done))
    assert tickets(hall) == [("A001", "waiting")]
    assert device(client, tech, "dispenser")["virtual"]["signals"] == ["ok"]


def test_press_of_a_button_without_a_service_lights_the_error_signal(client, tech, hall):
    """Situation: the dispenser box has more buttons than its config names services for (two).
    Action: the box reports a press of button 9 (its own firmware sends TAKE 9 on the next poll).
    Outcome: no ticket is issued, and the press still ends in the dispenser's error signal (never in nothing);
    the device list shows the bad event as its last result and error."""
    from kiosk.drivers import hallbus_frame as hb
    all_online(client, tech)
    twin = hall.devices.get("dispenser").virtual.devices[30]
    twin.queue(hb.TAKE, bytes((9,)))
    wait_until(lambda: device(client, tech, "dispenser")["virtual"]["signals"] == ["error"])
    state = device(client, tech, "dispenser")
    assert state["last_result"]["error"]["code"] == "event_failed" and "no button" in state["last_error"]
    assert tickets(hall) == []
