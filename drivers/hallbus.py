"""Hall devices on an RS-485 bus (``type = "bus"``): LED counter displays, the hall strip, dispenser buttons,
counter keypads and evaluators, behind the same interfaces as every other device.

A device only keeps its wanted state and turns bus events into calls on the hall; the :class:`~.hallbus_master.Bus`
that owns the port moves the bytes. A :class:`BusPool` (owned by the device manager) builds one bus per
configured ``[[buses]]`` entry and keeps it while its entry stays the same; ``port = "virtual"`` puts virtual
devices on a pty instead of hardware, and their buttons and faults are driven through :meth:`BusDevice.simulate`.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import serial
from serial.tools import list_ports

from ..display.texts import DisplayText
from . import hallbus_frame as hb, proto_led485, proto_strip
from .base import BadSimulation, Device, DeviceError, Dispenser, Display, Evaluator, Keypad, SharedParts
from .hallbus_master import Bus
from .hallbus_virtual import FAULTS, VirtualBus, VirtualDevice

log = logging.getLogger(__name__)


def part_name(bus: str) -> str:
    """The name a bus goes by among the devices' shared parts (:class:`~.base.SharedParts`)."""
    return f"bus {bus}"


def find_usb_port(usb: str) -> str:
    """The device path of the USB serial adapter ``VID:PID`` or ``VID:PID:SERIAL`` (hex ids, as lsusb shows)."""
    vid, pid, *rest = usb.split(":")
    for port in list_ports.comports():
        if port.vid == int(vid, 16) and port.pid == int(pid, 16) and (not rest or port.serial_number == rest[0]):
            return port.device
    raise serial.SerialException(f"no USB serial adapter {usb} is plugged in")


class BusPool(SharedParts):
    """The hall's buses, each built on first use from its ``[[buses]]`` entry and kept while that entry stays:
    the devices' shared parts (each named ``bus NAME``, see :func:`part_name`)."""

    def __init__(self, buses: list[dict]):
        self.config = {b["name"]: b for b in buses}
        self.buses: dict[str, Bus] = {}
        self.virtual: dict[str, VirtualBus] = {}

    def _changed(self, config: dict) -> list[str]:
        new = {b["name"]: b for b in config["buses"]}
        return [name for name in self.buses if new.get(name) != self.config.get(name)]

    def changed(self, config: dict) -> set[str]:
        """The running buses whose ``[[buses]]`` entry differs in ``config`` or is gone from it."""
        return {part_name(name) for name in self._changed(config)}

    def replace(self, config: dict) -> dict[str, Callable[[], None]]:
        """Take the new ``[[buses]]`` entries: forget each bus whose entry changed or went (its devices must be
        rebuilt) and return, per bus, the function that stops it (the master, then its virtual adapter)."""
        stops = {part_name(name): self._stopper(name) for name in self._changed(config)}
        self.config = {b["name"]: b for b in config["buses"]}
        return stops

    def stoppers(self) -> dict[str, Callable[[], None]]:
        """Per bus, the function that stops it; the pool is empty afterwards."""
        return {part_name(name): self._stopper(name) for name in list(self.buses)}

    def _stopper(self, name: str) -> Callable[[], None]:
        bus, virtual = self.buses.pop(name), self.virtual.pop(name, None)

        def stop() -> None:
            bus.stop()
            if virtual is not None:
                virtual.stop()
        return stop

    def bus(self, name: str) -> Bus:
        """The bus called ``name`` (created with its port opener, not yet started)."""
        if name not in self.buses:
            cfg = self.config[name]
            if cfg["port"] == "virtual":
                self.virtual[name] = virtual = VirtualBus(name)
                opener = lambda: serial.serial_for_url(virtual.path(), baudrate=cfg["baud"], timeout=0)  # noqa: E731
            else:
                opener = lambda: serial.serial_for_url(  # noqa: E731
                    find_usb_port(cfg["usb"]) if cfg["usb"] else cfg["port"], baudrate=cfg["baud"], timeout=0)
            self.buses[name] = Bus(name, opener, baud=cfg["baud"], timeout_s=cfg["timeout_ms"] / 1000,
                                   retries=cfg["retries"], offline_after=cfg["offline_after"],
                                   ping_s=cfg["ping_ms"] / 1000, poll_s=cfg["poll_ms"] / 1000)
        return self.buses[name]

    def start(self) -> None:
        """Plug in the virtual adapters and start the thread of every bus not yet started."""
        for name, bus in self.buses.items():
            if not bus.started:
                if name in self.virtual:
                    self.virtual[name].start()
                bus.start()

    def stop(self) -> None:
        """Stop every bus and virtual adapter, one after another."""
        for stop in self.stoppers().values():
            stop()


class BusDevice(Device):
    """What every bus device shares: its address, online state and counters, and its virtual twin."""

    polled = False
    answers = True  # False: output-only, written to without waiting for a reply (see BusDisplay)
    poll_factor = 1  # polled every poll_ms times this (input devices)

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.kind = spec["kind"]
        self.address: int = spec["options"]["address"]
        self.bus: Bus | None = None
        self.virtual: VirtualBus | None = None
        self._plugged: VirtualDevice | None = None  # the twin this device plugged in on a virtual bus
        self._online = False
        self._known_offline = False  # until the bus has tried it, a device is not reported as missing
        self._outbox: list[tuple[int, bytes]] = []

    def shares(self) -> str:
        """The bus this device is on (as its shared part's name)."""
        return part_name(self.spec["options"]["bus"])

    def attach(self, parts: SharedParts) -> None:
        """Join the configured bus (and, on a virtual bus, plug in the virtual device at this address)."""
        if not isinstance(parts, BusPool):
            raise TypeError(f"{self.name} runs on a bus; it cannot join {type(parts).__name__}")
        pool, name = parts, self.spec["options"]["bus"]
        self.bus = pool.bus(name)
        self.bus.add(self)
        self.virtual = pool.virtual.get(name)
        if self.virtual is not None:
            self._plugged = self.virtual.add(self.address, self.kind, self.spec["options"]["protocol"])

    def detach(self) -> None:
        """Leave the bus (and unplug the virtual twin), for a device removed or rebuilt by a config change."""
        if self.bus is not None:
            self.bus.remove(self)
        if self.virtual is not None and self.virtual.devices.get(self.address) is self._plugged:
            self.virtual.remove(self.address)

    def online(self) -> bool:
        """True while the device answers."""
        return self._online

    def set_online(self, online: bool) -> None:
        """Called by the bus; going offline is remembered as the device's error."""
        self._online, self._known_offline = online, not online
        if not online:
            self.note_error(f"no answer at address {self.address} on bus {self.spec['options']['bus']}"
                            + (f" ({self.bus.port_error})" if self.bus and self.bus.port_error else ""))

    def send(self, cmd: int, payload: bytes = b"") -> None:
        """Queue a command for the bus thread."""
        with self._lock:
            self._outbox.append((cmd, payload))
        self.bus.kick()

    def next_request(self) -> tuple[int, bytes] | None:
        """The next queued command (called on the bus thread)."""
        with self._lock:
            return self._outbox.pop(0) if self._outbox else None

    def on_reply(self, request: int, reply: hb.Frame) -> None:
        """An ACK needs nothing; a NAK is noted."""
        if reply.cmd == hb.NAK:
            self.note_error(f"refused command 0x{request:02X}")

    def state(self) -> dict:
        """Add the address, protocol, bus and its counters, and the virtual device's view."""
        stats = dict(self.bus.stats.get(self.address, {})) if self.bus else {}
        stats.pop("next_ping", None)
        stats.pop("missed", None)
        out = {**super().state(), "bus": self.spec["options"]["bus"], "address": self.address,
               "protocol": self.spec["options"]["protocol"], "counter": self.spec.get("counter") or None,
               "last_seen": stats.pop("last_seen", None), "errors": stats}
        out["errors"].pop("online", None)
        if self.virtual is not None:
            out["virtual"] = {**self._twin().state(), "adapter_unplugged": self.virtual.unplugged}
        return out

    def _twin(self) -> VirtualDevice:
        if self.virtual is None:
            raise NotImplementedError
        return self.virtual.devices[self.address]

    SIMULATE = {"fault": ("on",), "unplugged": (), "adapter_unplugged": ()}
    INPUT_HELP = ""

    def simulate(self, action: dict) -> dict:
        """On a virtual bus: ``{"fault": silent|garbled|unplugged, "on": bool}``, ``{"unplugged": bool}``,
        ``{"adapter_unplugged": bool}``, or the device's own input (see subclasses)."""
        if self.virtual is None:
            return super().simulate(action)
        key = self.simulate_action(action)
        value, on = action[key], action.get("on", True)
        if key in ("unplugged", "adapter_unplugged") and isinstance(value, bool):
            if key == "unplugged":
                self._twin().set_fault("unplugged", value)
            else:
                self.virtual.set_unplugged(value)
        elif key == "fault" and value in FAULTS and isinstance(on, bool):
            self._twin().set_fault(value, on)
        elif not self._input(key, value):
            raise BadSimulation(f"a virtual bus device takes {{\"fault\": one of {', '.join(FAULTS)}, \"on\": bool}}, "
                                "{\"unplugged\": bool}, {\"adapter_unplugged\": bool}" + self.INPUT_HELP)
        self.bus.kick()
        return self.state()

    def _input(self, key: str, value: object) -> bool:
        """Queue the input ``{key: value}`` (a button press) on the virtual twin; False when it is not one."""
        return False


class BusDisplay(BusDevice, Display):
    """An LED counter display or the hall strip: keeps the wanted text and sends it until acknowledged.

    On a vendor protocol (``led485-ascii``, ``strip-aa``) the display never answers: the bus master writes its
    frame (:meth:`next_bytes`) without waiting for a reply, never pings it, and counts it online while the
    port is open (only a failing port takes it offline; reopening the port resends the text)."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.text = DisplayText(("",))
        self._dirty = False
        self.answers = spec["options"]["protocol"] == "hallbus"

    def show(self, text: DisplayText) -> None:
        """Send the text (returns at once); an offline display gets it when it answers again."""
        with self._lock:
            self.text, self._dirty = text, True
        self.bus.kick()
        if self._known_offline:
            raise DeviceError("display_offline", f"{self.name} does not answer; it is sent its text when it does")

    def set_online(self, online: bool) -> None:
        """A display that comes back is sent its text anew (steady: the call it blinked for is old news)."""
        if online:
            with self._lock:
                self.text, self._dirty = DisplayText(self.text.lines), True
        super().set_online(online)

    def next_request(self) -> tuple[int, bytes] | None:
        """The text when it changed (or the display came back), else any queued command."""
        with self._lock:
            if self._dirty:
                self._dirty = False
                return hb.SHOW, hb.show_payload(self.spec.get("counter") or 0, self.text.blink, self.text.lines)
        return super().next_request()

    def next_bytes(self) -> bytes | None:
        """On a vendor protocol: the frame showing the text when it changed (or the port was reopened)."""
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            if self.spec["options"]["protocol"] == "led485-ascii":
                return proto_led485.encode(self.address, proto_led485.render(self.text.lines))
            return proto_strip.encode(self.address, self.text.lines)

    def on_reply(self, request: int, reply: hb.Frame) -> None:
        """A refused SHOW is sent again next round."""
        if reply.cmd == hb.NAK and request == hb.SHOW:
            with self._lock:
                self._dirty = True
        super().on_reply(request, reply)

    def state(self) -> dict:
        """Add what the daemon wants shown."""
        return {**super().state(), "lines": list(self.text.lines), "blink": self.text.blink}


class InputDevice(BusDevice):
    """A polled device whose events run ``handle`` on the bus's input thread (never on the bus thread)."""

    polled = True
    EVENT = 0

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.events = 0
        self.last_result: dict | None = None
        self.last_event_at: float | None = None

    def on_reply(self, request: int, reply: hb.Frame) -> None:
        """Hand an event to the input thread; anything else as usual."""
        if reply.cmd != self.EVENT:
            return super().on_reply(request, reply)
        self.events += 1
        self.last_event_at = time.time()
        self.traffic.debug("event 0x%02X %s", reply.cmd, reply.payload.hex(" "))
        self.bus.work.put(lambda: self._run(reply.payload))

    def _run(self, payload: bytes) -> None:
        """Act on one event; whatever goes wrong, the event ends in an outcome (and a dispenser's error signal)."""
        try:
            self.last_result = self.handle(payload)
            return
        except ValueError as exc:
            message = f"bad event: {exc}"
            log.warning("%s: bad event %s: %s", self.name, payload.hex(" "), exc)
        except Exception as exc:  # noqa: BLE001 - a press must end in a ticket or an error signal, never in nothing
            message = f"the event could not be handled: {exc}"
            log.exception("%s: event %s could not be handled", self.name, payload.hex(" "))
        self.note_error(message)
        self.last_result = {"ok": False, "error": {"code": "event_failed", "message": message}}
        self.refused()

    def handle(self, payload: bytes) -> dict:
        """Act on one event's payload; return the outcome shown in the device's state."""
        raise NotImplementedError

    def refused(self) -> None:
        """Tell the device its event came to nothing (a dispenser lights its error signal)."""

    def state(self) -> dict:
        """Add the event count and the last event's outcome."""
        return {**super().state(), "events": self.events, "last_event_at": self.last_event_at,
                "last_result": self.last_result}


class BusDispenser(InputDevice, Dispenser):
    """Ticket buttons: TAKE(button) issues a ticket through the kiosk's path, then signals ok or error."""

    EVENT = hb.TAKE
    SIMULATE = {**BusDevice.SIMULATE, "press": ()}
    INPUT_HELP = ", or {\"press\": button number}"

    def handle(self, payload: bytes) -> dict:
        """Issue the button's ticket; an error (printer out) lights the dispenser's error signal."""
        if len(payload) != 1 or not 1 <= payload[0] <= len(self.services):
            raise ValueError(f"no button {payload.hex()}")
        result = self._handler(self.services[payload[0] - 1])
        self.send(hb.SIGNAL, bytes((0 if result.get("ok") else 1,)))
        return result

    def refused(self) -> None:
        """Light the error signal: the press gave no ticket."""
        self.send(hb.SIGNAL, b"\x01")

    def _input(self, key: str, value: object) -> bool:
        if key != "press" or isinstance(value, bool) or not isinstance(value, int):
            return False
        if not 1 <= value <= len(self.services):
            return False
        self._twin().queue(hb.TAKE, bytes((value,)))
        return True

    def state(self) -> dict:
        """Add the buttons' services."""
        return {**super().state(), "buttons": self.services}


class CounterInput(InputDevice):
    """A device bound to one counter whose events carry (counter, value); the configured counter is the one
    reported (the interface's, :class:`~.base.Keypad` or :class:`~.base.Evaluator`)."""

    def handle(self, payload: bytes) -> dict:
        """Report the event's value (a key code, a score) in the interface's terms."""
        _counter, value = hb.parse_counter_event(payload)
        return self.report(value)

    def report(self, value: int) -> dict:
        """Pass one event's value to the hall; return the outcome."""
        raise NotImplementedError


class BusKeypad(CounterInput, Keypad):
    """A counter keypad: next, recall, no-show, pause, resume act like the counter's API.

    Its key codes (:data:`~.hallbus_frame.KEYS`) are translated here into the keypad's actions."""

    EVENT = hb.KEY
    poll_factor = 8  # a clerk does not notice 400 ms; a waiting customer at the dispenser comes first
    SIMULATE = {**BusDevice.SIMULATE, "key": ()}
    INPUT_HELP = ", or {\"key\": next|recall|no-show|pause|resume}"

    def report(self, value: int) -> dict:
        """The key's action; a code with no action is reported as ``key N`` (the hall refuses it)."""
        return self.key(hb.KEYS.get(value, f"key {value}"))

    def _input(self, key: str, value: object) -> bool:
        if key != "key" or value not in hb.KEY_CODES:
            return False
        self._twin().queue(hb.KEY, hb.counter_event(self.counter, hb.KEY_CODES[value]))
        return True


class BusEvaluator(CounterInput, Evaluator):
    """A customer's rating pad at a counter: scores 1-5 stored against the ticket last served there."""

    EVENT = hb.RATING
    poll_factor = 20
    SIMULATE = {**BusDevice.SIMULATE, "rate": ()}
    INPUT_HELP = ", or {\"rate\": 1..5}"

    def report(self, value: int) -> dict:
        """The score pressed."""
        return self.rate(value)

    def _input(self, key: str, value: object) -> bool:
        if key != "rate" or isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            return False
        self._twin().queue(hb.RATING, hb.counter_event(self.counter, value))
        return True

