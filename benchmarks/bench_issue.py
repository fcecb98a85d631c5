"""Issuing a ticket through HTTP on loopback with the production server: latency, one kiosk at a time.

Target (issue 2): p50 <= 3 ms, p99 <= 15 ms on an empty morning.
Target (issue 12): the cost does not grow with the queue: issuing with 100,000 waiting stays within 1.5x of
its time with 1,000 waiting, and so does reading a waiting ticket (`GET /tickets/{id}`, which the status page
polls every 5 s for each customer); eight kiosks keep their rate while the queue grows to 80,000.

    python benchmarks/bench_issue.py              # empty queue
    python benchmarks/bench_issue.py --lengths    # 1,000 vs 100,000 waiting: issue, read, CPU per ticket
    python benchmarks/bench_issue.py --growth     # 8 kiosks issuing until 80,000 wait, rate per 10,000
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import Daemon, core_config, cpu_seconds, fill_queue, load_average, summary_ms

SERVICES = ["general", "consult", "claims", "changes"]
AGENT = "SL0001"


def run(n: int = 3000, warmup: int = 200) -> dict:
    """Issue ``warmup`` + ``n`` tickets one after another; return the latency summary of the last ``n``."""
    with tempfile.TemporaryDirectory() as tmp, Daemon(config=core_config(tmp)) as daemon:
        client = daemon.client()
        samples = []
        for i in range(warmup + n):
            t = client.timed("POST", "/api/v1/tickets", {"service": SERVICES[i % 4]})
            if i >= warmup:
                samples.append(t)
    return {"benchmark": "issue ticket (sequential, keep-alive)", **summary_ms(samples)}


def _add_agent(daemon: Daemon) -> None:
    """Put one Starlight agent, valid today, on the roster."""
    today = dt.date.today()
    csv = (f"agent_code,name,branch,valid_from,valid_until\n{AGENT},Agent,haidian,{today - dt.timedelta(days=1)},"
           f"{today + dt.timedelta(days=30)}\n")
    client = daemon.client()
    client.conn.request("PUT", "/api/v1/roster/starlight", body=csv.encode(),
                        headers={**client.auth, "Content-Type": "text/csv"})
    resp = client.conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise RuntimeError(f"roster import failed: {resp.status}")


def _ticket(i: int) -> tuple[dict, bool]:
    """The i-th ticket a benchmark kiosk asks for: the fill's mix (1 in 11 Starlight, 1 in 97 VIP)."""
    body: dict = {"service": SERVICES[i % 4]}
    if i % 97 == 0:
        return {**body, "priority": "vip"}, True
    if i % 11 == 0:
        return {**body, "priority": "starlight", "agent_code": AGENT}, False
    return body, False


def at_length(waiting: int, n: int = 1000, warmup: int = 100, reads: int = 1000) -> dict:
    """With ``waiting`` tickets in the queue: issue ``n`` tickets one after another (the fill's mix of
    priorities), then read ``reads`` waiting tickets picked at random across the whole queue."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        config = core_config(tmp)
        with Daemon(tmp, config):
            pass  # creates and migrates the database
        ids = fill_queue(Path(tmp), waiting)
        with Daemon(tmp, config) as daemon:
            _add_agent(daemon)
            client = daemon.client()
            for i in range(warmup):
                body, vip = _ticket(i)
                client.timed("POST", "/api/v1/tickets", body, auth=vip)
            issue = []
            cpu = cpu_seconds(daemon.proc.pid)
            for i in range(warmup, warmup + n):
                body, vip = _ticket(i)
                issue.append(client.timed("POST", "/api/v1/tickets", body, auth=vip))
            cpu_ms = (cpu_seconds(daemon.proc.pid) - cpu) / n * 1e3
            picked = random.Random(12).sample(ids, min(reads, len(ids)))
            cpu = cpu_seconds(daemon.proc.pid)
            read = [client.timed("GET", f"/api/v1/tickets/{tid}") for tid in picked]
            read_cpu_ms = (cpu_seconds(daemon.proc.pid) - cpu) / len(picked) * 1e3
    return {"benchmark": f"issue and read with {waiting:,} waiting", "waiting": waiting, "load": load_average(),
            "issue": summary_ms(issue), "server_cpu_ms_per_ticket": round(cpu_ms, 2), "read": summary_ms(read),
            "server_cpu_ms_per_read": round(read_cpu_ms, 2)}


def lengths() -> list[dict]:
    """A short queue against a long one: issuing and reading should cost the same."""
    return [at_length(1_000), at_length(100_000)]


def growth(total: int = 80_000, step: int = 10_000, clients: int = 8) -> dict:
    """Eight kiosks issue normal tickets (nobody is called) until ``total`` wait; the rate and the server's
    CPU time per ticket for each ``step`` tickets."""
    with tempfile.TemporaryDirectory() as tmp, Daemon(config=core_config(tmp)) as daemon:
        issued = [0]
        lock = threading.Lock()
        marks: list[tuple[int, float, float]] = [(0, time.perf_counter(), cpu_seconds(daemon.proc.pid))]

        def kiosk(k: int) -> None:
            client = daemon.client()
            while True:
                with lock:
                    if issued[0] >= total:
                        return
                    issued[0] += 1
                    count = issued[0]
                client.timed("POST", "/api/v1/tickets", {"service": SERVICES[k % 4]})
                if count % step == 0:
                    marks.append((count, time.perf_counter(), cpu_seconds(daemon.proc.pid)))

        threads = [threading.Thread(target=kiosk, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    marks.sort()
    slices = [{"waiting": f"{a[0]:,}-{b[0]:,}", "tickets_per_s": round((b[0] - a[0]) / (b[1] - a[1]), 1),
               "server_cpu_ms_per_ticket": round((b[2] - a[2]) / (b[0] - a[0]) * 1e3, 2)}
              for a, b in itertools.pairwise(marks)]
    return {"benchmark": f"{clients} kiosks issuing until {total:,} wait", "load": load_average(), "slices": slices}


if __name__ == "__main__":
    if "--lengths" in sys.argv:
        result: object = lengths()
    elif "--growth" in sys.argv:
        result = growth()
    else:
        result = run()
    json.dump(result, sys.stdout, indent=2)
    print()
