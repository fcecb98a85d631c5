"""The RS-485 hall bus (issue 4), in process: a real hall, the real bus master on a pty, virtual devices.

- ``next`` to SHOW: from ``POST /counters/1/next`` (Flask test client, token checked) until the virtual LED
  above counter 1 has received the whole SHOW frame with the new number. The SHOW's own bytes cross the pty
  at once, so this is the latency beyond the frame's own wire time (a 16-byte SHOW is 16.7 ms at 9600 baud).
  Target: p99 <= 50 ms.
- TAKE to printer: a dispenser button is pressed (the TAKE event is queued in the virtual dispenser) until the
  printer has the ticket (a random moment in the poll cycle), with 8 polled input devices on the bus (the dispenser, 4 keypads, 3 evaluators).
  Target: p99 <= 100 ms.
"""
from __future__ import annotations

import random
import sys
import tempfile
import time

from common import summary_ms  # noqa: E402
from kiosk import settings, tokens  # noqa: E402
from kiosk.api import create_app  # noqa: E402
from kiosk.drivers import hallbus_frame as hb  # noqa: E402
from kiosk.hall import Hall  # noqa: E402
from kiosk.store import connect  # noqa: E402

BUS = {"name": "hall-bus", "port": "virtual", "timeout_ms": 100, "ping_ms": 1000, "poll_ms": 50}


def bus_config() -> dict:
    """The default hall with counter LEDs, a dispenser, 4 keypads and 3 evaluators on one virtual bus."""
    cfg = settings.parse_toml(settings.default_text())
    dev = lambda name, kind, addr, **kw: {"name": name, "kind": kind, "type": "bus",  # noqa: E731
                                          "options": {"bus": "hall-bus", "address": addr}, **kw}
    cfg["buses"] = [BUS]
    cfg["devices"] = [d for d in cfg["devices"] if d["kind"] == "printer"] + [
        dev(f"counter-{i}-led", "counter_display", i, counter=i) for i in range(1, 6)] + [
        dev("hall-strip", "hall_display", 20), dev("dispenser", "dispenser", 30, services=["general"])] + [
        dev(f"keypad-{i}", "keypad", 40 + i, counter=i) for i in range(1, 5)] + [
        dev(f"rater-{i}", "evaluator", 50 + i, counter=i) for i in range(1, 4)]
    return settings.validate(cfg)


def wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the bus did not answer")
        time.sleep(0.001)


def run(rounds: int = 300) -> list[dict]:
    """Both paths on a pty with no wire time, then with each request and reply delayed by its 9600-baud wire
    time (the virtual bus answers only after the bytes would have crossed a real line)."""
    return measure(rounds, None) + measure(rounds // 3, 9600)


def measure(rounds: int, wire_baud: int | None) -> list[dict]:
    """Measure both paths ``rounds`` times on one hall."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        hall = Hall(tmp, bus_config()).start()
        hall.devices.shared.virtual["hall-bus"].wire_baud = wire_baud
        try:
            conn = connect(hall.store.path)
            headers = {"Authorization": f"Bearer {tokens.create(conn, 'technician', None)}"}
            conn.close()
            client = create_app(hall).test_client()
            devices = hall.devices
            wait(lambda: all(d.online() for d in devices.devices.values()))
            led = devices.get("counter-1-led").virtual.devices[1]
            strip = devices.get("hall-strip").virtual.devices[20]
            dispenser = devices.get("dispenser")
            printer = devices.printer
            show, take = [], []
            for _ in range(rounds):
                time.sleep(random.uniform(0, BUS["poll_ms"] / 1000))  # a press comes at any point of the poll cycle
                printed, before = printer.last_ticket_at, dispenser.last_result
                t0 = time.time()
                dispenser.virtual.devices[30].queue(hb.TAKE, b"\x01")
                wait(lambda: printer.last_ticket_at != printed)
                take.append(printer.last_ticket_at - t0)
                wait(lambda: dispenser.last_result is not before)
                wanted = [dispenser.last_result["ticket"]["number"]]
                t0 = time.time()
                assert client.post("/api/v1/counters/1/next", headers=headers).status_code == 200
                wait(lambda: list(led.lines) == wanted)
                show.append(led.shown_at - t0)
                wait(lambda: wanted[0] in strip.lines[0])
                if wire_baud:
                    time.sleep(0.3)  # the strip's long SHOW (about 170 ms at 9600 baud) is off the wire too
        finally:
            hall.stop()
    wire = f"{wire_baud}-baud wire time emulated" if wire_baud else "no wire time (pty)"
    return [{"benchmark": f"next to SHOW received whole, beyond the SHOW's own wire time; {wire}", **summary_ms(show)},
            {"benchmark": f"dispenser TAKE to ticket printed, 8 polled devices; {wire}", **summary_ms(take)}]


if __name__ == "__main__":
    import json
    json.dump(run(), sys.stdout, indent=2, ensure_ascii=False)
    print()
