"""Shared benchmark plumbing: a real ``kiosk run`` daemon on loopback, HTTP clients, percentiles."""
from __future__ import annotations

import http.client
import json
import os
import platform
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIOSK = str(Path(sys.executable).with_name("kiosk"))
SERVICES = [("general", "A"), ("consult", "B"), ("claims", "C"), ("changes", "D")]


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100) by nearest rank."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(samples: list[float]) -> dict:
    """Median, p99 and max of latencies given in seconds, in milliseconds."""
    return {"n": len(samples), "p50_ms": round(percentile(samples, 50) * 1e3, 3),
            "p99_ms": round(percentile(samples, 99) * 1e3, 3), "max_ms": round(max(samples) * 1e3, 3)}


def machine() -> str:
    """A one-line description of the machine the figures come from."""
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


class Daemon:
    """``kiosk run`` in its own process on a free port, with a temp data dir unless one is given, and the
    default config unless a config file is given."""

    def __init__(self, data_dir: str | None = None, config: str | None = None, threads: int | None = None):
        self.threads = threads
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="kiosk-bench-")
        self.config = config
        self.data_dir = Path(data_dir or self._tmp.name)
        self.proc = None
        self.host, self.port, self.token = "127.0.0.1", 0, ""

    def __enter__(self) -> "Daemon":
        cmd = [KIOSK, "--log-level", "WARNING", "run", "--data-dir", str(self.data_dir), "--port", "0"]
        if self.config:
            cmd += ["--config", self.config]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        banner = ""
        for line in self.proc.stdout:
            banner += line
            if "technician token" in line:
                break
        self.port = int(re.search(r"running at http://127\.0\.0\.1:(\d+)", banner).group(1))
        # The banner shows the token only when it is made (the first start): read it where it is kept.
        self.token = (self.data_dir / "technician.token").read_text().strip()
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        if self._tmp:
            self._tmp.cleanup()

    def client(self) -> "Client":
        """A keep-alive HTTP client to this daemon."""
        return Client(self.host, self.port, self.token)


class Client:
    """One persistent HTTP/1.1 connection (as a kiosk or a counter PC keeps)."""

    def __init__(self, host: str, port: int, token: str = ""):
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: dict | None = None, auth: bool = False) -> tuple[int, bytes]:
        """Send one request and read the whole answer."""
        headers = dict(self.auth) if auth else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def timed(self, method: str, path: str, body: dict | None = None, auth: bool = False,
              expect: tuple[int, ...] = (200, 201, 204)) -> float:
        """Send one request and return its latency in seconds (fails on an unexpected status)."""
        start = time.perf_counter()
        status, payload = self.request(method, path, body, auth)
        elapsed = time.perf_counter() - start
        if status not in expect:
            raise RuntimeError(f"{method} {path} -> {status}: {payload[:200]!r}")
        return elapsed


def core_config(directory: str | Path) -> str:
    """Write the default hall with every device simulated (no bus, no voice engine, no printer driver) and
    return its path: the hall-core figures measure the queue and the API alone, while the printer, the bus and
    the voice have benchmarks of their own (bench_printer, bench_bus, bench_voice)."""
    from kiosk import settings

    cfg = settings.parse_toml(settings.default_text())
    kinds = {"printer", "counter_display", "hall_display", "dispenser", "speech"}   # those with a simulator
    cfg["devices"] = [{**d, "type": "simulated", "options": {}} for d in cfg["devices"] if d["kind"] in kinds]
    cfg["buses"] = []
    path = Path(directory) / "core-hall.toml"
    settings.save_file(settings.validate(cfg), path)
    return str(path)


def fill_queue(data_dir: str | Path, waiting: int, spacing_s: float = 0.01) -> list[int]:
    """Put ``waiting`` tickets in the queue of a hall that has been started once (schema in place), as a day
    of issuing would leave them: the four services, 1 in 11 Starlight, 1 in 97 VIP, ``spacing_s`` apart and
    ending now. Returns their ids."""
    conn = sqlite3.connect(Path(data_dir) / "hall.db")
    now = time.time()
    day = conn.execute("SELECT value FROM meta WHERE key = 'business_day'").fetchone()[0]
    rows = []
    for i in range(waiting):
        service, prefix = SERVICES[i % 4]
        priority = "vip" if i % 97 == 0 else ("starlight" if i % 11 == 0 else "normal")
        prefix = "V" if priority == "vip" else prefix
        seq = i // 4 % 999 + 1
        rows.append((f"{prefix}{seq:03d}", prefix, seq, day, service, priority, "kiosk", "waiting",
                     now - (waiting - i) * spacing_s))
    with conn:
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM tickets").fetchone()[0]
        conn.executemany("INSERT INTO tickets (number, prefix, seq, business_day, service, priority, source, status, "
                         "issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    return list(range(first, first + waiting))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The machine's 1-minute load average (other work sharing the cores)."""
    return f"{os.getloadavg()[0]:.2f}"
