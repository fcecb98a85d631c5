"""The daemon under a service manager: READY, WATCHDOG only while healthy, STOPPING, and the signal switches.

The tests open a real datagram socket, point NOTIFY_SOCKET at it and run the real ``kiosk run`` as a
subprocess, so what they read is what systemd would read.
"""
from __future__ import annotations

import re
import signal
import socket
import time
import uuid

import pytest
import requests

from daemon import Daemon
from kiosk import settings
from kiosk.notify import Notifier, socket_address, watchdog_interval
from kiosk.watchdog import loopback_url
from util import wait_until


class NotifySocket:
    """The service manager's end: an abstract-namespace datagram socket; each message as a dict."""

    def __init__(self):
        self.name = f"hall-kiosk-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + self.name.encode())
        self.sock.settimeout(20)  # a guard against a hung test, not a measurement
        self.env = {"NOTIFY_SOCKET": "@" + self.name}

    def next(self) -> dict[str, str]:
        """The next message, as its KEY=VALUE lines."""
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.splitlines())

    def until(self, key: str) -> list[dict[str, str]]:
        """Read messages up to and including the first that has ``key``; return them all."""
        seen = [self.next()]
        while key not in seen[-1]:
            seen.append(self.next())
        return seen

    def close(self):
        self.sock.close()


@pytest.fixture
def manager():
    sock = NotifySocket()
    yield sock
    sock.close()


def test_notify_socket_names_and_watchdog_settings():
    """``@name`` is an abstract socket; the watchdog is on only with WATCHDOG_USEC, and only for the PID
    systemd named in WATCHDOG_PID."""
    assert socket_address("@hall") == b"\0hall"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, pid=2) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "2"}, pid=2) == 30.0
    assert watchdog_interval({}) is None
    assert Notifier({}).notify(READY=1) is False  # no manager (make run): nothing is sent, nothing fails


def test_watchdog_asks_the_daemon_over_loopback_whatever_address_it_listens_on():
    """A daemon listening on every interface (KIOSK_HOST=0.0.0.0, as installed) is asked on loopback."""
    assert loopback_url("0.0.0.0", 8080) == "http://127.0.0.1:8080/health"
    assert loopback_url("::", 8080) == "http://[::1]:8080/health"
    assert loopback_url("192.168.1.20", 80) == "http://192.168.1.20:80/health"


def test_notifier_sends_to_a_filesystem_socket(tmp_path):
    """A notify socket given as a path receives the KEY=VALUE lines in one datagram."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        notifier = Notifier({"NOTIFY_SOCKET": str(path)})
        assert notifier.notify(READY=1, STATUS="serving")
        assert sock.recv(100) == b"READY=1\nSTATUS=serving"
        notifier.close()


def test_ready_watchdog_only_while_healthy_and_stopping(tmp_path, manager):
    """Situation: the real daemon runs with a notify socket, a 1 s watchdog and the debug-fault switch on.
    Action: wait for READY; then hang the queue writer with SIGUSR2; let it go with SIGUSR2; then SIGTERM.
    Outcome: READY comes once the API answers; WATCHDOG=1 follows while healthy; while the writer hangs no
    WATCHDOG=1 comes, only STATUS lines naming the writer, and /health answers 503 saying so; once let go,
    WATCHDOG=1 resumes; SIGTERM brings STOPPING=1 and a clean exit 0 with the queue intact."""
    env = {**manager.env, "WATCHDOG_USEC": "1000000", "KIOSK_DEBUG_FAULTS": "1"}
    daemon = Daemon(tmp_path / "data", env=env).start()
    try:
        first = manager.next()
        assert first["READY"] == "1" and daemon.url in first["STATUS"]
        assert requests.get(f"{daemon.url}/health", timeout=5).json()["status"] == "ok"
        manager.until("WATCHDOG")
        manager.until("WATCHDOG")  # and again: it keeps coming while healthy

        daemon.signal(signal.SIGUSR2)
        message = manager.next()
        if "WATCHDOG" in message:  # one round may have been under way when the signal arrived
            message = manager.next()
        hung = [message, manager.next(), manager.next()]
        assert all("WATCHDOG" not in m and m["STATUS"].startswith("unhealthy") for m in hung)
        assert "queue writer" in hung[-1]["STATUS"]
        answer = requests.get(f"{daemon.url}/health", timeout=5)
        assert answer.status_code == 503
        assert answer.json()["parts"] == {"writer": False, "events": True}
        assert any("queue writer" in p for p in answer.json()["problems"])

        daemon.signal(signal.SIGUSR2)
        assert "unhealthy" not in manager.until("WATCHDOG")[-1].get("STATUS", "")
        ticket = requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "general"}, timeout=5)
        assert ticket.status_code == 201

        daemon.signal(signal.SIGTERM)
        assert "STOPPING" in manager.until("STOPPING")[-1]
        assert daemon.proc.wait(15) == 0
    finally:
        daemon.stop()
    again = Daemon(tmp_path / "data").start()
    try:
        assert requests.get(f"{again.url}/api/v1/tickets/{ticket.json()['id']}").json()["status"] == "waiting"
    finally:
        again.stop()


def test_a_silent_printer_with_a_long_timeout_does_not_starve_the_watchdog(tmp_path, manager):
    """Situation: the real daemon runs under a 4 s watchdog (health asked every 2 s, each probe given 0.5 s, so
    a loaded test machine does not starve the writer's own probe); its virtual printer has a status timeout of
    6 s, longer than the watchdog's period (an old /health that asked the printer took 7 s).
    Action: the printer goes silent (the `offline` fault) and stays so while the watchdog keeps asking /health.
    Outcome: WATCHDOG=1 keeps coming (never an `unhealthy` STATUS: systemd would otherwise restart the hall
    every 30 s because a printer is off); /health answers within 1 s with 200, naming the printer offline;
    a ticket is still refused with 503 `printer_unavailable`."""
    cfg = settings.parse_toml(settings.default_text())
    cfg["devices"][0]["options"]["timeout"] = 6.0
    config = tmp_path / "hall.toml"
    config.write_text(settings.to_toml(cfg), encoding="utf-8")
    env = {**manager.env, "WATCHDOG_USEC": "4000000"}
    daemon = Daemon(tmp_path / "data", "--config", str(config), env=env).start()
    try:
        manager.until("READY")
        manager.until("WATCHDOG")
        silent = requests.post(f"{daemon.url}/api/v1/devices/ticket-printer/simulate", json={"fault": "offline"},
                               headers=daemon.technician, timeout=20)   # it asks the printer: about 6 s
        assert silent.status_code == 200 and silent.json()["online"] is False
        messages = [manager.next() for _ in range(5)]   # the watchdog asks every 2 s
        assert all("WATCHDOG" in m and "unhealthy" not in m.get("STATUS", "") for m in messages), messages
        started = time.monotonic()
        health = requests.get(f"{daemon.url}/health", timeout=5)
        assert time.monotonic() - started < 1.0
        assert health.status_code == 200 and "device ticket-printer is offline" in health.json()["problems"]
        ticket = requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "general"}, timeout=20)
        assert ticket.status_code == 503 and ticket.json()["error"]["code"] == "printer_unavailable"
    finally:
        daemon.stop()


def test_sigusr2_without_debug_faults_changes_nothing_and_sigusr1_switches_the_traffic_log(tmp_path, manager):
    """Situation: the daemon runs under a 1 s watchdog without KIOSK_DEBUG_FAULTS; its log goes to a file that
    JOURNAL_STREAM names, as systemd names the journal's stream.
    Action: SIGUSR2, then take a ticket; SIGUSR1, then take another.
    Outcome: the watchdog keeps coming after SIGUSR2 (it is ignored, and says so in the log); the first ticket
    leaves no device traffic in the log, the second is logged by the printer's traffic logger; every log line
    starts with its syslog priority, so journald files warnings as warnings."""
    log = tmp_path / "kiosk.log"
    log.touch()
    journal = f"{log.stat().st_dev}:{log.stat().st_ino}"
    env = {**manager.env, "WATCHDOG_USEC": "1000000", "JOURNAL_STREAM": journal}
    daemon = Daemon(tmp_path / "data", env=env, log=log).start()
    try:
        manager.until("READY")
        daemon.signal(signal.SIGUSR2)
        wait_until(lambda: "SIGUSR2 ignored" in log.read_text(), timeout=10)
        manager.until("WATCHDOG")
        first = requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "claims"}, timeout=5).json()
        daemon.signal(signal.SIGUSR1)
        wait_until(lambda: "device traffic log on" in log.read_text(), timeout=10)
        second = requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "claims"}, timeout=5).json()
    finally:
        assert daemon.stop() == 0
    lines = log.read_text().splitlines()
    traffic = [line for line in lines if "kiosk.traffic.ticket-printer" in line]
    assert any(second["number"] in line for line in traffic)  # the bytes sent for the second ticket
    assert not any(first["number"] in line for line in traffic)
    assert all(line.startswith("<7>kiosk.traffic.ticket-printer: ") for line in traffic)
    assert "<4>kiosk.switches: device traffic log on" in lines
    assert all(re.match(r"<[2-7]>", line) for line in lines), [l for l in lines if not re.match(r"<[2-7]>", l)]


def test_a_second_daemon_on_the_same_data_dir_is_refused(tmp_path):
    """Two daemons on one data directory would fight over the database: the second exits with a message that
    names the problem and what to do."""
    daemon = Daemon(tmp_path / "data").start()
    try:
        second = Daemon(tmp_path / "data", log=tmp_path / "second.log")
        with pytest.raises(AssertionError, match="exited with 2"):
            second.start()
        assert "systemctl stop hall-kiosk" in (tmp_path / "second.log").read_text()
        assert "[data_dir_in_use]" in (tmp_path / "second.log").read_text()
        assert requests.get(f"{daemon.url}/health", timeout=5).status_code == 200  # the first runs on
    finally:
        daemon.stop()
