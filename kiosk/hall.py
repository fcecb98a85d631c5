"""The hall: one object that wires config, store, writer, event fan-out and devices, and offers the actions.

The API and the devices call these methods; the methods run queue changes on the writer (reading the config
at the moment the change runs) and read answers through this thread's read connection.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from . import counter_ops, estimates, ratings, roster, settings, tickets
from .clock import SystemClock, business_day, day_began_at, iso
from .devices import DeviceManager
from .display.board import Board, load_board
from .display.ticket import build_layout
from .drivers.base import DeviceError
from .drivers.hallbus_frame import KEYS
from .errors import BadRequest, Conflict, HallError, Unavailable
from .events import EventBus
from .settings import HallConfig
from .store import Store
from .writer import Tx, Writer

log = logging.getLogger(__name__)

CONFIG_NAME = "config.toml"

COUNTER_ACTIONS: dict[str, Callable] = {
    "next": counter_ops.next_ticket,
    "recall": counter_ops.recall,
    "no-show": counter_ops.no_show,
    "finish": counter_ops.finish,
    "call": counter_ops.call_ticket,
    "transfer": counter_ops.transfer,
    "pause": lambda tx, cfg, cid: counter_ops.set_paused(tx, cfg, cid, True),
    "resume": lambda tx, cfg, cid: counter_ops.set_paused(tx, cfg, cid, False),
}


class Hall:
    """A running hall: the queue, its config and its devices."""

    def __init__(self, data_dir: str | Path, config: dict, *, config_path: str | Path | None = None,
                 clock=None):
        self.data_dir = Path(data_dir)
        self.config = HallConfig(config)
        self.config_path = Path(config_path) if config_path else self.data_dir / CONFIG_NAME
        self.clock = clock or SystemClock()
        self.store = Store(self.data_dir)
        self.bus = EventBus()
        # The idle tick makes the 06:00 roll-over happen within seconds even when nobody takes a ticket.
        self.writer = Writer(self.store.writer_connection, clock=self.clock.now, on_commit=self.bus.publish,
                             before_batch=self._roll_over, idle_seconds=5.0)
        self.devices = DeviceManager(self.board, lambda: self.config, self._dispense, self.data_dir,
                                     key=self._key, rate=self._rate)
        self._day: str | None = None
        self._print_lock = threading.Lock()
        self._paper_warned = False

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> "Hall":
        """Start the writer and the fan-out, roll the business day over if needed, open the devices."""
        self.writer.start()
        self.bus.start()
        self.change(lambda tx, cfg: None)  # runs the roll-over before anyone is served
        self.bus.subscribe(self.devices.on_events)
        self.devices.load(self.config)
        return self

    def stop(self) -> None:
        """Stop taking work, finish what is queued, close devices and the database."""
        self.writer.stop()
        self.bus.stop()
        with self._print_lock:  # a ticket being printed (a dispenser button's too) is finished first
            self.devices.stop()
        self.store.close()

    def change(self, op: Callable, *args, **kwargs) -> Any:
        """Run ``op(tx, config, *args)`` on the writer with the config in force when it runs."""
        return self.writer.run(lambda tx: op(tx, self.config, *args, **kwargs))

    def _roll_over(self, tx: Tx) -> None:
        cfg = self.config
        today = business_day(tx.now, cfg.tz, cfg.day_start)
        if today != self._day:
            stored = tx.one("SELECT value FROM meta WHERE key = 'business_day'")
            if stored is None or stored[0] != today:
                tickets.expire_before(tx, today)
            self._day = today

    # -- tickets ------------------------------------------------------------------------------------------
    def issue_ticket(self, service: str, priority: str = "normal", agent_code: str | None = None,
                     source: str = "kiosk") -> dict:
        """Issue and print a ticket; if the printer is not ready or fails, no ticket stays waiting (503)."""
        svc = self.config.service(service)
        printer = self._ready_printer()
        view = self.change(self._issue, service, priority, agent_code, source)
        ticket_id = view["id"]
        if printer is not None:
            try:
                self._print(printer, view, svc)
            except DeviceError as exc:
                try:
                    self.writer.run(tickets.void, ticket_id, exc.message)
                except HallError as void_error:  # it ended in the meantime; the customer still has no paper
                    log.warning("ticket %s could not be voided after a print failure: %s", ticket_id,
                                void_error.message)
                raise Unavailable(f"Sorry, {exc.message}; no ticket was issued. Please ask at the guide desk.",
                                  code="printer_unavailable") from None
        return view

    def reprint_ticket(self, ticket_id: int) -> dict:
        """Print a waiting (or called) ticket again, e.g. after a jam; the ticket itself does not change."""
        view = self.ticket_view(ticket_id)
        if view["status"] not in ("waiting", "called"):
            raise Conflict(f"Ticket {view['number']} is {view['status']}; only a waiting or called ticket can be "
                           "reprinted.", code="ticket_not_reprintable")
        printer = self._ready_printer()
        if printer is None:
            raise Conflict("No ticket printer is configured.", code="no_printer")
        try:
            self._print(printer, view, self.config.service(view["service"]))
        except DeviceError as exc:
            raise Unavailable(f"Sorry, {exc.message}; the ticket was not reprinted.",
                              code="printer_unavailable") from None
        log.info("ticket %s (%s) reprinted", ticket_id, view["number"])
        return view

    def _ready_printer(self):
        """Check the printer before a ticket: 503 when it is not ready; a paper-near-end warning is published
        once (an event for the technician) while the ticket still prints."""
        printer = self.devices.printer
        if printer is None:
            return None
        status = printer.status()
        if not status.ready:
            raise Unavailable(f"Sorry, {status.problem()}. Please ask at the guide desk.",
                              code="printer_unavailable")
        near_end = status.paper == "near_end"
        if near_end and not self._paper_warned:
            self.writer.run(lambda tx: tx.emit("device_warning", device=printer.name, warning="paper_near_end",
                                               message="The ticket printer's paper is near its end."))
        self._paper_warned = near_end
        return printer

    def ticket_layout(self, view: dict, svc: dict | None = None):
        """The ticket's printed layout (for the printer and the preview) from its public view."""
        svc = svc or self.config.service(view["service"])
        return build_layout(view, svc, self.config.data["hall"])

    def _print(self, printer, view: dict, svc: dict) -> None:
        try:
            with self._print_lock:
                printer.print_ticket(self.ticket_layout(view, svc))
        except DeviceError as exc:
            printer.note_error(exc.message)
            raise

    @staticmethod
    def _device_outcome(action: Callable[[], dict]) -> dict:
        """Run what a device's button asked for; the outcome it reports: ``{"ok": true, ...}`` or the error."""
        try:
            return {"ok": True, **action()}
        except HallError as exc:
            return {"ok": False, **exc.to_dict()}

    def _dispense(self, service: str) -> dict:
        """A dispenser button: a ticket through the kiosk's path (printing and its errors included)."""
        return self._device_outcome(lambda: {"ticket": self.issue_ticket(service, source="dispenser")})

    def _key(self, counter_id: int, code: int) -> dict:
        """A counter keypad's key: the same action as the counter's API (unknown keys are refused)."""
        action = KEYS.get(code, f"key {code}")
        return self._device_outcome(lambda: {"ticket": self.counter_action(counter_id, action)})

    def _rate(self, counter_id: int, score: int) -> dict:
        """An evaluator's score, stored against the ticket last called at the counter."""
        return self._device_outcome(
            lambda: {"ticket_id": self.change(ratings.rate, counter_id, score), "score": score})

    def board(self) -> Board:
        """Return the call board of the current business day, as every screen shows it."""
        cfg = self.config
        since = day_began_at(self.clock.now(), cfg.tz, cfg.day_start)
        return load_board(self.store.reader(), cfg.counters, cfg.tz, cfg.data["queue"]["last_calls_shown"], since)

    def _issue(self, tx: Tx, cfg: HallConfig, *args) -> dict:
        """Issue on the writer and build the answer in the same transaction, where the new row and the counts
        are at hand (not read back cold after the commit)."""
        ticket_id = tickets.issue(tx, cfg, *args)
        return self._view(tx.conn, cfg, tickets.get_row(tx.conn, ticket_id))

    def ticket_view(self, ticket_id: int) -> dict:
        """Return a ticket as the public sees it (no agent code), with ``ahead`` and the estimated wait."""
        conn = self.store.reader()
        return self._view(conn, self.config, tickets.get_row(conn, ticket_id))

    @staticmethod
    def _view(conn, cfg: HallConfig, row) -> dict:
        """The public view of a ticket's row, counting ``ahead`` through ``conn``."""
        waiting = row["status"] == "waiting"
        ahead, wait = estimates.ticket_estimate(conn, cfg, row) if waiting else (0, 0)
        view = {"id": row["id"], "number": row["number"], "service": row["service"], "priority": row["priority"],
                "status": row["status"], "issued_at": iso(row["issued_at"], cfg.tz), "ahead": ahead,
                "estimated_wait_s": wait, "counter": row["counter"], "called_at": iso(row["called_at"], cfg.tz),
                "recalls": row["recalls"]}
        counter = cfg.counters.get(row["counter"])
        if counter is not None:
            view["counter_name"], view["counter_name_en"] = counter["name"], counter["name_en"]
        return view

    # -- counters -----------------------------------------------------------------------------------------
    def counter_action(self, counter_id: int, action: str, **kwargs) -> dict | None:
        """Run a counter action; return the ticket it concerns (None when ``next`` finds nobody)."""
        op = COUNTER_ACTIONS.get(action)
        if op is None:
            raise BadRequest(f"Unknown counter action {action!r}.", code="unknown_action")
        result = self.change(op, counter_id, **kwargs)
        if action in ("pause", "resume"):
            return self.counter_view(counter_id)
        return None if result is None else self.ticket_view(result)

    def counter_view(self, counter_id: int) -> dict:
        """Return a counter's config, state and current ticket."""
        cfg = self.config
        counter = cfg.counter(counter_id)
        conn = self.store.reader()
        row = counter_ops.current(conn, counter_id)
        return {"id": counter_id, "name": counter["name"], "name_en": counter["name_en"],
                "services": counter["services"], "green_channel": counter["green_channel"],
                "paused": counter_ops.is_paused(conn, counter_id),
                "current": None if row is None else self.ticket_view(row["id"])}

    # -- configuration and roster -------------------------------------------------------------------------
    def apply_config(self, data: dict) -> None:
        """Check that nothing in use disappears, save the config, and apply it without a restart."""
        new = HallConfig(data)
        old_devices = self.config.data["devices"]
        self.writer.run(self._swap_config, new)
        if new.data["devices"] != old_devices:
            self.devices.load(new)
        else:
            self.devices.resync()

    def _swap_config(self, tx: Tx, new: HallConfig) -> None:
        used = {r[0] for r in tx.execute("SELECT DISTINCT service FROM tickets WHERE status IN ('waiting', 'called')")}
        gone = sorted(used - set(new.services))
        if gone:
            raise Conflict(f"Service {gone[0]!r} still has customers waiting or at a counter; "
                           "serve or transfer them before removing it.", code="service_in_use")
        serving = {r[0] for r in tx.execute("SELECT counter FROM tickets WHERE status = 'called'")}
        gone_counters = sorted(serving - set(new.counters))
        if gone_counters:
            raise Conflict(f"Counter {gone_counters[0]} is serving a customer; finish before removing it.",
                           code="counter_in_use")
        self._check_nobody_stranded(tx, new)
        try:
            settings.save_file(new.data, self.config_path)
        except OSError as exc:
            raise HallError(f"The config could not be saved to {self.config_path}: {exc.strerror}. "
                            "Nothing was changed.", code="config_not_saved", status=500) from None
        self.config = new
        log.info("config replaced through the API and saved to %s", self.config_path)

    @staticmethod
    def _check_nobody_stranded(tx: Tx, new: HallConfig) -> None:
        """Refuse a config under which some waiting customer could never be called."""
        for service, target in tx.execute("SELECT DISTINCT service, target_counter FROM tickets "
                                          "WHERE status = 'waiting'"):
            if target is not None:
                counter = new.counters.get(target)
                if counter is None or service not in counter["services"]:
                    raise Conflict(f"Customers sent to counter {target} for {service!r} are waiting; that counter "
                                   "must stay and keep serving it.", code="counter_in_use")
            elif not any(service in c["services"] for c in new.counters.values()):
                raise Conflict(f"Customers are waiting for {service!r}, but no counter would serve it.",
                               code="service_unserved")

    def import_roster(self, body: bytes, content_type: str) -> dict:
        """Replace the Starlight roster from an upload; report accepted and rejected rows."""
        rows = roster.parse_upload(body, content_type)
        today = tickets.local_date(self.clock.now(), self.config)
        accepted, rejected = roster.sort_rows(rows, self.config, today)
        if not rows:
            raise HallError("The roster has no rows; the old roster is kept. (Revoke agents one by one instead.)",
                            code="roster_empty", status=422)
        if not accepted:
            raise HallError("No row of the roster could be accepted; the old roster is kept.",
                            code="roster_rejected", status=422, rejected=rejected)
        self.writer.run(roster.replace, accepted)
        return {"accepted": len(accepted), "rejected": len(rejected), "rejections": rejected}
