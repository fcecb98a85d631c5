"""Eight kiosks issuing tickets at once: tickets per second through HTTP on loopback.

Target (issue 2): >= 500 tickets/s with 8 concurrent clients.
"""
from __future__ import annotations

import json
import sys
import threading
import time

import tempfile

from common import Daemon, core_config, summary_ms

CLIENTS = 8


def run(seconds: float = 10.0) -> dict:
    """Each of 8 threads issues tickets on its own keep-alive connection for ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp, Daemon(config=core_config(tmp)) as daemon:
        warm = daemon.client()
        for _ in range(100):
            warm.timed("POST", "/api/v1/tickets", {"service": "general"})
        latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
        start = threading.Barrier(CLIENTS + 1)
        stop_at = [0.0]

        def kiosk(k: int) -> None:
            client = daemon.client()
            service = ["general", "consult", "claims", "changes"][k % 4]
            start.wait()
            while time.perf_counter() < stop_at[0]:
                latencies[k].append(client.timed("POST", "/api/v1/tickets", {"service": service}))

        threads = [threading.Thread(target=kiosk, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        stop_at[0] = time.perf_counter() + seconds
        began = time.perf_counter()
        start.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    flat = [x for per in latencies for x in per]
    return {"benchmark": f"{CLIENTS} concurrent kiosks issuing", "tickets": len(flat),
            "tickets_per_s": round(len(flat) / elapsed, 1), **summary_ms(flat)}


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
