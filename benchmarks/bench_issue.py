"""Issuing a ticket through HTTP on loopback with the production server: latency, one kiosk at a time.

Target (issue 2): p50 <= 3 ms, p99 <= 15 ms.
"""
from __future__ import annotations

import json
import sys

import tempfile

from common import Daemon, core_config, summary_ms

SERVICES = ["general", "consult", "claims", "changes"]


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


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
