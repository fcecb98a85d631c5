"""``next`` at a counter with a long queue: latency must not grow with the number waiting.

The queue is filled directly in the database (as a full day of issuing would leave it) with tickets across
four services and all three priorities, then counters call through HTTP. Target (issue 2): p99 <= 10 ms
with 100,000 waiting.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from common import Daemon, core_config, fill_queue, summary_ms


def measure(waiting: int, calls: int = 2000, warmup: int = 100) -> dict:
    """Fill the queue with ``waiting`` tickets, then press next ``calls`` times round the five counters."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        config = core_config(tmp)
        with Daemon(tmp, config):
            pass  # creates and migrates the database
        fill_queue(Path(tmp), waiting)
        with Daemon(tmp, config) as daemon:
            client = daemon.client()
            samples = []
            for i in range(warmup + calls):
                t = client.timed("POST", f"/api/v1/counters/{i % 5 + 1}/next", auth=True)
                if i >= warmup:
                    samples.append(t)
    return {"benchmark": f"next with {waiting:,} waiting", "waiting": waiting, **summary_ms(samples)}


def run() -> list[dict]:
    """Compare a short queue with 100,000 and 300,000 waiting: the latency should stay flat."""
    return [measure(1_000), measure(100_000), measure(300_000)]


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
