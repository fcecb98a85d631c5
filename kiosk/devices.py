"""The hall's devices: built from the config, fed from the event stream, resynced from the database.

Calls reach displays and speech only through committed events (never inline in a request): the event
dispatcher calls :meth:`DeviceManager.on_events`, which rebuilds the call board from the database and pushes
it to every display, and queues one announcement per call or recall.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

from .display.board import Board
from .display.spoken import Announcement, call_announcement, paused_announcement
from .display.texts import counter_text, hall_text
from .drivers import registry
from .drivers.base import Device, DeviceError, Dispenser, Display, Printer, Speech
from .drivers.hallbus import BusDevice, BusEvaluator, BusKeypad, BusPool
from .errors import NotFound
from .settings import HallConfig

log = logging.getLogger(__name__)

SPOKEN_EVENTS = ("called", "recalled", "paused")
BOARD_EVENTS = {"called", "recalled", "served", "no_show", "transferred", "paused", "resumed", "expired", "void",
                "day_started"}


class DeviceManager:
    """Owns the device objects of the current config."""

    def __init__(self, board: Callable[[], Board], config: Callable[[], HallConfig],
                 dispense: Callable[[str], dict], data_dir: Path | None = None, *,
                 key: Callable[[int, int], dict] | None = None, rate: Callable[[int, int], dict] | None = None):
        self._board = board
        self._data_dir = data_dir
        self._config = config
        self._dispense = dispense
        self._inputs = {BusKeypad: key, BusEvaluator: rate}
        self.buses = BusPool([])
        self.devices: dict[str, Device] = {}
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()

    def load(self, cfg: HallConfig) -> None:
        """Replace the devices with those of ``cfg`` and show the current state on every display."""
        self.stop()
        devices = {}
        self.buses = BusPool(cfg.data["buses"])
        for spec in cfg.data["devices"]:
            device = registry.build(spec)
            device.data_dir = self._data_dir
            if isinstance(device, Dispenser):
                device.bind(self._dispense)
            if type(device) in self._inputs:
                device.bind(self._inputs[type(device)])
            if isinstance(device, BusDevice):
                device.attach(self.buses)
            try:
                device.start()
            except DeviceError as exc:
                device.note_error(exc.message)
                log.warning("device %s did not start: %s", device.name, exc.message)
            devices[device.name] = device
        self.devices = devices
        self.buses.start()
        self.resync()

    def resync_later(self, seconds: float) -> None:
        """Resync every display after a while (after a test text); cancelled by :meth:`stop`."""
        def fire():
            with self._timers_lock:
                self._timers.discard(timer)
            self.resync()

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        with self._timers_lock:
            self._timers.add(timer)
        timer.start()

    def stop(self) -> None:
        """Cancel pending resyncs and close every device."""
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        for device in self.devices.values():
            try:
                device.stop()
            except Exception:
                log.exception("device %s did not stop cleanly", device.name)
        self.buses.stop()

    @property
    def printer(self) -> Printer | None:
        """The ticket printer, if one is configured."""
        return next((d for d in self.devices.values() if isinstance(d, Printer)), None)

    @property
    def speech(self) -> Speech | None:
        """The voice, if one is configured."""
        return next((d for d in self.devices.values() if isinstance(d, Speech)), None)

    def get(self, name: str) -> Device:
        """Return a device by name or raise NotFound."""
        try:
            return self.devices[name]
        except KeyError:
            raise NotFound(f"There is no device {name!r}.", code="unknown_device") from None

    def states(self) -> list[dict]:
        """Return every device's state."""
        return [d.state() for d in self.devices.values()]

    def resync(self, blink_counters: frozenset[int] = frozenset()) -> None:
        """Show the database's current state on every display."""
        cfg = self._config()
        board = self._board()
        hall = cfg.data["hall"]
        welcome = {"zh-CN": hall["welcome"], "en": hall["welcome_en"]}
        for device in list(self.devices.values()):
            if not isinstance(device, Display):
                continue
            if device.spec["kind"] == "counter_display":
                counter = device.spec["counter"]
                text = counter_text(board, counter, cfg.languages, blink=counter in blink_counters)
            else:
                text = hall_text(board, cfg.languages, welcome, blink=bool(blink_counters))
            self._show(device, text)

    @staticmethod
    def _show(device: Display, text) -> None:
        try:
            device.show(text)
        except DeviceError as exc:
            if device.last_error != exc.message:
                log.warning("display %s: %s", device.name, exc.message)
            device.note_error(exc.message)

    def on_events(self, events: list[dict]) -> None:
        """Update displays and queue announcements for a batch of committed events."""
        if not any(e["type"] in BOARD_EVENTS for e in events):
            return
        calls = [e for e in events if e["type"] in ("called", "recalled")]
        self.resync(frozenset(e["counter"] for e in calls))
        speech = self.speech
        if speech is None:
            return
        cfg = self._config()
        for event in events:
            announcement = self._announcement(event, cfg)
            if announcement is None:
                continue
            try:
                speech.announce(announcement)
            except DeviceError as exc:
                speech.note_error(exc.message)

    @staticmethod
    def _announcement(event: dict, cfg: HallConfig) -> Announcement | None:
        """What the voice says for one event: calls, recalls and a counter pausing; nothing for the rest."""
        if event["type"] not in SPOKEN_EVENTS:
            return None
        counter = cfg.counters.get(event["counter"])
        if counter is None:
            return None
        if event["type"] == "paused":
            return paused_announcement(counter, cfg.templates, cfg.languages, time.time())
        kind = "call" if event["type"] == "called" else "recall"
        return call_announcement(kind, event["data"]["number"], counter, cfg.templates, cfg.languages, time.time())
