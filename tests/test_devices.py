"""The simulated devices through the API: the ticket printer and its faults, the counter LEDs and the hall strip,
the voice, the dispenser buttons, and the technician's device list, test and simulate actions.

Displays and speech follow committed events on a background thread, so their checks wait with `wait_until`.
"""
import pytest

from kiosk.api import create_app
from util import assert_error, wait_until

API = "/api/v1"



def waiting(client) -> dict:
    return {s["id"]: s["waiting"] for s in client.get(f"{API}/services").json["services"]}


def simulate(client, tech, device, action):
    return client.post(f"{API}/devices/{device}/simulate", json=action, headers=tech)


def public_events(hall) -> list[str]:
    """The event stream's backlog from the start, as text."""
    return create_app(hall, {"STREAM_MAX_S": 0}).test_client().get(f"{API}/events?after=0").get_data(as_text=True)


# -- the ticket printer ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["paper_out", "offline", "cover_open"])
def test_printer_not_ready_refuses_ticket_and_nothing_waits(client, tech, hall, fault):
    """A001 is waiting; the printer is switched to a fault (paper out, offline, cover open); a kiosk asks for a
    ticket: 503 `printer_unavailable` with a message for the customer, the waiting counts are unchanged and
    nothing more is printed. After the fault is cleared, the next ticket is A002."""
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A001"
    before = waiting(client)
    printer = hall.devices.get("ticket-printer")
    printed = len(printer.printed)
    assert simulate(client, tech, "ticket-printer", {"fault": fault}).status_code == 200
    err = assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert "guide desk" in err["message"]
    assert waiting(client) == before
    assert len(printer.printed) == printed
    assert simulate(client, tech, "ticket-printer", {"clear": True}).status_code == 200
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A002"


def test_printer_failing_mid_print_voids_the_ticket(client, tech, hall):
    """A001 prints; the printer is set to fail during printing; the next request gets 503
    `printer_unavailable`, its ticket (id 2, A002) is `void` with a `void` event, and only A001 waits."""
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201
    assert simulate(client, tech, "ticket-printer", {"fault": "fail_during_print"}).status_code == 200
    assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    voided = client.get(f"{API}/tickets/2")
    assert voided.json["status"] == "void" and voided.json["number"] == "A002"
    assert waiting(client)["general"] == 1
    events = public_events(hall)
    assert "event: void" in events and '"number": "A002"' in events
    devices = {d["name"]: d for d in client.get(f"{API}/devices", headers=tech).json["devices"]}
    assert devices["ticket-printer"]["last_error"]


def test_printer_paper_near_end_still_prints(client, tech, hall):
    """With the paper near its end, a ticket is still issued and printed; the device list reports the paper
    as `near_end`."""
    assert simulate(client, tech, "ticket-printer", {"fault": "paper_near_end"}).status_code == 200
    resp = client.post(f"{API}/tickets", json={"service": "consult"})
    assert resp.status_code == 201
    assert resp.json["number"] in hall.devices.get("ticket-printer").printed[-1]
    printer = next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"]
                   if d["name"] == "ticket-printer")
    assert printer["paper"] == "near_end" and printer["online"] is True


def test_printer_fault_can_be_switched_off(client, tech):
    """A paper-out fault switched off with {"fault": "paper_out", "on": false} lets tickets print again."""
    simulate(client, tech, "ticket-printer", {"fault": "paper_out"})
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 503
    state = simulate(client, tech, "ticket-printer", {"fault": "paper_out", "on": False}).json
    assert state["faults"] == [] and state["paper"] == "ok"
    assert client.post(f"{API}/tickets", json={"service": "general"}).status_code == 201


def test_printed_ticket_holds_what_a_customer_needs(client, hall):
    """Two customers wait for general business; a third takes A003: the printed ticket shows the hall name,
    both service names, A003, "前面还有 2 人" / "2 ahead of you", the estimated wait in minutes, and the status
    link http://127.0.0.1:8080/t/3; a normal ticket carries no priority mark."""
    for _ in range(2):
        client.post(f"{API}/tickets", json={"service": "general"})
    resp = client.post(f"{API}/tickets", json={"service": "general"})
    assert resp.json["number"] == "A003" and resp.json["ahead"] == 2
    text = hall.devices.get("ticket-printer").printed[-1]
    lines = text.splitlines()
    assert lines[0] == "客户服务中心"
    assert "综合业务" in lines and "General business" in lines and "A003" in lines
    assert "前面还有 2 人  2 ahead of you" in lines
    minutes = round(resp.json["estimated_wait_s"] / 60)
    assert any(line.startswith(f"预计等候 {minutes} 分钟") and f"about {minutes} min" in line for line in lines)
    assert f"http://127.0.0.1:8080/t/{resp.json['id']}" in lines
    assert "星光" not in text and "贵宾" not in text and "VIP" not in text


def test_printed_starlight_and_vip_tickets_carry_a_priority_mark_and_no_personal_data(client, tech, token, hall):
    """A Starlight ticket for agent 王小明 (SL7001) prints "★ 星光服务" / "Starlight priority" and neither the
    name nor the code; a guide's VIP ticket prints "贵宾 绿色通道" / "VIP green channel" and V001."""
    roster = ("agent_code,name,branch,valid_from,valid_until\n"
              "SL7001,王小明,haidian,2026-10-01,2027-03-31\n").encode()
    client.put(f"{API}/roster/starlight", data=roster, headers={**tech, "Content-Type": "text/csv"})
    printer = hall.devices.get("ticket-printer")
    star = client.post(f"{API}/tickets", json={"service": "claims", "priority": "starlight", "agent_code": "SL7001"})
    assert star.status_code == 201
    text = printer.printed[-1]
    assert "★ 星光服务" in text and "Starlight priority" in text and star.json["number"] in text
    assert "SL7001" not in text and "王小明" not in text
    vip = client.post(f"{API}/tickets", json={"service": "claims", "priority": "vip"}, headers=token("guide"))
    text = printer.printed[-1]
    assert "贵宾 绿色通道" in text and "VIP green channel" in text and "V001" in text
    assert f"/t/{vip.json['id']}" in text


def test_printer_test_page_is_printed(client, tech, hall):
    """POST /devices/ticket-printer/test prints a test page: 200 with the printer's state, and the virtual
    printer holds the test page: its title and a line of Chinese text."""
    resp = client.post(f"{API}/devices/ticket-printer/test", headers=tech)
    assert resp.status_code == 200 and resp.json["name"] == "ticket-printer"
    page = hall.devices.get("ticket-printer").printed[-1].splitlines()
    assert page[:2] == ["*** TEST PAGE ***", "测试页 中文打印正常"]


# -- displays ---------------------------------------------------------------------------------------------------

def test_call_shows_on_counter_led_and_hall_strip(client, tech, hall):
    """Counter 1 calls A001: its LED shows "A001" and the hall strip shows "请A001号到1号窗口办理" and
    "Ticket A001, please go to Counter 1"; counter 2's LED stays blank."""
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    led, strip = hall.devices.get("counter-1-led"), hall.devices.get("hall-strip")
    wait_until(lambda: led.text.lines == ("A001",))
    wait_until(lambda: strip.text.lines[:2] == ("请A001号到1号窗口办理", "Ticket A001, please go to Counter 1"))
    assert hall.devices.get("counter-2-led").text.lines == ("",)


def test_hall_strip_shows_latest_call_first(client, tech, hall):
    """Counter 1 calls A001, then counter 5 calls A002: the hall strip's first lines are A002's call to the
    green-channel counter, followed by A001's."""
    for _ in range(2):
        client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    client.post(f"{API}/counters/5/next", headers=tech)
    strip = hall.devices.get("hall-strip")
    wait_until(lambda: strip.text.lines == ("请A002号到5号窗口 绿色通道办理", "Ticket A002, please go to Counter 5 (green channel)",
                                            "请A001号到1号窗口办理", "Ticket A001, please go to Counter 1"))


def test_paused_counter_shows_paused(client, tech, hall):
    """Counter 3 pauses: its LED shows "暂停服务" / "Paused"; after resuming it is blank again."""
    assert client.post(f"{API}/counters/3/pause", headers=tech).json["paused"] is True
    led = hall.devices.get("counter-3-led")
    wait_until(lambda: led.text.lines == ("暂停服务", "Paused"))
    assert client.post(f"{API}/counters/3/resume", headers=tech).json["paused"] is False
    wait_until(lambda: led.text.lines == ("",))


def test_served_ticket_clears_counter_led(client, tech, hall):
    """Counter 1 calls A001 and finishes it: the LED goes from "A001" back to blank."""
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    led = hall.devices.get("counter-1-led")
    wait_until(lambda: led.text.lines == ("A001",))
    client.post(f"{API}/counters/1/finish", headers=tech)
    wait_until(lambda: led.text.lines == ("",))


def online(client, tech, name) -> bool:
    return next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"] if d["name"] == name)["online"]


def shown(hall, name) -> tuple[str, ...]:
    """What the display on the default config's virtual bus decoded from the bytes it received."""
    device = hall.devices.get(name)
    return device.virtual.devices[device.address].lines


def test_unplugged_display_is_resynced_when_plugged_back(client, tech, hall):
    """Counter 1's LED is unplugged: once it misses its pings the device list shows it offline; counter 1
    calls A001 meanwhile and the LED misses it. Plugged back in, it shows A001 as soon as it answers, without
    anyone pressing anything."""
    assert simulate(client, tech, "counter-1-led", {"unplugged": True}).status_code == 200
    wait_until(lambda: online(client, tech, "counter-1-led") is False)
    later = hall.devices.get("counter-5-led")
    updates = later.virtual.devices[5].updates
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    wait_until(lambda: later.virtual.devices[5].updates > updates)  # the displays after counter 1's were updated
    assert shown(hall, "counter-1-led") == ("",)
    assert simulate(client, tech, "counter-1-led", {"unplugged": False}).status_code == 200
    wait_until(lambda: shown(hall, "counter-1-led") == ("A001",))
    assert online(client, tech, "counter-1-led") is True


def test_display_test_flashes_test_text(client, tech, hall):
    """POST /devices/counter-2-led/test shows the test text on that LED (answer 200 with its lines)."""
    resp = client.post(f"{API}/devices/counter-2-led/test", headers=tech)
    assert resp.status_code == 200
    assert resp.json["lines"][0] == "8888 测试"


def test_display_test_on_an_unplugged_display_is_503(client, tech):
    """Testing an unplugged display (once it is known to be offline) answers 503 `device_unavailable` naming
    the display."""
    simulate(client, tech, "hall-strip", {"unplugged": True})
    wait_until(lambda: online(client, tech, "hall-strip") is False)
    err = assert_error(client.post(f"{API}/devices/hall-strip/test", headers=tech), 503, "device_unavailable")
    assert "hall-strip" in err["message"]


# -- speech ----------------------------------------------------------------------------------------------------

def test_each_call_and_recall_is_announced_in_both_languages(client, tech, hall):
    """Counter 2 calls A001 and, once that call has been spoken, recalls it: the hall's voice (espeak-ng)
    has made two announcements, the call "请 A 零 零 一 号到2号窗口办理" / "Ticket A-zero zero one, please go to
    Counter 2" and the recall with the recall template's words. (tests/test_voice.py checks the audio.)"""
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/2/next", headers=tech)
    voice = hall.devices.get("voice")
    wait_until(lambda: len(voice.spoken) == 1, timeout=15)
    client.post(f"{API}/counters/2/recall", headers=tech)
    wait_until(lambda: len(voice.spoken) == 2, timeout=15)
    assert list(voice.spoken) == [
        {"zh-CN": "请 A 零 零 一 号到2号窗口办理", "en": "Ticket A-zero zero one, please go to Counter 2"},
        {"zh-CN": "再次呼叫，请 A 零 零 一 号到2号窗口办理", "en": "Calling again: ticket A-zero zero one, please go to Counter 2"},
    ]


def test_speech_test_is_announced(client, tech, hall):
    """POST /devices/voice/test speaks a test sentence in both languages."""
    assert client.post(f"{API}/devices/voice/test", headers=tech).status_code == 200
    voice = hall.devices.get("voice")
    wait_until(lambda: voice.spoken, timeout=15)
    assert voice.spoken[-1] == {"zh-CN": "这是一条测试广播", "en": "This is a test announcement"}


# -- the dispenser ---------------------------------------------------------------------------------------------

def dispenser_outcome(client, tech) -> dict:
    """The dispenser's state once its press has gone over the bus and been handled."""
    return wait_until(lambda: (d := next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"]
                                         if d["name"] == "dispenser"))["last_result"] and d)


def test_dispenser_button_issues_and_prints_a_ticket(client, tech, hall):
    """Pressing button 2 of the dispenser issues a consultation ticket B001 through the kiosk's path: it is
    printed, waits for consultation, the device list counts the press and the dispenser shows "ok"."""
    resp = simulate(client, tech, "dispenser", {"press": 2})
    assert resp.status_code == 200
    dispenser = dispenser_outcome(client, tech)
    assert dispenser["last_result"]["ok"] is True
    ticket = dispenser["last_result"]["ticket"]
    assert ticket["number"] == "B001" and ticket["service"] == "consult" and ticket["status"] == "waiting"
    assert "B001" in hall.devices.get("ticket-printer").printed[-1]
    assert waiting(client)["consult"] == 1
    assert dispenser["events"] == 1 and dispenser["buttons"][1] == "consult"
    wait_until(lambda: hall.devices.get("dispenser").virtual.devices[30].signals)
    assert list(hall.devices.get("dispenser").virtual.devices[30].signals) == ["ok"]


def test_dispenser_with_printer_out_of_paper_gives_printer_error_and_no_ticket(client, tech, hall):
    """With the printer out of paper, pressing button 1 reports the printer error `printer_unavailable` and no
    ticket; nothing waits, and the dispenser is sent its error signal."""
    simulate(client, tech, "ticket-printer", {"fault": "paper_out"})
    simulate(client, tech, "dispenser", {"press": 1})
    result = dispenser_outcome(client, tech)["last_result"]
    assert result["ok"] is False
    assert result["error"]["code"] == "printer_unavailable"
    assert "ticket" not in result
    assert sum(waiting(client).values()) == 0
    wait_until(lambda: list(hall.devices.get("dispenser").virtual.devices[30].signals) == ["error"])


# -- the device list and bad actions ----------------------------------------------------------------------------

def test_device_list_shows_every_device_online(client, tech):
    """GET /devices lists the printer, the dispenser, the hall strip, the five counter LEDs, counter 1's keypad
    and evaluator and the voice, each with its kind and online (the bus devices answered their first ping
    before the hall started serving)."""
    devices = client.get(f"{API}/devices", headers=tech).json["devices"]
    assert [d["name"] for d in devices] == ["ticket-printer", "dispenser", "hall-strip"] + [
        f"counter-{i}-led" for i in range(1, 6)] + ["keypad-1", "evaluator-1", "voice"]
    assert all(d["online"] is True for d in devices)
    assert {d["name"]: d["kind"] for d in devices}["voice"] == "speech"


def test_health_reports_offline_device(client, tech):
    """An offline printer shows as not online in /health's device list."""
    simulate(client, tech, "ticket-printer", {"fault": "offline"})
    assert client.get(f"{API}/health").json["devices_online"]["ticket-printer"] is False


@pytest.mark.parametrize("device, action", [
    ("ticket-printer", {"fault": "on_fire"}),
    ("ticket-printer", {}),
    ("counter-1-led", {"unplugged": "yes"}),
    ("counter-1-led", {"fault": "paper_out"}),
    ("dispenser", {"press": 0}),
    ("dispenser", {"press": 5}),
    ("dispenser", {"press": "1"}),
])
def test_simulate_with_a_bad_action_is_400(client, tech, hall, device, action):
    """A simulate action the device does not understand gets 400 `bad_simulation` and changes nothing: the
    printer still prints and no ticket was issued by it."""
    resp = simulate(client, tech, device, action)
    assert_error(resp, 400, "bad_simulation")
    assert sum(waiting(client).values()) == 0
    assert client.post(f"{API}/tickets", json={"service": "general"}).json["number"] == "A001"


@pytest.mark.parametrize("path", ["/devices/fax/test", "/devices/fax/simulate"])
def test_unknown_device_is_404(client, tech, path):
    """Testing or simulating a device the config does not name gets 404 `unknown_device`."""
    assert_error(client.post(API + path, json={"press": 1}, headers=tech), 404, "unknown_device")


def test_printer_test_page_with_paper_out_is_refused(client, tech, hall):
    """With the paper out, a technician's test print answers 503 `device_unavailable` saying why, and nothing
    is printed."""
    client.post(f"{API}/devices/ticket-printer/simulate", json={"fault": "paper_out"}, headers=tech)
    printed = len(hall.devices.get("ticket-printer").printed)
    err = assert_error(client.post(f"{API}/devices/ticket-printer/test", headers=tech), 503, "device_unavailable")
    assert "paper" in err["message"]
    assert len(hall.devices.get("ticket-printer").printed) == printed
