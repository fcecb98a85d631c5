"""Slow clients (issue 11, item 3): do kiosks and counters keep their speed while 1,000 half-sent requests are
held open against the hall?

A child process plays the attackers: it keeps ``connections`` connections open from ``addresses`` loopback
addresses (127.0.2.1, 127.0.2.2, ...; each address under the per-client limit, so all of them are admitted),
sends half a request head on each and then one more byte every second (slowloris); a connection the server
cuts off is opened again at once. Meanwhile the measuring client (127.0.0.1, one kept-alive connection, as a
kiosk PC) issues tickets and then calls them at the counters, and its latencies are compared with a run without
attackers. A second scenario floods from one address only: the server admits its first 64 connections and
refuses the rest, which the attacker keeps reopening.

``python benchmarks/bench_slow_clients.py [--kiosk PATH]`` (``--kiosk`` runs another build's ``kiosk``, e.g. the
waitress-based one before issue 11, for the "before" figures).
"""
from __future__ import annotations

import json
import multiprocessing
import selectors
import socket
import sys
import tempfile
import time

import common
from common import Daemon, core_config, summary_ms

HALF_HEAD = b"POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\nX-Pad: "
SERVICES = ["general", "consult", "claims", "changes"]
GIVE_UP = 5  # a measurement stops after this many failed requests (each waits the client's 30 s timeout)


def attackers(port: int, addresses: list[str], per_address: int, conn) -> None:
    """Keep ``per_address`` half-sent requests open from each address until told to stop; report how many
    were open (sampled each second), how many were refused and how many the server cut off."""
    selector = selectors.DefaultSelector()
    open_socks: dict[socket.socket, str] = {}
    counts = {"opened": 0, "closed_by_server": 0, "open_samples": []}

    def open_one(address: str) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(address, 0))
            sock.sendall(HALF_HEAD)
        except OSError:
            return
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, address)
        open_socks[sock] = address
        counts["opened"] += 1

    for address in addresses:
        for _ in range(per_address):
            open_one(address)
    conn.send("ready")
    next_trickle = time.monotonic() + 1.0
    while not conn.poll():
        for key, _ in selector.select(0.05):
            sock = key.fileobj
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:  # cut off or refused: open another at once
                selector.unregister(sock)
                sock.close()
                address = open_socks.pop(sock)
                counts["closed_by_server"] += 1
                open_one(address)
        if time.monotonic() >= next_trickle:
            next_trickle += 1.0
            counts["open_samples"].append(len(open_socks))
            for sock in list(open_socks):
                try:
                    sock.send(b"a")
                except OSError:
                    pass
    samples = counts.pop("open_samples")
    counts["open_median"] = sorted(samples)[len(samples) // 2] if samples else len(open_socks)
    conn.send(counts)
    for sock in open_socks:
        sock.close()


def measure(daemon: Daemon, tickets: int) -> dict:
    """Issue ``tickets`` tickets, then call them all at the counters; latencies of both (a request that fails
    or takes over 10 s counts as such)."""
    kiosk, clerk = daemon.client(), daemon.client()
    issue, calls, failed = [], [], 0
    for i in range(tickets):
        if failed >= GIVE_UP:
            break
        try:
            issue.append(kiosk.timed("POST", "/api/v1/tickets", {"service": SERVICES[i % 4]}))
        except Exception:  # noqa: BLE001 - a refused or timed-out ticket is what this measures
            failed += 1
            kiosk = daemon.client()
    for i in range(tickets):
        if failed >= GIVE_UP:
            break
        try:
            calls.append(clerk.timed("POST", f"/api/v1/counters/{i % 4 + 1}/next", auth=True))
        except Exception:  # noqa: BLE001
            failed += 1
            clerk = daemon.client()
    out = {"failed": failed, "gave_up": failed >= GIVE_UP}
    if issue:
        out["issue"] = summary_ms(issue)
    if calls:
        out["next"] = summary_ms(calls)
    return out


def server_connections(daemon: Daemon) -> int | None:
    """How many connections the server holds open now (from /metrics; None for a server without the figure)."""
    try:
        _status, body = daemon.client().request("GET", "/metrics")
    except OSError:  # the server does not answer (the waitress build under the attack)
        return None
    for line in body.decode().splitlines():
        if line.startswith("hall_http_connections "):
            return int(float(line.split()[1]))
    return None


def scenario(config: str, addresses: list[str], per_address: int, tickets: int) -> dict:
    """One daemon: the kiosk figures without attackers, then with them."""
    with Daemon(config=config) as daemon:
        result = {"without_attackers": measure(daemon, tickets)}
        ours, theirs = multiprocessing.Pipe()
        child = multiprocessing.Process(target=attackers, args=(daemon.port, addresses, per_address, theirs),
                                        daemon=True)
        child.start()
        ours.recv()
        time.sleep(1.0)  # let the server take in (or refuse) the whole wave
        open_before = server_connections(daemon)
        started = time.monotonic()
        result["with_attackers"] = measure(daemon, tickets)
        result["with_attackers"]["seconds"] = round(time.monotonic() - started, 1)
        result["with_attackers"]["server_connections_open"] = [open_before, server_connections(daemon)]
        ours.send("stop")
        result["attackers"] = ours.recv()
        child.join(10)
    return result


def run(tickets: int = 8000) -> dict:
    """Both scenarios on the hall-core config."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        config = core_config(tmp)
        return {"benchmark": "slow_clients", "machine": common.machine(),
                "1000_from_20_addresses": scenario(config, [f"127.0.2.{i}" for i in range(1, 21)], 50, tickets),
                "1000_from_one_address": scenario(config, ["127.0.3.1"], 1000, tickets)}


if __name__ == "__main__":
    if "--kiosk" in sys.argv:
        common.KIOSK = sys.argv[sys.argv.index("--kiosk") + 1]
    json.dump(run(), sys.stdout, indent=2)
    print()
