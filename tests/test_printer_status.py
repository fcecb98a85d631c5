"""The printer's last known state and its late answers, through the real ESC/POS driver and the virtual printer
(a loopback TCP port or a pty).

- ``/health``, ``/metrics`` and the device list read the state the printer's worker last learnt, so a silent
  printer with a long timeout cannot hold them up (or starve systemd's watchdog); a ticket still asks the
  printer itself.
- A printer that answers status requests later than the driver's timeout is refused cleanly, and its late
  answers are never taken for the answer to a later question.
"""
import time

import pytest

from kiosk.store import connect
from test_printer_hall import kiosk, printer_state, virtual, waiting  # noqa: F401 - fixtures
from util import assert_error, wait_until

API = "/api/v1"


def timed_get(client, path: str, **kwargs):
    """GET ``path``; return the answer and how long it took in seconds."""
    started = time.monotonic()
    resp = client.get(path, **kwargs)
    return resp, time.monotonic() - started


def stored_tickets(hall) -> int:
    conn = connect(hall.store.path)
    try:
        return conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        conn.close()


def test_health_answers_at_once_from_the_silent_printers_last_known_state(kiosk):  # noqa: F811
    """Situation: the virtual printer (real driver over TCP) has a long status timeout of 2 s and goes silent.
    Action: ask /health, /metrics and the device list again and again until the printer's worker has learnt it;
    then a kiosk asks for a ticket.
    Outcome: every answer comes within 1 s (the watchdog gives /health less than that); /health stays 200 and,
    once the state is known, is `degraded` naming the printer offline, /metrics shows it offline and the device
    list gives the state's age; the ticket still asks the printer itself and is refused with 503
    `printer_unavailable`, nothing stored."""
    hall, client, tech = kiosk("virtual", {"transport": "network", "timeout": 2.0})
    assert printer_state(client, tech)["online"] is True
    hall.devices.printer.virtual.set_fault("offline")

    def health_says_offline():
        health, took = timed_get(client, "/health")
        metrics, metrics_took = timed_get(client, "/metrics")
        devices, devices_took = timed_get(client, f"{API}/devices", headers=tech)
        assert max(took, metrics_took, devices_took) < 1.0, (took, metrics_took, devices_took)
        assert health.status_code == 200
        return "device ticket-printer is offline" in health.json["problems"] and (health, metrics, devices)

    health, metrics, devices = wait_until(health_says_offline, timeout=10)
    assert health.json["status"] == "degraded" and health.json["devices_online"]["ticket-printer"] is False
    assert 'hall_device_online{device="ticket-printer",kind="printer"} 0.0' in metrics.get_data(as_text=True)
    state = next(d for d in devices.json["devices"] if d["name"] == "ticket-printer")
    assert state["online"] is False and 0 <= state["status_age_s"] < 10
    assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert stored_tickets(hall) == 0


def test_printer_silent_from_the_start_is_named_as_not_answered_then_offline(kiosk, virtual):  # noqa: F811
    """Situation: a network printer (the virtual printer on a loopback TCP port) that is silent from the start,
    with a status timeout of 3 s.
    Action: the hall starts; /health is asked at once and then until the first question has timed out.
    Outcome: the hall starts within a few seconds; every /health answer comes within 1 s, first saying the
    printer has not answered yet, later that it is offline; it never says the printer is fine."""
    printer, port = virtual("tcp")
    printer.set_fault("offline")
    started = time.monotonic()
    hall, client, tech = kiosk("network", {"host": port.host, "port": port.port, "timeout": 3.0})
    assert time.monotonic() - started < 3.0   # start waits at most 1 s for the printer's first answer
    seen = []

    def says_offline():
        health, took = timed_get(client, "/health")
        assert took < 1.0 and health.status_code == 200 and health.json["status"] == "degraded"
        seen.append(next(p for p in health.json["problems"] if "ticket-printer" in p))
        return seen[-1] == "device ticket-printer is offline"

    wait_until(says_offline, timeout=10)
    assert seen[0] == "device ticket-printer has not answered yet"
    assert printer_state(client, tech)["online"] is False


def slow_printer(kiosk, transport):  # noqa: F811
    """A hall whose virtual printer has a 0.3 s status timeout and, when slow, answers 0.55 s late."""
    hall, client, tech = kiosk("virtual", {"transport": transport, "timeout": 0.3})
    resp = client.post(f"{API}/devices/ticket-printer/simulate", headers=tech,
                       json={"fault": "slow_answers", "on": True, "delay_s": 0.55})
    assert resp.status_code == 200 and resp.json["answer_delay_s"] == 0.55
    return hall, client, tech


@pytest.mark.parametrize("transport", ["network", "serial"])
def test_slow_printer_refuses_every_ticket_and_its_late_ok_is_not_taken_for_paper_out(kiosk, transport):  # noqa: F811
    """Situation: the printer (over TCP, or over its pty as a serial port) answers each status request 0.55 s
    late, past the driver's 0.3 s timeout.
    Action: kiosks ask for three tickets; then, while the last late answers (which say "ok") are still on
    their way, the paper runs out and the printer becomes quick again; a kiosk asks for a ticket.
    Outcome: each ticket while slow is refused with 503 `printer_unavailable` and nothing is stored; the device
    list says the printer answers late. The next ticket is refused because the paper is out (the printer's
    real state), not printed on a stale "ok": no ticket was ever stored."""
    hall, client, tech = slow_printer(kiosk, transport)
    for _ in range(3):
        assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert stored_tickets(hall) == 0 and hall.devices.printer.printed == []
    assert "later than its timeout" in printer_state(client, tech)["last_error"]
    far_end = hall.devices.printer.virtual
    far_end.set_fault("paper_out")
    far_end.set_fault("slow_answers", False)
    err = assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert "out of paper" in err["message"]
    assert stored_tickets(hall) == 0 and waiting(client) == 0


@pytest.mark.parametrize("transport", ["network", "serial"])
def test_slow_printer_late_paper_out_is_not_taken_for_the_refilled_printer(kiosk, transport):  # noqa: F811
    """Situation: the printer is out of paper and answers 0.55 s late (past its 0.3 s timeout).
    Action: a kiosk asks for a ticket; then, while that question's late answer (which says "paper out") is still
    on its way, paper is loaded and the printer becomes quick again; a kiosk asks for a ticket.
    Outcome: the first ticket is refused (503 `printer_unavailable`, nothing stored); the second is issued and
    printed as A001, because the driver reads the printer's real state, not the stale "paper out"."""
    hall, client, tech = slow_printer(kiosk, transport)
    far_end = hall.devices.printer.virtual
    far_end.set_fault("paper_out")
    assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 503, "printer_unavailable")
    assert stored_tickets(hall) == 0
    far_end.clear()
    resp = client.post(f"{API}/tickets", json={"service": "general"})
    assert resp.status_code == 201, resp.json
    assert resp.json["number"] == "A001" and far_end.pages[-1].lines[4] == "A001"


def test_silent_printer_does_not_hold_up_stopping(kiosk, virtual):  # noqa: F811
    """Situation: a network printer that is silent from the start, with a status timeout of 5 s; its worker is
    in the middle of a status question that nobody waits for (the refresh of its last known state).
    Action: the devices are stopped (as the hall does on SIGTERM or when a config replaces them).
    Outcome: the printer is stopped within a second instead of waiting for the question's 5 s."""
    printer, port = virtual("tcp")
    printer.set_fault("offline")
    hall, client, tech = kiosk("network", {"host": port.host, "port": port.port, "timeout": 5.0})
    assert printer_state(client, tech)["status_age_s"] is None   # its first question is still under way
    started = time.monotonic()
    hall.devices.printer.stop()
    assert time.monotonic() - started < 1.0
