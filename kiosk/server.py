"""Serving the hall with waitress (a production WSGI server), and a clean stop on SIGTERM or Ctrl-C."""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Callable

from waitress.server import create_server

from . import parking
from .api import create_app
from .live import StreamWriter

log = logging.getLogger(__name__)
# How long a thread may hold the interpreter lock before another runnable one gets it (Python's default is
# 5 ms). Requests, the writer, the event fan-out and the device threads take turns on two cores; shorter slices
# keep a request from waiting behind them (docs/benchmarks.md, "The screens").
SWITCH_INTERVAL_S = 0.0005

# Worker threads answer requests only: an open event stream (a hall display, a counter station, the kiosk, the
# guide desk) is handed to the one stream writer once its opening part is sent (kiosk/parking.py), so it holds
# no thread. MAX_STREAMS bounds the open streams (each is a socket and a queue).
DEFAULT_THREADS = 16
DEFAULT_MAX_STREAMS = 200
STREAMS_END_S = 1.0  # how long a stop waits for the ended event streams to be closed


class HallServer:
    """The WSGI server bound to a port, serving one hall."""

    def __init__(self, hall, host: str, port: int, *, threads: int = DEFAULT_THREADS,
                 max_streams: int = DEFAULT_MAX_STREAMS, health_timeout: float = 2.0):
        self.hall = hall
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.app = create_app(hall, {"MAX_STREAMS": max_streams, "HEALTH_PROBE_TIMEOUT": health_timeout})
        self.on_stopping: list[Callable[[], None]] = []  # run once, first thing when a stop begins
        self.server = create_server(self.app, host=host, port=port, threads=threads, ident="hall-kiosk",
                                    channel_timeout=60, connection_limit=500, clear_untrusted_proxy_headers=True)
        self.host, self.port = host, self.server.effective_port
        self.stream_writer = StreamWriter(hall.bus).start()
        parking.install(self.server, self.stream_writer)
        self._loop_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL the server answers on."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until SIGTERM, SIGINT or :meth:`close`; then stop the hall.

        On a stop, waitress lets its worker threads finish the requests they are answering (a ticket being
        printed is printed), then the writer finishes what is queued and the database is closed."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
        try:
            self.run()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self._stopping()
            log.info("stopping: finishing queued work and closing the database")
            self.close()
            self.hall.stop()

    def run(self) -> None:
        """Serve until :meth:`close` (the event loop only; :meth:`serve_forever` adds signals and the hall's stop)."""
        self._loop_thread = threading.current_thread()
        self.server.run()

    def close(self) -> None:
        """Stop serving (also from another thread): end the event streams, then close the server's sockets."""
        self.hall.bus.end_streams()
        deadline = time.monotonic() + STREAMS_END_S  # let them send their end before the sockets close
        while self.hall.bus.stream_count() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.stream_writer.stop()
        loop = self._loop_thread
        if loop is not None and loop is not threading.current_thread() and loop.is_alive():
            try:  # close on the loop's own thread, never under the select() it is waiting in
                self.server.trigger.pull_trigger(self.server.close)
                return
            except OSError:
                pass  # the trigger is already closed: the loop is ending
        self.server.close()

    def _stopping(self) -> None:
        hooks, self.on_stopping = self.on_stopping, []
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("a stop hook failed")

    def _on_signal(self, signum, frame):
        self._stopping()
        raise SystemExit(0)
