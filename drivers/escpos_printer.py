"""The ticket printer driver: python-escpos over USB, a serial port, the network, or a device file.

One worker thread owns the port (:class:`PortOwner`): status checks, tickets and test pages are jobs on its
queue, and the caller waits for the answer with a timeout. The port opens on first use and again after it
fails, with a growing pause between attempts; each distinct error is logged once.

When a config change replaces the printer's driver, the new driver takes over the same worker
(:meth:`EscposPrinter.take_over`): the jobs already queued finish on the old port, then the worker closes it and
opens the new driver's port for every later job. The port never has two owners and no job is dropped.
"""
from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from . import escpos_codes as codes
from .base import DeviceError, Printer, PrinterStatus
from .escpos_connect import PORT_ERRORS, describe, drain, open_port, read_reply
from .escpos_lib import Escpos
from .text_image import font_problem
from .ticket_escpos import PaperStyle, test_page_bytes, ticket_bytes

log = logging.getLogger(__name__)

BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
STOP_S = 5.0  # how long stop() waits for the job in progress and those queued before it


@dataclass(frozen=True)
class _Switch:
    """A job that closes the port and makes ``opener`` open the port of every later job (see hand_over)."""

    opener: Callable[[], Escpos]
    done: Callable[[], None]


class PortOwner:
    """A thread that owns one printer port and runs jobs ``fn(port)`` on it, one at a time."""

    def __init__(self, name: str, opener: Callable[[], Escpos]):
        self._opener = opener
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()   # no job is queued behind the stop marker
        self._closed = False
        self._port: Escpos | None = None
        self._retry_at = 0.0
        self._backoff = BACKOFF_FIRST
        self._last_logged: str | None = None
        self._open_error = ""
        self._thread = threading.Thread(target=self._run, name=f"printer-{name}", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def running(self) -> bool:
        """True while the worker runs and takes jobs."""
        return self._thread.is_alive() and not self._closed

    def stop(self, timeout: float = STOP_S) -> None:
        """Take no more jobs; finish those queued, close the port and end the thread (waiting at most
        ``timeout``: a port that hangs is left to its daemon thread)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
        self._thread.join(timeout)

    def hand_over(self, opener: Callable[[], Escpos], done: Callable[[], None]) -> None:
        """Let the jobs already queued finish on the current port, then close it and open later jobs' port with
        ``opener``; ``done()`` is called on the worker once the old port is closed."""
        self._put(_Switch(opener, done))

    def _put(self, job) -> None:
        with self._lock:
            if self._closed:   # refused at once, never left waiting behind the stop marker
                raise DeviceError("printer_stopped", "the ticket printer's driver has stopped")
            self._jobs.put(job)

    def call(self, fn: Callable[[Escpos], object], timeout: float) -> object:
        """Run ``fn(port)`` on the worker; raise DeviceError ``printer_timeout`` if it takes over ``timeout``."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._put((fn, future))
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()   # a job still queued is dropped, so a ticket given up on never prints later
            raise DeviceError("printer_timeout",
                              f"the ticket printer did not finish within {timeout:g} s") from None

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                self._close()
                return
            if isinstance(job, _Switch):
                self._switch(job)
                continue
            fn, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(self._open()))
                    self._backoff = BACKOFF_FIRST
                    self._last_logged = None
                except DeviceError as exc:
                    self._log_once(exc.message)
                    future.set_exception(exc)
                except PORT_ERRORS as exc:
                    self._close()
                    error = DeviceError("printer_offline", f"the ticket printer's connection failed ({exc})")
                    self._log_once(error.message)
                    future.set_exception(error)
                except Exception as exc:  # noqa: BLE001 - the worker must outlive any driver surprise
                    self._close()
                    log.exception("printer job failed")
                    future.set_exception(DeviceError("printer_failed", f"the ticket printer failed ({exc})"))

    def _switch(self, job: _Switch) -> None:
        self._close()
        self._opener = job.opener
        self._retry_at, self._backoff, self._last_logged = 0.0, BACKOFF_FIRST, None
        try:
            job.done()
        except Exception:  # noqa: BLE001 - the worker must outlive any driver surprise
            log.exception("printer hand-over failed")

    def _open(self) -> Escpos:
        if self._port is not None:
            return self._port
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise DeviceError("printer_offline", f"{self._open_error}; next try in {wait:.1f} s")
        try:
            self._port = self._opener()
        except DeviceError as exc:
            self._open_error = exc.message
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, BACKOFF_MAX)
            raise
        return self._port

    def _close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception as exc:  # noqa: BLE001 - a port that failed may fail to close too
                log.debug("closing the printer port failed: %s", exc)
            finally:
                self._port._device = False   # else python-escpos tries to close it again when collected
            self._port = None

    def _log_once(self, message: str) -> None:
        if message != self._last_logged:
            log.warning("%s", message)
            self._last_logged = message


class EscposPrinter(Printer):
    """A real ESC/POS printer; ``type`` is usb, serial, network or file (see docs/printer.md)."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        opts = spec["options"]
        self.options = opts
        self.style = PaperStyle(width_mm=opts["paper_width"], encoding=opts["encoding"], profile=opts["profile"],
                                cutter=opts["cutter"], font=opts["font"])
        self.model = opts["model"] or f"ESC/POS {opts['paper_width']} mm ({opts['profile']} profile)"
        self.transport = self.type
        self.last_ticket_at: float | None = None
        self._owner = PortOwner(self.name, self._open_port)
        self._replaced: threading.Event | None = None      # the replaced driver's: set when its last job is done
        self._handed_over: threading.Event | None = None   # ours, once a successor took the worker over

    def _open_port(self) -> Escpos:
        return open_port(self.transport, self.options, self.style.profile)

    def port_name(self) -> str:
        """The port in words (for messages and the device list)."""
        return describe(self.transport, self.options)

    def take_over(self, old) -> None:
        """Before :meth:`start`: when ``old`` is an ESC/POS driver whose worker runs, keep that worker (and
        the last ticket's time), so the ticket it is printing and the jobs queued behind it finish on the old
        port and every later job runs on this driver's port."""
        if isinstance(old, EscposPrinter) and old._owner.running() and old._handed_over is None:
            self._owner, self.last_ticket_at = old._owner, old.last_ticket_at
            self._replaced = old._handed_over = threading.Event()

    def start(self) -> None:
        """Start the worker that owns the port (the port opens on first use), or hand the inherited worker
        over to this driver's port."""
        if self._replaced is not None:
            self._owner.hand_over(self._open_port, self._replaced.set)
        else:
            self._owner.start()

    def stop(self) -> None:
        """Close the port and stop the worker; a driver that was replaced waits (at most its print timeout)
        until its last job has finished, and leaves the worker to its successor."""
        if self._handed_over is None:
            self._owner.stop()
        elif not self._handed_over.wait(self.options["print_timeout"] + STOP_S):
            log.warning("ticket printer %s: the old driver's last job did not finish", self.name)

    # -- jobs that run on the worker ----------------------------------------------------------------------
    def _query(self, port: Escpos) -> PrinterStatus:
        if self.transport == "file":   # a device file is write-only: no status answers
            return PrinterStatus(online=True, paper="unknown")
        drain(port)
        self.traffic.debug("asks for its status (DLE EOT 1, 2, 4)")
        port._raw(codes.status_query())
        reply = read_reply(port, 3, self.options["timeout"])
        self.traffic.debug("status answer %s", reply.hex(" "))  # raw traffic: kiosk.traffic.<device name>
        return codes.parse_status(reply)

    def _send(self, port: Escpos, data: bytes) -> None:
        self.traffic.debug("sends %d bytes: %r", len(data), data)
        port._raw(data)
        after = self._query(port)   # paper that ran out or a cover opened while printing shows up here
        if not after.ready:
            raise DeviceError("print_failed", f"{after.problem() or after.error} while printing")

    # -- the Printer interface ------------------------------------------------------------------------------
    def status(self) -> PrinterStatus:
        """Ask the printer now (``DLE EOT`` 1, 2, 4); no answer within the timeout counts as offline."""
        images = self.style.encoding not in codes.CHINESE_ENCODINGS   # Chinese lines are printed as images
        problem = font_problem(self.style.font) if images else None
        if problem:   # it could not print a Chinese line: not ready, and the technician is told why
            self.note_error(problem)
            return PrinterStatus(online=False, paper="unknown", error=problem)
        try:
            status = self._owner.call(self._query, self.options["timeout"] + 1.0)
        except DeviceError as exc:
            status = PrinterStatus(online=False, paper="unknown", error=exc.message)
        if not status.online and status.error:
            self.note_error(status.error)
        return status

    def online(self) -> bool:
        """True when the printer answers now."""
        return self.status().online

    def _print(self, data: bytes) -> None:
        self._owner.call(lambda port: self._send(port, data), self.options["print_timeout"])

    def print_ticket(self, layout) -> None:
        """Print one ticket; raise DeviceError when the printer fails or stops while printing."""
        self._print(ticket_bytes(layout, self.style))
        self.last_ticket_at = time.time()

    def test_page(self) -> None:
        """Print a test page (refused with the reason when the printer is not ready)."""
        status = self.status()
        if not status.ready:
            raise DeviceError("printer_unavailable", status.problem() or status.error or "not ready")
        self._print(test_page_bytes(self.model, self.style))

    def state(self) -> dict:
        """Add model, port, paper, cover and the last ticket's time to the device list entry."""
        status = self.status()
        warning = "paper near its end: load a new roll soon" if status.paper == "near_end" else None
        return {"name": self.name, "kind": self.kind, "type": self.type, "online": status.online,
                "last_error": self.last_error, "last_error_at": self.last_error_at, "model": self.model,
                "port": self.port_name(), "paper": status.paper, "cover_open": status.cover_open,
                "warning": warning, "last_ticket_at": self.last_ticket_at}
