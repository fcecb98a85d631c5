"""The listening socket, the event loop's thread, the worker threads, and a stop that lets answers finish.

:class:`WebServer` binds its socket when it is made (so its port is known at once), serves in :meth:`run` on the
calling thread until :meth:`close` (from any thread), then stops: it stops accepting, ends every event stream
properly, lets the requests being answered finish (for at most ``drain_s``), and closes what is left.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import resource
import socket
import threading
import time
from typing import Any, Callable

from ..events import EventBus
from .connection import HttpConnection
from .limits import ClientTable, Limits
from .streams import StreamHub
from .wsgi import WSGIApp, error_reply

log = logging.getLogger(__name__)

DRAIN_S = 5.0  # how long a stop waits for the requests being answered
CLOSE_S = 1.0  # and then for the connections to be closed
# The listen queue, and how many connections the loop accepts in one go (asyncio uses the one number for both):
# large enough for a hall's screens coming back at once, small enough that a connection flood does not keep
# the loop from the requests in between.
BACKLOG = 128
SPARE_FILES = 256  # file descriptors kept for the database, the devices, the logs and the voice


def open_files_for(connections: int) -> int:
    """Raise this process's open-file limit (up to the hard limit) so ``connections`` sockets fit beside the
    hall's other files; return how many connections fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d", soft)
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(16, min(connections, soft - SPARE_FILES))


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``::`` listens on IPv4 and IPv6 where the system allows)."""
    if host == "::" and socket.has_dualstack_ipv6():
        return socket.create_server((host, port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=BACKLOG)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=BACKLOG)


class Workers:
    """Daemon threads that run the app, one request at a time each (a worker stuck in a device call never keeps
    the process from exiting)."""

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"http-worker-{i + 1}", daemon=True)
                         for i in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args, done: Callable[[Any], None]) -> None:
        """Run ``fn(*args)`` on a worker; ``done(result)`` is called on the loop thread."""
        self._jobs.put((fn, args, done))

    @property
    def busy(self) -> int:
        """How many workers are answering a request now."""
        return self._busy

    def stop(self) -> None:
        """Let each worker end after its current job."""
        for _ in self._threads:
            self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, done = job
            with self._busy_lock:
                self._busy += 1
            try:
                result = fn(*args)
            except BaseException:  # a worker must outlive any surprise; the client still gets an answer
                log.exception("a request failed on its worker thread")
                result = error_reply(500, "internal_error",
                                     "Something went wrong inside the hall controller; it was logged.")
            finally:
                with self._busy_lock:
                    self._busy -= 1
            try:
                self._loop.call_soon_threadsafe(done, result)
            except RuntimeError:  # the loop is closed: the server stopped meanwhile
                pass


class WebServer:
    """Serves one WSGI app on one socket with the hall's limits; event streams go to its :class:`StreamHub`."""

    def __init__(self, app: WSGIApp, host: str, port: int, *, bus: EventBus, threads: int = 16,
                 limits: Limits | None = None):
        self.app = app
        limits = limits or Limits()
        fits = open_files_for(limits.max_connections)
        if fits < limits.max_connections:
            log.warning("only %d connections fit in the open-file limit (asked for %d)", fits, limits.max_connections)
            limits = dataclasses.replace(limits, max_connections=fits)
        self.limits = limits
        self.sock = bind(host, port)
        self.local = self.sock.getsockname()[:2]
        self.port: int = self.local[1]
        self.loop = asyncio.new_event_loop()
        self.clients = ClientTable(self.limits)
        self.connections: set[HttpConnection] = set()
        self.lingering = 0  # connections answered with an error that drop what the client still sends
        self.hub = StreamHub(self.loop, bus)
        self.workers = Workers(threads, self.loop)
        self._stop_asked = asyncio.Event()
        self._running = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        """Serve on this thread until :meth:`close`; then stop as the module says."""
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.close()
            self._done.set()

    def close(self, wait: float | None = None) -> None:
        """Ask the server to stop (from any thread, also before :meth:`run`); with ``wait``, wait that long for
        it to have stopped."""
        try:
            self.loop.call_soon_threadsafe(self._stop_asked.set)
        except RuntimeError:  # the loop has already closed
            return
        if wait is not None and self._running.is_set():
            self._done.wait(wait)

    def stats(self) -> dict:
        """Connections, refusals, time-outs, streams and busy workers, for /metrics (from any thread)."""
        return {**self.clients.stats(), "streams": self.hub.count(), "workers_busy": self.workers.busy}

    async def _serve(self) -> None:
        server = await self.loop.create_server(lambda: HttpConnection(self), sock=self.sock, backlog=BACKLOG)
        self.hub.start()
        self._sweep_handle = self.loop.call_later(self._sweep_s, self._sweep)
        self._running.set()
        try:
            await self._stop_asked.wait()
        finally:
            self._sweep_handle.cancel()
            await self._stop(server)

    @property
    def _sweep_s(self) -> float:
        """How often the connections' deadlines are checked: a quarter of the shortest, at most once a second."""
        limits = self.limits
        return max(0.02, min(1.0, min(limits.idle_timeout, limits.head_timeout, limits.body_timeout) / 4))

    def _sweep(self) -> None:
        """Close the connections whose idle time, request head or body ran out of time (one pass over all of
        them, instead of a timer armed and cancelled for every request)."""
        self._sweep_handle = self.loop.call_later(self._sweep_s, self._sweep)
        now = self.loop.time()
        for connection in list(self.connections):
            connection.check_deadline(now)

    async def _stop(self, server: asyncio.AbstractServer) -> None:
        server.close()  # no new connections
        self.hub.stop()  # every stream sends its end (and one parked from now on ends at once)
        await self._until(lambda: not any(c.busy for c in self.connections), DRAIN_S)
        for connection in list(self.connections):
            connection.close_now()
        if not await self._until(lambda: not self.connections, CLOSE_S):
            for connection in list(self.connections):
                connection.transport.abort()
            log.warning("%d connections were cut off at the stop", len(self.connections))
        self.workers.stop()

    @staticmethod
    async def _until(condition: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True
