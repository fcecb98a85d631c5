"""The ticket printer driver: python-escpos over USB, a serial port, the network, or a device file.

One worker thread owns the port (:class:`PortOwner`): status checks, tickets and test pages are jobs on its
queue, and the caller waits for the answer with a timeout. The port opens when the worker first asks for the
status and again after it fails, with a growing pause between attempts; each distinct error is logged once.

The worker also keeps the printer's **last known state**: it asks for the status at start, after every job
(a ticket ends with a status check) and whenever it has had nothing to do for :data:`REFRESH_S` seconds.
``state()`` and ``online()`` read that state and its age and never wait for the printer, so ``/health``,
``/metrics`` and the device list answer at once even when the printer is silent. A ticket still asks the
printer itself (``status()``) just before it is issued.

**One question at a time.** ESC/POS status answers carry nothing that ties them to a question, so an answer
that comes after its question timed out could be taken for the answer to the next one. The driver therefore
throws away what has arrived before each question, and after a question that went unanswered it first waits
until the line has been quiet for a whole ``timeout`` (throwing away the late answer if it comes) before it
asks again. An answer up to twice the ``timeout`` late is thus never mistaken for a fresh one; a printer that
keeps answering late is refused as offline ("answers later than its timeout").

**A new driver takes the worker over.** When a config change replaces the printer's driver, the new driver
takes over the same worker (:meth:`EscposPrinter.take_over`): the jobs already queued finish on the old port,
then the worker closes it and opens the new driver's port (and asks the new driver's status when idle) for
every later job. The port never has two owners and no job is dropped.
"""
from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, cast

from . import escpos_codes as codes
from .base import DeviceError, Printer, PrinterStatus
from .escpos_connect import PORT_ERRORS, describe, discard_late, drain, open_port, read_reply
from .escpos_lib import Escpos
from .text_image import font_problem
from .ticket_escpos import PaperStyle, test_page_bytes, ticket_bytes

log = logging.getLogger(__name__)

BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
REFRESH_S = 2.0       # an idle printer's status is asked again after this long without a job
START_WAIT_S = 1.0    # start() waits at most this long for the first status, so the hall starts knowing it
STOP_WAIT_S = 0.2     # stop() waits this long for an idle status question under way
LATE_LIMIT = 2        # after an unanswered question, listen at most this many timeouts for the line to go quiet
STOP_S = 5.0          # how long stop() waits for the job in progress and those queued before it


@dataclass(frozen=True)
class _Switch:
    """A job that closes the port and makes ``opener`` open the port of every later job (see hand_over); the
    idle job and its failure report become the new driver's."""

    opener: Callable[[], Escpos]
    done: Callable[[], None]
    idle: Callable[[Escpos], object] | None = None
    idle_failed: Callable[[DeviceError], None] | None = None


class PortOwner:
    """A thread that owns one printer port and runs jobs ``fn(port)`` on it, one at a time.

    With ``idle``, the thread runs ``idle(port)`` at start and whenever no job came for ``idle_s`` seconds;
    when that fails, ``idle_failed(error)`` is told (both on the worker thread)."""

    def __init__(self, name: str, opener: Callable[[], Escpos], *, idle: Callable[[Escpos], object] | None = None,
                 idle_failed: Callable[[DeviceError], None] | None = None, idle_s: float = REFRESH_S):
        self._opener = opener
        self._idle, self._idle_failed, self._idle_s = idle, idle_failed, idle_s
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()   # no job is queued behind the stop marker
        self._closed = False
        self._port: Escpos | None = None
        self._retry_at = 0.0
        self._backoff = BACKOFF_FIRST
        self._last_logged: str | None = None
        self._open_error = ""
        self._refreshing = False   # the worker runs its own idle job (nobody waits for it)
        self.stopping = False
        self._thread = threading.Thread(target=self._run, name=f"printer-{name}", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def running(self) -> bool:
        """True while the worker runs and takes jobs."""
        return self._thread.is_alive() and not self._closed

    def stop(self, timeout: float = STOP_S) -> None:
        """Take no more jobs; finish those queued, close the port and end the thread (waiting at most
        ``timeout``: a port that hangs is left to its daemon thread). An idle job under way (a silent printer's
        status question can take twice its timeout) is not waited for: the thread ends after it by itself."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.stopping = True
            self._jobs.put(None)
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S if self._refreshing else timeout)

    def hand_over(self, opener: Callable[[], Escpos], done: Callable[[], None], *,
                  idle: Callable[[Escpos], object] | None = None,
                  idle_failed: Callable[[DeviceError], None] | None = None) -> None:
        """Let the jobs already queued finish on the current port, then close it and open later jobs' port with
        ``opener`` (and run ``idle`` when idle); ``done()`` is called on the worker once the old port is closed."""
        self._put(_Switch(opener, done, idle, idle_failed))

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
        wait = 0.0   # the first idle job runs at once
        while True:
            try:
                job = self._jobs.get(timeout=wait) if self._idle is not None else self._jobs.get()
            except queue.Empty:
                self._run_idle()
                wait = self._idle_s
                continue
            wait = self._idle_s
            if job is None:
                self._close()
                return
            if isinstance(job, _Switch):
                self._switch(job)
                wait = 0.0   # the new driver learns its printer's state at once
                continue
            fn, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._execute(fn))
                except DeviceError as exc:
                    future.set_exception(exc)

    def _run_idle(self) -> None:
        self._refreshing = True
        try:
            self._execute(self._idle)
        except DeviceError as exc:
            if self._idle_failed is not None:
                self._idle_failed(exc)
        finally:
            self._refreshing = False

    def _execute(self, fn) -> object:
        """Run one job on the open port; every failure comes out as a DeviceError."""
        try:
            result = fn(self._open())
        except DeviceError as exc:
            self._log_once(exc.message)
            raise
        except PORT_ERRORS as exc:
            self._close()
            error = DeviceError("printer_offline", f"the ticket printer's connection failed ({exc})")
            self._log_once(error.message)
            raise error from None
        except Exception as exc:  # noqa: BLE001 - the worker must outlive any driver surprise
            self._close()
            error = DeviceError("printer_failed", f"the ticket printer failed ({exc})")
            if error.message != self._last_logged and not self.stopping:
                log.exception("printer job failed")
                self._last_logged = error.message
            raise error from None
        self._backoff = BACKOFF_FIRST
        self._last_logged = None
        return result

    def _switch(self, job: _Switch) -> None:
        self._close()
        self._opener = job.opener
        if job.idle is not None:
            self._idle, self._idle_failed = job.idle, job.idle_failed
        self._retry_at, self._backoff, self._last_logged = 0.0, BACKOFF_FIRST, None
        try:
            job.done()
        except Exception:  # noqa: BLE001 - the worker must outlive any driver surprise
            log.exception("printer hand-over failed")

    def _open(self) -> Escpos:
        if self._port is not None:
            return self._port
        if self._retry_at > time.monotonic():
            raise DeviceError("printer_offline", self._open_error)   # the same words: logged once
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
                # else python-escpos tries to close it again when collected (an internal: see escpos_lib)
                self._port._device = False
            self._port = None

    def _log_once(self, message: str) -> None:
        if message != self._last_logged and not self.stopping:   # a port closed under a stop is no news
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
        # The last status and when it was learnt (time.monotonic()); None until the printer was first asked.
        # Replaced whole (one assignment), so a reader on another thread never sees half of it.
        self._known: tuple[PrinterStatus, float] | None = None
        self._first_status = threading.Event()
        self._unanswered = False   # the last question was not answered in full: its answer may still come
        self._owner = PortOwner(self.name, self._open_port, idle=self._query, idle_failed=self._failed)
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
            self._known = old._known   # the same printer: its last known state holds until it is asked anew
            self._replaced = old._handed_over = threading.Event()

    def start(self) -> None:
        """Start the worker that owns the port and wait briefly for its first status (the port opens then); or
        hand the inherited worker over to this driver's port, keeping the old driver's last known state."""
        if self._replaced is not None:   # the worker may be busy with the old driver's ticket: do not wait for it
            self._owner.hand_over(self._open_port, self._replaced.set, idle=self._query, idle_failed=self._failed)
            return
        self._owner.start()
        self._first_status.wait(min(START_WAIT_S, self.options["timeout"] + 0.5))

    def stop(self) -> None:
        """Close the port and stop the worker; a driver that was replaced waits (at most its print timeout)
        until its last job has finished, and leaves the worker to its successor."""
        if self._handed_over is None:
            self._owner.stop()
        elif not self._handed_over.wait(self.options["print_timeout"] + STOP_S):
            log.warning("ticket printer %s: the old driver's last job did not finish", self.name)

    # -- the last known state -------------------------------------------------------------------------------
    def _remember(self, status: PrinterStatus) -> PrinterStatus:
        """Keep ``status`` as the last known state; log a change of what is wrong once."""
        before = self._known[0].problem() if self._known else ""
        self._known = (status, time.monotonic())
        self._first_status.set()
        if not status.online and status.error:
            self.note_error(status.error)
        problem = status.problem()
        if problem != before and not self._owner.stopping:
            if problem:
                log.warning("%s: %s (%s)", self.name, problem, status.error or "as the printer reports")
            else:
                log.info("%s: the ticket printer is ready", self.name)
        return status

    def _failed(self, error: DeviceError) -> None:
        self._remember(PrinterStatus(online=False, paper="unknown", error=error.message))

    def last_status(self) -> tuple[PrinterStatus, float | None]:
        """The last known status and its age in seconds, without asking the printer (never waits).

        Before the printer has been asked once, the status is offline with paper ``unknown`` and the age None.
        """
        problem = self._font_problem()
        if problem:
            return PrinterStatus(online=False, paper="unknown", error=problem), 0.0
        known = self._known
        if known is None:
            return PrinterStatus(online=False, paper="unknown"), None
        return known[0], time.monotonic() - known[1]

    def _font_problem(self) -> str | None:
        """Why Chinese lines cannot be printed (they are printed as images and the font is missing)."""
        images = self.style.encoding not in codes.CHINESE_ENCODINGS
        return font_problem(self.style.font) if images else None

    # -- jobs that run on the worker ----------------------------------------------------------------------
    def _query(self, port: Escpos) -> PrinterStatus:
        if self.transport == "file":   # a device file is write-only: no status answers
            return self._remember(PrinterStatus(online=True, paper="unknown"))
        timeout = self.options["timeout"]
        drain(port)
        late = b""
        if self._unanswered:   # its answer may still be on its way: let it come and go before asking again
            late, quiet = discard_late(port, timeout, LATE_LIMIT * timeout)
            if late:
                self.traffic.debug("late status answer thrown away: %s", late.hex(" "))
            if not quiet:
                return self._remember(self._late(timeout))
        self._unanswered = True
        self.traffic.debug("asks for its status (DLE EOT 1, 2, 4)")
        port._raw(codes.status_query())
        reply = read_reply(port, 3, timeout)
        self._unanswered = len(reply) < 3
        self.traffic.debug("status answer %s", reply.hex(" "))  # raw traffic: kiosk.traffic.<device name>
        status = self._late(timeout) if late and self._unanswered else codes.parse_status(reply)
        return self._remember(status)

    @staticmethod
    def _late(timeout: float) -> PrinterStatus:
        return PrinterStatus(online=False, paper="unknown",
                             error=f"the ticket printer answers later than its timeout ({timeout:g} s)")

    def _send(self, port: Escpos, data: bytes) -> None:
        self.traffic.debug("sends %d bytes: %r", len(data), data)
        port._raw(data)
        after = self._query(port)   # paper that ran out or a cover opened while printing shows up here
        if not after.ready:
            raise DeviceError("print_failed", f"{after.problem() or after.error} while printing")

    # -- the Printer interface ------------------------------------------------------------------------------
    def status(self) -> PrinterStatus:
        """Ask the printer now (``DLE EOT`` 1, 2, 4); no answer within the timeout counts as offline."""
        problem = self._font_problem()
        if problem:   # it could not print a Chinese line: not ready, and the technician is told why
            self.note_error(problem)
            return PrinterStatus(online=False, paper="unknown", error=problem)
        try:
            return cast(PrinterStatus, self._owner.call(self._query, self.options["timeout"] + 1.0))
        except DeviceError as exc:
            return self._remember(PrinterStatus(online=False, paper="unknown", error=exc.message))

    def online(self) -> bool:
        """True when the printer answered its last status question (never waits)."""
        return self.last_status()[0].online

    def _print(self, data: bytes) -> None:
        try:
            self._owner.call(lambda port: self._send(port, data), self.options["print_timeout"])
        except DeviceError as exc:
            if exc.code == "printer_offline":   # the connection failed while printing
                self._failed(exc)
            raise

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
        """The device list entry from the last known status (never waits): model, port, paper, cover, the
        status's age (``status_age_s``, None before the first answer) and the last ticket's time."""
        status, age = self.last_status()
        warning = "paper near its end: load a new roll soon" if status.paper == "near_end" else None
        return {"name": self.name, "kind": self.kind, "type": self.type, "online": status.online,
                "last_error": self.last_error, "last_error_at": self.last_error_at, "model": self.model,
                "port": self.port_name(), "paper": status.paper, "cover_open": status.cover_open,
                "warning": warning, "status_age_s": None if age is None else round(age, 1),
                "last_ticket_at": self.last_ticket_at}
