"""``next`` at a counter with a long queue: latency must not grow with the number waiting.

The queue is filled directly in the database (as a full day of issuing would leave it) with tickets across
four services and all three priorities, then counters call through HTTP. Target (issue 2): p99 <= 10 ms
with 100,000 waiting.
"""
from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from common import Daemon, core_config, summary_ms

SERVICES = [("general", "A"), ("consult", "B"), ("claims", "C"), ("changes", "D")]


def fill(data_dir: Path, waiting: int) -> None:
    """Put ``waiting`` tickets in the queue of a hall that has been started once (schema in place)."""
    conn = sqlite3.connect(data_dir / "hall.db")
    now = time.time()
    day = conn.execute("SELECT value FROM meta WHERE key = 'business_day'").fetchone()[0]
    rows = []
    for i in range(waiting):
        service, prefix = SERVICES[i % 4]
        priority = "vip" if i % 97 == 0 else ("starlight" if i % 11 == 0 else "normal")
        prefix = "V" if priority == "vip" else prefix
        seq = i // 4 % 999 + 1
        rows.append((f"{prefix}{seq:03d}", prefix, seq, day, service, priority, "kiosk", "waiting",
                     now - (waiting - i) * 0.01))
    with conn:
        conn.executemany("INSERT INTO tickets (number, prefix, seq, business_day, service, priority, source, status, "
                         "issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()


def measure(waiting: int, calls: int = 2000, warmup: int = 100) -> dict:
    """Fill the queue with ``waiting`` tickets, then press next ``calls`` times round the five counters."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        config = core_config(tmp)
        with Daemon(tmp, config):
            pass  # creates and migrates the database
        fill(Path(tmp), waiting)
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
