"""Running the real ``kiosk`` command as a separate process, for tests that kill and restart it."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

KIOSK = str(Path(sys.executable).with_name("kiosk"))


class Daemon:
    """``kiosk run`` on a free loopback port with its own data dir (None: from the environment)."""

    def __init__(self, data_dir: Path | None, *args: str, env: dict | None = None, log: Path | None = None,
                 umask: int = -1):
        self.data_dir = data_dir
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.umask = umask  # the umask the daemon starts with (-1: this process's)
        self.log = log  # where its stderr (the log) goes; discarded when None
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.banner = ""

    def start(self, timeout: float = 20.0) -> "Daemon":
        """Start the process and wait for its banner and a healthy answer."""
        where = ["--data-dir", str(self.data_dir)] if self.data_dir is not None else []
        cmd = [KIOSK, "run", *where, "--port", "0", *self.args]
        stderr = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=self.env,
                                         umask=self.umask)
        finally:
            if self.log:
                stderr.close()
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"kiosk run exited with {self.proc.wait()}: {''.join(lines)}")
            lines.append(line)
            if "technician token:" in line:  # always printed (the token itself only when it is new)
                break
        self.banner = "".join(lines)
        found = re.search(r"running at (http://\S+)", self.banner)
        assert found, self.banner
        self.url = found.group(1)
        assert requests.get(self.url + "/api/v1/health", timeout=5).status_code == 200
        return self

    @property
    def technician(self) -> dict:
        """Headers with the technician token, read from ``DATA_DIR/technician.token`` as a technician would."""
        data_dir = self.data_dir if self.data_dir is not None else Path(self.env.get("KIOSK_DATA_DIR", "data"))
        token = (Path(data_dir) / "technician.token").read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    def signal(self, signum: int) -> None:
        """Send a signal to the daemon."""
        self.proc.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL: no chance to flush or close anything."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait; return the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(15)
        return self.proc.returncode if self.proc else 0


class Customers:
    """Customers taking general tickets from a daemon in a steady stream, on a thread of their own.

    ``told`` maps each ticket id to the number the customer was told (only answers 201 count). The stream ends
    at :meth:`stop`, or by itself when the daemon stops answering."""

    def __init__(self, url: str):
        self.url = url
        self.told: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Customers":
        """Start taking tickets."""
        self._thread.start()
        return self

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        """Return once ``count`` tickets were told (or the stream ended); fail if that takes over ``timeout``
        seconds (a daemon that answers, but refuses every ticket)."""
        deadline = time.monotonic() + timeout
        while len(self.told) < count and self._thread.is_alive():
            assert time.monotonic() < deadline, f"{len(self.told)} of {count} tickets told within {timeout} s"
            self._thread.join(0.01)

    def stop(self) -> None:
        """Stop taking tickets and wait for the last answer."""
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with requests.Session() as s:
            while not self._stop.is_set():
                try:
                    r = s.post(f"{self.url}/api/v1/tickets", json={"service": "general"}, timeout=10)
                except requests.RequestException:
                    return  # the daemon went away
                if r.status_code == 201:
                    self.told[r.json()["id"]] = r.json()["number"]
