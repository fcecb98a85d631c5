"""The hall: one object that wires config, store, writer, event fan-out and devices, and offers the actions.

The API and the devices call these methods; the methods run queue changes on the writer (reading the config
at the moment the change runs) and read answers through this thread's read connection.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

from . import config_checks, config_file, counter_ops, estimates, ratings, roster, tickets
from .commit_mark import MarkWriter
from .clock import SystemClock, business_day, day_began_at, iso
from .devices import STOP_S as DEVICES_STOP_S, DeviceManager
from .display.board import Board, load_board
from .display.ticket import build_layout
from .drivers.base import DeviceError, Keypad
from .errors import BadRequest, Conflict, HallError, Unavailable
from .event_types import EventType
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


def unknown_action(action: str) -> BadRequest:
    """The error for an action a counter (or its keypad) does not have."""
    return BadRequest(f"Unknown counter action {action!r}.", code="unknown_action")


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
        self.mark = MarkWriter(self.data_dir)
        # The idle tick makes the 06:00 roll-over happen within seconds even when nobody takes a ticket.
        self.writer = Writer(self.store.writer_connection, clock=self.clock.now, on_commit=self._committed,
                             before_batch=self._roll_over, idle_seconds=5.0, storage_dir=self.data_dir)
        self.devices = DeviceManager(self.board, lambda: self.config, self._dispense, self.data_dir,
                                     key=self._key, rate=self._rate)
        self._day: str | None = None
        self._print_lock = threading.Lock()
        self._config_lock = threading.Lock()  # one config change at a time, swap and devices together
        self._paper_warned = False

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> "Hall":
        """Start the writer and the fan-out, roll the business day over if needed, void the tickets a stop left
        unprinted, open the devices."""
        self.mark.start()
        self.writer.start()
        self.bus.start()
        self.change(lambda tx, cfg: None)  # runs the roll-over before anyone is served
        unprinted = self.writer.run(tickets.void_unprinted)
        if unprinted:
            log.warning("%d tickets were stored but never confirmed printed before the hall stopped; nobody "
                        "holds them, so they are void: %s", len(unprinted), ", ".join(unprinted))
        self.bus.subscribe(self.devices.on_events)
        self.devices.apply(self.config)
        return self

    def stop(self) -> None:
        """Stop taking work, finish what is queued, close devices and the database.

        The devices are closed all at once within :data:`DEVICES_STOP_S`: the printer finishes the ticket it
        is printing (a dispenser button's too) and refuses later ones; a printer, bus or voice that hangs is
        left behind (and logged), so the hall always stops."""
        self.writer.stop()
        self.mark.stop()  # after the writer: the mark names the last commit
        self.bus.stop()
        self.devices.stop(time.monotonic() + DEVICES_STOP_S)
        self.store.close()

    def _committed(self, events: list[dict]) -> None:
        """After each commit (on the writer thread): note the newest event for the commit mark, publish all."""
        self.mark.note(events[-1]["id"], self._day)
        self.bus.publish(events)

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
        view = self.change(self._issue, service, priority, agent_code, source, paper=printer is not None)
        ticket_id = view["id"]
        if printer is not None:
            try:
                self._print(view, svc)
            except DeviceError as exc:
                try:
                    self.writer.run(tickets.void, ticket_id, exc.message)
                except HallError as void_error:  # it ended in the meantime; the customer still has no paper
                    log.warning("ticket %s could not be voided after a print failure: %s", ticket_id,
                                void_error.message)
                raise Unavailable(f"Sorry, {exc.message}; no ticket was issued. Please ask at the guide desk.",
                                  code="printer_unavailable") from None
            self._confirm_printed(ticket_id)
        return view

    def _confirm_printed(self, ticket_id: int) -> None:
        """Store the ``printed`` event before the customer is answered: a ticket without one is voided at the
        next start (tickets.void_unprinted)."""
        try:
            self.writer.run(tickets.printed, ticket_id)
        except HallError as exc:  # e.g. the disk just filled up: the customer holds the paper all the same
            log.warning("ticket %s was printed, but that could not be recorded (%s); should the hall restart "
                        "before it is served, it will be voided", ticket_id, exc.message)

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
            self._print(view, self.config.service(view["service"]))
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
            self.writer.run(lambda tx: tx.emit(EventType.DEVICE_WARNING, device=printer.name,
                                               warning="paper_near_end",
                                               message="The ticket printer's paper is near its end."))
        self._paper_warned = near_end
        return printer

    def ticket_layout(self, view: dict, svc: dict | None = None):
        """The ticket's printed layout (for the printer and the preview) from its public view."""
        svc = svc or self.config.service(view["service"])
        return build_layout(view, svc, self.config.data["hall"])

    def _print(self, view: dict, svc: dict) -> None:
        """Print on the printer in force now: one a config change put in place meanwhile takes the ticket."""
        with self._print_lock:
            printer = self.devices.printer
            if printer is None:   # a config change took the printer away: issued without paper, as configured
                return
            try:
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

    def _key(self, counter_id: int, action: str) -> dict:
        """A counter keypad's key, named by the keypad (``Keypad.ACTIONS``): the same action as the counter's
        API; any other name (a key the keypad's driver could not name) is refused as an unknown action."""
        def press() -> dict:
            if action not in Keypad.ACTIONS:
                raise unknown_action(action)
            return {"ticket": self.counter_action(counter_id, action)}
        return self._device_outcome(press)

    def _rate(self, counter_id: int, score: int) -> dict:
        """An evaluator's score, stored against the ticket last called at the counter."""
        return self._device_outcome(
            lambda: {"ticket_id": self.change(ratings.rate, counter_id, score), "score": score})

    def board(self) -> Board:
        """Return the call board of the current business day, as every screen shows it."""
        cfg = self.config
        since = day_began_at(self.clock.now(), cfg.tz, cfg.day_start)
        return load_board(self.store.reader(), cfg.counters, cfg.tz, cfg.data["queue"]["last_calls_shown"], since)

    def _issue(self, tx: Tx, cfg: HallConfig, *args, **kwargs) -> dict:
        """Issue on the writer and build the answer in the same transaction, where the new row and the counts
        are at hand (not read back cold after the commit)."""
        ticket_id = tickets.issue(tx, cfg, *args, **kwargs)
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
            raise unknown_action(action)
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
    def apply_config(self, data: dict, *, text: str | None = None, sent: Any = None) -> None:
        """Save a validated config to the config file and put it in force, then bring the devices in line (only
        those whose entry changed are rebuilt).

        ``text`` is the TOML the technician sent, saved as it is; without it the file is edited to mean
        ``data`` (``sent``, the JSON body, says which keys the technician wrote; see kiosk/config_file.py).
        The file is written and synced beside the old one first, off the writer (a slow or full disk holds no
        queue operation up); then, on the writer, between two queue operations, the config is checked against
        the queue (kiosk/config_checks.py), the file renamed over the old one and the config swapped in, so the
        file and the config in force change together or not at all."""
        new = HallConfig(data)
        with self._config_lock:
            if text is None:
                text = config_file.edit(config_file.base_text(self.config_path), data if sent is None else sent,
                                        data)
            staged = config_file.stage(self.config_path, text)
            try:
                self.writer.run(self._swap_config, new, staged)
            except Exception:
                if self.config is not new:
                    raise
                # The swap stores nothing in the database: a batch that failed to commit after it does not undo it.
                log.warning("the config was saved and is in force, though the queue operations run with it failed")
            finally:
                staged.unlink(missing_ok=True)  # left only when the swap was refused
            config_file.settle(self.config_path)
            self.devices.apply(new)

    def _swap_config(self, tx: Tx, new: HallConfig, staged: Path) -> None:
        config_checks.check(tx, self.config, new)
        config_file.put(staged, self.config_path)
        self.config = new
        log.info("config replaced through the API and saved to %s", self.config_path)

    def import_roster(self, body: bytes, content_type: str) -> dict:
        """Replace the Starlight roster from an upload; report accepted and rejected rows."""
        rows = roster.parse_upload(body, content_type)
        today = tickets.local_date(self.clock.now(), self.config)
        accepted, rejected = roster.sort_rows(rows, self.config, today)
        if not rows:
            raise HallError("The roster has no rows; the old roster is kept. (Revoke agents one by one instead.)",
                            code="roster_empty", status=422)
        listed = roster.rejection_list(rejected)
        if not accepted:
            raise HallError("No row of the roster could be accepted; the old roster is kept.",
                            code="roster_rejected", status=422, rejected=listed["rejections"],
                            rejections_omitted=listed["rejections_omitted"])
        self.writer.run(roster.replace, accepted)
        return {"accepted": len(accepted), "rejected": len(rejected), **listed}
