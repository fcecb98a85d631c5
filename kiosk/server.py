"""Serving the hall over HTTP (:mod:`kiosk.web`), and a clean stop on SIGTERM or Ctrl-C."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Callable

from .api import create_app
from .web.limits import Limits
from .web.server import WebServer

log = logging.getLogger(__name__)
# How long a thread may hold the interpreter lock before another runnable one gets it (Python's default is
# 5 ms). Requests, the writer, the event fan-out and the device threads take turns on two cores; shorter slices
# keep a request from waiting behind them (docs/benchmarks.md, "The screens").
SWITCH_INTERVAL_S = 0.0005

# Worker threads answer requests only: an open event stream (a hall display, a counter station, the kiosk, the
# guide desk) is sent from the server's event loop once its opening part is written, so it holds no thread.
# MAX_STREAMS bounds the open streams of the hall (each is a socket and a queue), CLIENT_STREAMS those of one
# client address (a TV shows one; a PC with a few screens a few).
DEFAULT_THREADS = 16
DEFAULT_MAX_STREAMS = 200
DEFAULT_CLIENT_STREAMS = 20
STOP_WAIT_S = 10.0  # how long close(wait=True) waits for the server to have stopped


class HallServer:
    """The HTTP server bound to a port, serving one hall."""

    def __init__(self, hall, host: str, port: int, *, threads: int = DEFAULT_THREADS,
                 max_streams: int = DEFAULT_MAX_STREAMS, client_streams: int = DEFAULT_CLIENT_STREAMS,
                 limits: Limits | None = None, health_timeout: float = 2.0):
        self.hall = hall
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        limits = limits or Limits()
        self.app = create_app(hall, {"MAX_STREAMS": max_streams, "CLIENT_STREAMS": client_streams,
                                     "HEALTH_PROBE_TIMEOUT": health_timeout,
                                     "MAX_CONTENT_LENGTH": limits.max_body_bytes})
        self.on_stopping: list[Callable[[], None]] = []  # run once, first thing when a stop begins
        self.web = WebServer(self.app, host, port, bus=hall.bus, threads=threads, limits=limits)
        self.app.extensions["web"] = self.web  # /metrics reads its connection counts
        self.host, self.port = host, self.web.port

    @property
    def url(self) -> str:
        """The base URL the server answers on."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until SIGTERM, SIGINT or :meth:`close`; then stop the hall.

        On a stop the server ends the event streams, lets the requests being answered finish (a ticket being
        printed is printed), then the writer finishes what is queued and the database is closed."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        try:
            self.run()
        finally:
            self._stopping()
            log.info("stopping: finishing queued work and closing the database")
            self.hall.stop()

    def run(self) -> None:
        """Serve until :meth:`close` (the server only; :meth:`serve_forever` adds signals and the hall's stop)."""
        self.web.run()

    def close(self, wait: bool = False) -> None:
        """Stop serving (from any thread); with ``wait``, return once the server has stopped."""
        self.web.close(STOP_WAIT_S if wait else None)

    def _stopping(self) -> None:
        hooks, self.on_stopping = self.on_stopping, []
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("a stop hook failed")

    def _on_signal(self, signum, frame) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        self._stopping()
        self.close()
