"""The hall stops within 10 s of SIGTERM whatever its devices do: a printer that never answers while a kiosk
waits on it, a bus whose devices have all gone silent, a speech engine that hangs in the middle of a call.

The real ``kiosk run`` runs as a subprocess on the default hall with timeouts as long as the config allows,
so every device is stuck for far longer than the stop may take."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import requests

from conftest import default_config
from daemon import Daemon
from kiosk import settings
from util import wait_until

API = "/api/v1"
STOP_BOUND_S = 10.0  # what a technician running `systemctl stop` or a restart will put up with


def patient_hall(path: Path) -> Path:
    """The default hall whose devices wait as long as allowed: the printer 30 s for a status answer, the bus
    2 s for a reply with 10 retries before a device counts as missed, the voice 60 s for its engine."""
    cfg = default_config()
    for device in cfg["devices"]:
        if device["name"] == "ticket-printer":
            device["options"]["timeout"] = 30.0
        elif device["name"] == "voice":
            device["options"]["engine_timeout_s"] = 60.0
    cfg["buses"][0].update(timeout_ms=2000, retries=10, offline_after=100)
    settings.save_file(settings.validate(cfg), path)
    return path


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _post_quietly(url: str, body: dict, headers: dict | None) -> None:
    try:
        requests.post(url, json=body, headers=headers, timeout=60)
    except requests.RequestException:
        pass  # the daemon stopped meanwhile


def test_sigterm_stops_the_hall_within_10_s_while_printer_bus_and_voice_hang(tmp_path):
    """The voice's engine is frozen (SIGSTOP) while it says a call, every device on the RS-485 bus has gone
    silent, and the printer has stopped answering while a customer's ticket request waits on it. On SIGTERM
    the daemon exits with status 0 within 10 s, its log names the printer as left behind, and the frozen
    engine process does not outlive it."""
    config = patient_hall(tmp_path / "hall.toml")
    log = tmp_path / "kiosk.log"
    daemon = Daemon(tmp_path / "data", "--config", str(config), "--traffic-log", log=log).start()
    tech, url = daemon.technician, daemon.url
    frozen = None
    try:
        def voice() -> dict:
            devices = requests.get(f"{url}{API}/devices", headers=tech, timeout=60).json()["devices"]
            return next(d for d in devices if d["name"] == "voice")

        for _ in range(2):
            requests.post(f"{url}{API}/tickets", json={"service": "general"}, timeout=10)
        requests.post(f"{url}{API}/counters/1/next", headers=tech, timeout=10)
        frozen = wait_until(lambda: voice()["announced"] == 1 and voice()["engine_pid"], timeout=30)
        os.kill(frozen, signal.SIGSTOP)
        requests.post(f"{url}{API}/counters/2/next", headers=tech, timeout=10)
        wait_until(lambda: voice()["queue_length"] == 0, timeout=10)  # the announcer is stuck on A002

        for device in settings.load_file(config)["devices"]:
            if device["type"] == "bus":
                resp = requests.post(f"{url}{API}/devices/{device['name']}/simulate",
                                     json={"fault": "silent", "on": True}, headers=tech, timeout=10)
                assert resp.status_code == 200
        # the fault's answer (the printer's state) and the customer's status check each wait 30 s on the printer
        seen = len(log.read_text())
        waiting = [(f"{url}{API}/devices/ticket-printer/simulate", {"fault": "offline"}, tech),
                   (f"{url}{API}/tickets", {"service": "general"}, None)]
        for target, body, headers in waiting:
            threading.Thread(target=_post_quietly, args=(target, body, headers), daemon=True).start()
        wait_until(lambda: "asks for its status" in log.read_text()[seen:], timeout=10)  # and hears nothing

        daemon.signal(signal.SIGTERM)
        try:
            code = daemon.proc.wait(STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"kiosk run did not exit within {STOP_BOUND_S:g} s of SIGTERM") from None
        assert code == 0
        text = log.read_text()
        assert "left behind" in text and "ticket-printer" in text.split("left behind", 1)[1].splitlines()[0]
        wait_until(lambda: not running(frozen), timeout=5)
    finally:
        if frozen is not None and running(frozen):
            os.kill(frozen, signal.SIGKILL)
        if daemon.proc.poll() is None:
            daemon.kill()
