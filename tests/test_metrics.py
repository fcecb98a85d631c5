"""GET /metrics in Prometheus text format (read back with prometheus_client's own parser) and GET /health."""
from __future__ import annotations

import requests

from daemon import Daemon
from kiosk import backup
from util import scrape, wait_until


def test_metrics_count_tickets_waiting_devices_and_latency(hall, client, take, press, tech):
    """Situation: two normal and one VIP general tickets and one claims ticket are taken; counter 1 (not the
    green channel, which is open and so takes the VIPs) calls the oldest normal one; the printer's paper runs low.
    Action: GET /metrics.
    Outcome: the parser reads issued and called counts per service and priority, waiting per service, the
    printer's paper state, every device online, the voice's backlog and a latency histogram whose count for
    POST /api/v1/tickets is the number of tickets taken."""
    take("general")
    take("general")
    take("general", "vip")
    take("claims")
    assert press(1, "next").status_code == 200
    client.post("/api/v1/devices/ticket-printer/simulate", json={"fault": "paper_near_end"}, headers=tech)
    assert hall.bus.ping(5)  # the fan-out has delivered every committed event
    # ... and the voice has taken the call's announcement (on a busy machine that can lag the fan-out a little)
    wait_until(lambda: hall.devices.get("voice").state()["queue_length"] == 0, timeout=10)
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain; version=0.0.4")
    m = scrape(resp.get_data(as_text=True))

    assert m[("hall_tickets_issued_total", (("priority", "normal"), ("service", "general")))] == 2
    assert m[("hall_tickets_issued_total", (("priority", "vip"), ("service", "general")))] == 1
    assert m[("hall_tickets_issued_total", (("priority", "normal"), ("service", "claims")))] == 1
    called = {k: v for k, v in m.items() if k[0] == "hall_tickets_called_total"}
    assert called == {("hall_tickets_called_total", (("priority", "normal"), ("service", "general"))): 1}
    waiting = {service: m[("hall_tickets_waiting", (("service", service),))] for service in ("general", "claims")}
    assert waiting["general"] + waiting["claims"] == 3
    assert m[("hall_tickets_waiting", (("service", "changes"),))] == 0  # every service is listed
    assert m[("hall_device_paper", (("device", "ticket-printer"), ("state", "near_end")))] == 1
    assert m[("hall_device_paper", (("device", "ticket-printer"), ("state", "ok")))] == 0
    assert m[("hall_device_online", (("device", "hall-strip"), ("kind", "hall_display")))] == 1
    assert m[("hall_announcement_backlog", (("device", "voice"),))] == 0
    assert m[("hall_thread_up", (("thread", "writer"),))] == 1
    assert m[("hall_backup_last_timestamp_seconds", ())] == 0  # no backup yet: an alert can fire on it
    assert m[("hall_http_request_duration_seconds_count",
              (("method", "POST"), ("route", "/api/v1/tickets")))] == 4


def test_health_names_the_device_problem_without_calling_the_hall_unhealthy(client, tech):
    """A printer out of paper is named in /health's problems and the hall is ``degraded``, not unhealthy: 200, so
    the watchdog is still fed (a restart would not load paper); /health and /api/v1/health answer alike."""
    client.post("/api/v1/devices/ticket-printer/simulate", json={"fault": "paper_out"}, headers=tech)
    root, api = client.get("/health"), client.get("/api/v1/health")
    assert root.status_code == api.status_code == 200
    assert root.json["status"] == "degraded" and root.json["parts"] == {"writer": True, "events": True}
    assert root.json["problems"] == ["device ticket-printer is out of paper"]
    bodies = [resp.get_json() for resp in (root, api)]
    for body in bodies:
        body["storage"].pop("free_bytes")  # the disk is shared: its free bytes move between the two answers
    assert bodies[0] == bodies[1]


def test_live_daemon_serves_metrics_to_a_scraper(tmp_path):
    """The real daemon answers /metrics over HTTP with a text the Prometheus parser reads, after a backup was
    taken the backup time is there."""
    daemon = Daemon(tmp_path / "data").start()
    try:
        requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "consult"}, timeout=5)
        made = backup.take(tmp_path / "data")
        m = scrape(requests.get(f"{daemon.url}/metrics", timeout=5).text)
    finally:
        daemon.stop()
    assert m[("hall_tickets_waiting", (("service", "consult"),))] == 1
    assert m[("hall_backup_last_timestamp_seconds", ())] == made.stat().st_mtime
    assert m[("hall_database_bytes", ())] > 0
