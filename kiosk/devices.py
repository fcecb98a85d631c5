"""The hall's devices: built from the config, fed from the event stream, resynced from the database.

Calls reach displays and speech only through committed events (never inline in a request): the event
dispatcher calls :meth:`DeviceManager.on_events`, which rebuilds the call board from the database and pushes
it to every display, and queues one announcement per call or recall.

A new config is applied by :meth:`DeviceManager.apply`, which rebuilds only the devices whose entry changed
and hands over to each new device what outlives its driver; :meth:`DeviceManager.stop` closes every device at
once within one deadline, so no device that hangs can keep the hall from stopping.
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
from .drivers.base import Device, DeviceError, Dispenser, Display, Evaluator, Keypad, Printer, Speech
from .errors import NotFound
from .event_types import BOARD_TYPES, CALL_TYPES, SPOKEN_TYPES, EventType
from .settings import HallConfig

log = logging.getLogger(__name__)

# The longest a hall's stop waits for the ticket being printed and every device to close: with the web server's
# own wait for requests in progress (5 s) the daemon exits within 10 s of SIGTERM whatever the devices do.
STOP_S = 3.0
BUS_STOP_S = 5.0   # how long a changed bus may take to let go of its port
UNIQUE_KINDS = ("printer", "speech")   # one per hall: a new one takes over from the old whatever its name


class DeviceManager:
    """Owns the device objects of the current config.

    :meth:`apply` brings them in line with a config, rebuilding only what changed (see docs/configuration.md,
    "Applying a change while the hall runs"); :meth:`stop` closes them all within one deadline.
    """

    def __init__(self, board: Callable[[], Board], config: Callable[[], HallConfig],
                 dispense: Callable[[str], dict], data_dir: Path | None = None, *,
                 key: Callable[[int, str], dict] | None = None, rate: Callable[[int, int], dict] | None = None):
        self._board = board
        self._data_dir = data_dir
        self._config = config
        self._dispense = dispense
        self._key = key
        self._rate = rate
        self.shared = registry.shared_parts()   # the buses, which several devices share
        self.devices: dict[str, Device] = {}
        self._apply_lock = threading.Lock()  # one apply at a time, and none once stopped
        self._stopped = False
        self._retiring: set[threading.Thread] = set()
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()  # guards the timers and the retiring threads

    def apply(self, cfg: HallConfig) -> None:
        """Bring the devices in line with ``cfg`` and show the current state on every display.

        A device whose entry is unchanged (and, on a bus, whose ``[[buses]]`` entry is unchanged) keeps running
        untouched. A changed one is built anew, takes over from the old one what outlives a driver (the
        printer's port worker and virtual printer, the voice's waiting announcements), is started, and only
        then replaces it; the old one is stopped in the background once its last job is done. Removed devices
        are stopped, new ones started. Callers are never held up by a device that is slow to stop.
        """
        with self._apply_lock:
            if self._stopped:
                return
            old = self.devices
            rebuilt_parts = self.shared.changed(cfg.data)
            kept = {s["name"]: old[s["name"]] for s in cfg.data["devices"]
                    if self._unchanged(old.get(s["name"]), s, rebuilt_parts)}
            leaving = [d for name, d in old.items() if kept.get(name) is not d]
            for device in leaving:
                device.detach()   # before a successor joins at the same address
            # a changed bus lets go of its port before its successor opens the same one
            stop_within(self.shared.replace(cfg.data), time.monotonic() + BUS_STOP_S)
            fresh = {s["name"]: self._build(s, old) for s in cfg.data["devices"] if s["name"] not in kept}
            self.shared.start()
            self.devices = {s["name"]: kept.get(s["name"]) or fresh[s["name"]] for s in cfg.data["devices"]}
            if old and (leaving or fresh):
                log.info("devices rebuilt or removed by the new config: %s; started: %s",
                         ", ".join(d.name for d in leaving), ", ".join(fresh) or "none")
            self._retire(leaving)
        self.resync()

    @staticmethod
    def _unchanged(device: Device | None, spec: dict, rebuilt_parts: set[str]) -> bool:
        if device is None or device.spec != spec:
            return False
        return device.shares() not in rebuilt_parts

    def _build(self, spec: dict, old: dict[str, Device]) -> Device:
        """Create, wire and start the device of one entry; it takes over from the device it replaces: the one
        of the same name, or the hall's one printer or voice."""
        device = registry.build(spec)
        device.data_dir = self._data_dir
        if isinstance(device, Dispenser):
            device.bind(self._dispense)
        if isinstance(device, Keypad) and self._key is not None:
            device.bind(self._key)
        if isinstance(device, Evaluator) and self._rate is not None:
            device.bind(self._rate)
        device.attach(self.shared)
        previous = old.get(spec["name"])
        if spec["kind"] in UNIQUE_KINDS:
            previous = next((d for d in old.values() if d.spec["kind"] == spec["kind"]), None)
        if previous is not None and previous.spec["kind"] == spec["kind"]:
            device.take_over(previous)
        try:
            device.start()
        except DeviceError as exc:
            device.note_error(exc.message)
            log.warning("device %s did not start: %s", device.name, exc.message)
        return device

    def _retire(self, devices: list[Device]) -> None:
        """Stop replaced and removed devices on a thread of their own (a printer after its last job)."""
        for device in devices:
            def retire(device=device) -> None:
                _stop_logged(device.stop, f"device {device.name}")
                with self._lock:
                    self._retiring.discard(threading.current_thread())

            thread = threading.Thread(target=retire, name=f"retire-{device.name}", daemon=True)
            with self._lock:
                self._retiring.add(thread)
            thread.start()

    def resync_later(self, seconds: float) -> None:
        """Resync every display after a while (after a test text); cancelled by :meth:`stop`."""
        def fire():
            with self._lock:
                self._timers.discard(timer)
            self.resync()

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def stop(self, deadline: float | None = None) -> list[str]:
        """Cancel pending resyncs and close every device and bus at once, waiting until ``deadline``
        (``time.monotonic()``; default :data:`STOP_S` from now) at the latest. Returns (and logs) what did not
        stop in time: a hung port or engine is left to its daemon thread, so the hall still stops."""
        deadline = deadline if deadline is not None else time.monotonic() + STOP_S
        locked = self._apply_lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        try:
            self._stopped = True
            with self._lock:
                for timer in self._timers:
                    timer.cancel()
                self._timers.clear()
                retiring = list(self._retiring)
            stops = {f"device {d.name}": d.stop for d in self.devices.values()}
            stops.update(self.shared.stoppers())
            late = stop_within(stops, deadline)
        finally:
            if locked:
                self._apply_lock.release()
        for thread in retiring:   # replaced devices still finishing their last job
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                late.append(thread.name)
        return late

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
        if not any(e["type"] in BOARD_TYPES for e in events):
            return
        calls = [e for e in events if e["type"] in CALL_TYPES]
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
        if event["type"] not in SPOKEN_TYPES:
            return None
        counter = cfg.counters.get(event["counter"])
        if counter is None:
            return None
        if event["type"] == EventType.PAUSED:
            return paused_announcement(counter, cfg.templates, cfg.languages, time.time())
        kind = "call" if event["type"] == EventType.CALLED else "recall"
        return call_announcement(kind, event["data"]["number"], counter, cfg.templates, cfg.languages, time.time())


def _stop_logged(stop: Callable[[], None], name: str) -> None:
    try:
        stop()
    except Exception:
        log.exception("%s did not stop cleanly", name)


def stop_within(stops: dict[str, Callable[[], None]], deadline: float, what: str = "") -> list[str]:
    """Run every stop at once, each on a daemon thread of its own, and wait for them until ``deadline``
    (``time.monotonic()``); return the names of those still running, which are logged and left behind."""
    threads = []
    for name, stop in stops.items():
        thread = threading.Thread(target=_stop_logged, args=(stop, f"{what} {name}".strip()),
                                  name=f"stop-{name}".replace(" ", "-"), daemon=True)
        thread.start()
        threads.append((name, thread))
    late = []
    for name, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            late.append(f"{what} {name}".strip())
    if late:
        log.warning("did not stop in time and were left behind: %s", ", ".join(late))
    return late
