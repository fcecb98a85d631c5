"""``GET /metrics``: the hall in Prometheus text format.

Counters of tickets issued and called come from the committed events (they start at zero when the daemon
starts, which Prometheus' ``rate()`` and ``increase()`` handle); everything else is read when scraped: waiting
tickets from the database, device state from each device's ``state()`` dict (``online``, ``paper``,
``queue_length`` where the driver reports them; the voice's syntheses, fallbacks, engine restarts and whether
it is degraded), the fan-out's backlog, the data directory's disk (full, free bytes), the newest backup.
Request latency is a histogram per route. docs/operations.md says what each metric means.
"""
from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import backup, storage
from .event_types import COUNTED_TYPES, EventType

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PAPER_STATES = ("ok", "near_end", "out", "unknown")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COUNTED_HELP = {EventType.ISSUED: "Tickets issued since the daemon started",
                EventType.CALLED: "Tickets called to a counter (first calls, not recalls) since the daemon started"}
"""The help text of each counted event type's ``hall_tickets_<type>`` counter (kiosk/event_types.py, COUNTED)."""


class HallCollector:
    """Collects the hall's metrics at scrape time; counts issued and called tickets from the event stream."""

    def __init__(self, hall, server: Callable[[], Any] = lambda: None):
        self.hall = hall
        self.server = server  # the HTTP server (kiosk.web.server.WebServer), once it exists
        self._lock = threading.Lock()
        self._counts: dict[str, collections.Counter] = {kind: collections.Counter() for kind in COUNTED_TYPES}
        hall.bus.subscribe(self.on_events)

    def on_events(self, events: list[dict]) -> None:
        """Count the counted events (``issued``, ``called``) by service and priority (on the fan-out thread)."""
        with self._lock:
            for event in events:
                counts = self._counts.get(event["type"])
                if counts is not None:
                    data = event["data"]
                    counts[(data.get("service", ""), data.get("priority", ""))] += 1

    def collect(self):
        """Yield every metric family (prometheus_client's collector protocol)."""
        yield from self._ticket_counters()
        yield self._waiting()
        yield from self._devices()
        yield from self._internals()
        yield from self._http()

    def _ticket_counters(self):
        with self._lock:
            snapshot = {kind: dict(counts) for kind, counts in self._counts.items()}
        for kind in COUNTED_TYPES:
            family = CounterMetricFamily(f"hall_tickets_{kind}", COUNTED_HELP[kind], labels=["service", "priority"])
            for (service, priority), value in sorted(snapshot[kind].items()):
                family.add_metric([service, priority], value)
            yield family

    def _waiting(self):
        family = GaugeMetricFamily("hall_tickets_waiting", "Tickets waiting now, per service", labels=["service"])
        rows = self.hall.store.reader().execute(
            "SELECT service, count(*) FROM tickets WHERE status = 'waiting' GROUP BY service").fetchall()
        counts = {service: n for service, n in rows}
        for service in sorted(set(self.hall.config.services) | set(counts)):
            family.add_metric([service], counts.get(service, 0))
        return family

    def _devices(self):
        online = GaugeMetricFamily("hall_device_online", "1 when the device answers", labels=["device", "kind"])
        paper = GaugeMetricFamily("hall_device_paper", "1 for the printer's current paper state",
                                  labels=["device", "state"])
        backlog = GaugeMetricFamily("hall_announcement_backlog", "Announcements waiting to be spoken",
                                    labels=["device"])
        voice = {  # the voice's own counters (drivers/espeak_speech.py), by their key in its state
            "engine_syntheses": CounterMetricFamily(
                "hall_voice_syntheses", "Sentences synthesized by the voice's pyttsx3 engine", labels=["device"]),
            "fallbacks": CounterMetricFamily(
                "hall_voice_fallbacks", "Sentences made by espeak-ng -w because the pyttsx3 engine failed",
                labels=["device"]),
            "engine_restarts": CounterMetricFamily(
                "hall_voice_engine_restarts", "Starts of the voice's pyttsx3 engine after its first",
                labels=["device"]),
        }
        degraded = GaugeMetricFamily("hall_voice_degraded", "1 while the voice lives on its espeak-ng -w fallback "
                                     "(GET /health names why)", labels=["device"])
        for state in self.hall.devices.states():
            name = state["name"]
            online.add_metric([name, state.get("kind", "")], 1 if state.get("online") else 0)
            if "paper" in state:
                current = state["paper"] if state["paper"] in PAPER_STATES else "unknown"
                for value in PAPER_STATES:
                    paper.add_metric([name, value], 1 if value == current else 0)
            if isinstance(state.get("queue_length"), int):
                backlog.add_metric([name], state["queue_length"])
            if "engine_syntheses" in state:   # a voice with a pyttsx3 engine
                for key, family in voice.items():
                    family.add_metric([name], state[key])
                degraded.add_metric([name], 1 if state["degraded"] else 0)
        return online, paper, backlog, *voice.values(), degraded

    def _internals(self):
        hall = self.hall
        up = GaugeMetricFamily("hall_thread_up", "1 while the daemon's thread runs", labels=["thread"])
        up.add_metric(["writer"], 1 if hall.writer.alive() else 0)
        up.add_metric(["events"], 1 if hall.bus.alive() else 0)
        yield up
        yield GaugeMetricFamily("hall_event_fanout_pending", "Committed event batches not yet delivered",
                                value=hall.bus.pending)
        yield GaugeMetricFamily("hall_event_streams", "Open server-sent event streams", value=hall.bus.stream_count())
        db = Path(hall.store.path)
        size = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
        yield GaugeMetricFamily("hall_database_bytes", "Size of the database and its WAL file", value=size)
        disk = storage.state(hall.data_dir, hall.writer.storage_full)
        yield GaugeMetricFamily("hall_storage_full", "1 while the data directory's disk is full (changes are refused)",
                                value=1 if disk["full"] else 0)
        yield GaugeMetricFamily("hall_storage_free_bytes", "Bytes still free on the data directory's disk",
                                value=disk["free_bytes"])
        newest = backup.newest(backup.backup_dir(hall.data_dir))
        yield GaugeMetricFamily("hall_backup_last_timestamp_seconds",
                                "When the newest backup was taken (Unix time; 0 when there is none)",
                                value=newest.stat().st_mtime if newest else 0)


    def _http(self):
        server = self.server()
        if server is None:
            return
        stats = server.stats()
        yield GaugeMetricFamily("hall_http_connections", "Open HTTP connections", value=stats["connections"])
        yield GaugeMetricFamily("hall_http_clients", "Client addresses with a connection open", value=stats["clients"])
        yield GaugeMetricFamily("hall_http_workers_busy", "Worker threads answering a request now",
                                value=stats["workers_busy"])
        yield _counts("hall_http_connections_refused", "Connections refused since the daemon started: server_busy "
                      "(all places taken) or client_connections (that address has all of its own)", "reason",
                      stats["refused"])
        yield _counts("hall_http_timeouts", "Connections closed since the daemon started because a request or its "
                      "reading client was too slow, by phase (idle, head, body, write)", "phase", stats["timeouts"])


def _counts(name: str, text: str, label: str, counts: dict[str, int]) -> CounterMetricFamily:
    """A counter family with one sample per key of ``counts`` (labelled ``label``)."""
    family = CounterMetricFamily(name, text, labels=[label])
    for key, count in sorted(counts.items()):
        family.add_metric([key], count)
    return family


class Metrics:
    """The registry of one app: the hall collector and the request-latency histogram."""

    def __init__(self, hall, server: Callable[[], Any] = lambda: None):
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(HallCollector(hall, server))
        self.latency = Histogram("hall_http_request_duration_seconds",
                                 "Time to answer an HTTP request (until the answer starts), per route",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)

    def observe(self, method: str, route: str, started: float) -> None:
        """Record one request that started at ``started`` (a ``time.perf_counter()`` value)."""
        self.latency.labels(method, route).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)
