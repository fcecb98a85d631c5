"""Kiosk latency while a technician saves the config back to back (issue 11, item 2).

The real ``kiosk run`` on the default hall (the virtual ESC/POS printer through python-escpos, the RS-485 bus
with its virtual devices, the espeak-ng voice). Four kiosks take tickets without pause over keep-alive
connections, first for ``seconds`` with no saves, then for ``seconds`` while one technician client saves the
config back to back, each save changing the voice's rate or the printer's print_timeout (so the voice or the
printer driver is rebuilt each time). Reported: the kiosks' latency in both phases, how many saves were made,
and how long each save took to answer.

Before the fix (every device stopped and rebuilt on each save) 15 saves in 14 s answered 0 of 16 kiosk
requests within 10 s.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Client, Daemon, summary_ms  # noqa: E402

KIOSKS = 4


def _kiosks(daemon: Daemon, seconds: float) -> tuple[list[float], list[int]]:
    """Run the kiosks for ``seconds``; return every latency and every unexpected status."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def kiosk() -> None:
        client = Client(daemon.host, daemon.port)
        mine, bad = [], []
        while time.monotonic() < end:
            start = time.perf_counter()
            status, _ = client.request("POST", "/api/v1/tickets", {"service": "general"})
            mine.append(time.perf_counter() - start)
            if status != 201:
                bad.append(status)
        client.conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=kiosk) for _ in range(KIOSKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def run(seconds: float = 10.0) -> dict:
    """Both phases on one daemon; the figures as a dict."""
    with Daemon() as daemon:
        tech = daemon.client()
        status, body = tech.request("GET", "/api/v1/config", auth=True)
        config = json.loads(body)
        quiet, quiet_errors = _kiosks(daemon, seconds)

        saves: list[float] = []
        stop = threading.Event()

        def technician() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                for device in config["devices"]:
                    if device["name"] == "voice" and i % 2:
                        device["options"]["rate"] = 150 + i % 50
                    elif device["name"] == "ticket-printer" and not i % 2:
                        device["options"]["print_timeout"] = 10.0 + i % 50
                saves.append(tech.timed("PUT", "/api/v1/config", config, auth=True))

        saver = threading.Thread(target=technician)
        saver.start()
        busy, busy_errors = _kiosks(daemon, seconds)
        stop.set()
        saver.join()
    return {"benchmark": f"{KIOSKS} kiosks issuing, {seconds:g} s without saves, then {seconds:g} s of saves",
            "kiosk_without_saves": summary_ms(quiet), "kiosk_during_saves": summary_ms(busy),
            "kiosk_errors": quiet_errors + busy_errors, "saves": len(saves), "save": summary_ms(saves)}


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
