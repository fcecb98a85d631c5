"""Virtual hall-bus devices on the far end of a pty pair, speaking the same bytes as the hardware.

A :class:`VirtualBus` opens a pty (``os.openpty``); the bus master opens its slave path through
``serial_for_url`` like any adapter, and one thread here answers for every virtual device on it. Each
:class:`VirtualDevice` keeps what it shows and what it signalled, queues key presses for the next poll, and has
faults to switch on: ``silent`` (no answer), ``garbled`` (answers with a bad CRC) and ``unplugged`` (silent and
blank). The whole adapter can be unplugged and plugged back (:meth:`VirtualBus.set_unplugged`).

A display on a vendor protocol (``led485-ascii``, ``strip-aa``) decodes that protocol's frames and never
answers, as the hardware does. Every decoder on the bus sees every byte; like a real device, each starts afresh
after the line has been quiet for :data:`QUIET_S`, so a frame of another protocol cannot hold it up.
"""
from __future__ import annotations

import collections
import os
import select
import threading
import time
import tty

import serial

from . import hallbus_frame as hb, proto_led485, proto_strip

FAULTS = ("silent", "garbled", "unplugged")
QUIET_S = 0.005
VENDOR_DECODERS = {"led485-ascii": (proto_led485.Decoder, lambda text: (text,)),
                   "strip-aa": (proto_strip.Decoder, tuple)}
"""Each vendor protocol's decoder, and how what it decodes becomes the lines a twin shows."""


class VirtualDevice:
    """One addressed device: a display (keeps its lines), or an input device whose events wait for a poll."""

    def __init__(self, address: int, kind: str, protocol: str = "hallbus"):
        self.address, self.kind, self.protocol = address, kind, protocol
        self.lines: tuple[str, ...] = ("",)
        self.blink = 0
        self.brightness = 8
        self.updates = 0
        self.shown_at: float | None = None  # time.time() of the last SHOW received whole
        self.signals: collections.deque[str] = collections.deque(maxlen=20)
        self.events: collections.deque[tuple[int, bytes]] = collections.deque()
        self.faults: set[str] = set()
        self.lock = threading.Lock()
        self._last: tuple[int, hb.Frame] | None = None  # (SEQ, reply): a retry gets the same reply again

    def queue(self, cmd: int, payload: bytes) -> None:
        """Queue an event (TAKE, KEY, RATING) to answer the next poll with."""
        with self.lock:
            self.events.append((cmd, payload))

    def set_fault(self, fault: str, on: bool) -> None:
        """Switch a fault; unplugging blanks the display, as losing power does."""
        with self.lock:
            (self.faults.add if on else self.faults.discard)(fault)
            if fault == "unplugged" and on:
                self.lines, self.blink = ("",), 0

    def answer(self, frame: hb.Frame) -> bytes | None:
        """The bytes this device sends back for one request addressed to it (None: it stays silent)."""
        with self.lock:
            if self.faults & {"silent", "unplugged"}:
                return None
            if self._last is not None and self._last[0] == frame.seq:
                reply = self._last[1]  # the host missed our answer and asks again: an event is not lost
            else:
                reply = self._handle(frame)
                self._last = (frame.seq, reply)
            raw = hb.encode(reply)
            if "garbled" in self.faults:
                raw = raw[:-3] + bytes((raw[-3] ^ 0xFF,)) + raw[-2:]
            return raw

    def receive(self, lines: tuple[str, ...]) -> None:
        """A vendor protocol's frame to show ``lines`` arrived whole (no answer: the hardware gives none)."""
        with self.lock:
            if not self.faults & {"silent", "unplugged"}:
                self.lines, self.blink = lines, 0
                self.updates += 1
                self.shown_at = time.time()

    def _handle(self, frame: hb.Frame) -> hb.Frame:
        ack = hb.Frame(self.address, frame.cmd | hb.ACK_BIT, frame.seq)
        try:
            if frame.cmd == hb.PING:
                if self.events:
                    cmd, payload = self.events.popleft()
                    return hb.Frame(self.address, cmd, frame.seq, payload)
                return ack
            if frame.cmd == hb.SHOW:
                _counter, self.blink, self.lines = hb.parse_show(frame.payload)
                self.updates += 1
                self.shown_at = time.time()
                return ack
            if frame.cmd == hb.CLEAR:
                self.lines, self.blink = ("",), 0
                return ack
            if frame.cmd == hb.BRIGHTNESS and len(frame.payload) == 1:
                self.brightness = frame.payload[0]
                return ack
            if frame.cmd == hb.SIGNAL and len(frame.payload) == 1:
                self.signals.append(hb.SIGNALS.get(frame.payload[0], "unknown"))
                return ack
        except ValueError:
            pass
        return hb.Frame(self.address, hb.NAK, frame.seq, bytes((frame.cmd,)))

    def state(self) -> dict:
        """What a simulator page shows of this device."""
        with self.lock:
            return {"address": self.address, "protocol": self.protocol, "shows": list(self.lines), "blink": self.blink,
                    "brightness": self.brightness, "updates": self.updates, "shown_at": self.shown_at, "signals": list(self.signals),
                    "pending_events": len(self.events), "faults": sorted(self.faults)}


class VirtualBus:
    """A pty pair whose far end answers for the virtual devices on it."""

    def __init__(self, name: str):
        self.name = name
        self.wire_baud: int | None = None  # set to answer only after the bytes' wire time at this speed
        self.devices: dict[int, VirtualDevice] = {}
        self._fds: tuple[int, int] | None = None
        self._wake: tuple[int, int] = (-1, -1)
        self._path: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, address: int, kind: str, protocol: str = "hallbus") -> VirtualDevice:
        """Plug a virtual device speaking ``protocol`` in at ``address``."""
        return self.devices.setdefault(address, VirtualDevice(address, kind, protocol))

    def remove(self, address: int) -> None:
        """Unplug the virtual device at ``address`` (its address no longer answers)."""
        self.devices.pop(address, None)

    def path(self) -> str:
        """The slave path for the bus master to open; raises like a missing adapter while unplugged."""
        with self._lock:
            if self._path is None:
                raise serial.SerialException(f"[Errno 2] could not open port: virtual adapter {self.name} is unplugged")
            return self._path

    def start(self) -> None:
        """Plug the adapter in and start answering."""
        self.set_unplugged(False)

    def stop(self) -> None:
        """Stop answering and close the pty."""
        self.set_unplugged(True)

    def set_unplugged(self, unplugged: bool) -> None:
        """Pull the adapter out (the master's port fails and cannot be reopened) or plug a new one in."""
        with self._lock:
            if unplugged == (self._path is None):
                return
            if unplugged:
                self._stop.set()
                os.write(self._wake[1], b"x")  # wake the thread out of its select at once
                thread, fds = self._thread, self._fds + self._wake
                self._path = self._fds = None
            else:
                master, slave = os.openpty()
                tty.setraw(slave)
                self._fds, self._path = (master, slave), os.ttyname(slave)
                self._wake = os.pipe()
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._serve, args=(master, self._wake[0], self._stop),
                                                name=f"virtual-bus-{self.name}", daemon=True)
                self._thread.start()
                return
        thread.join(2)
        for fd in fds:
            os.close(fd)

    @property
    def unplugged(self) -> bool:
        """True while the adapter is out."""
        return self._path is None

    def _serve(self, fd: int, wake: int, stop: threading.Event) -> None:
        decoder, vendors = hb.Decoder(), {}
        while not stop.is_set():
            ready, _, _ = select.select([fd, wake], [], [], QUIET_S if vendors else 1.0)
            if not ready:  # the line went quiet: every decoder starts afresh
                decoder, vendors = hb.Decoder(), {}
            if fd not in ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                continue
            vendors = vendors or {name: make() for name, (make, _lines) in VENDOR_DECODERS.items()}
            for name, vendor in vendors.items():
                for address, shown in vendor.feed(data):
                    device = self.devices.get(address)
                    if device is not None and device.protocol == name:
                        device.receive(VENDOR_DECODERS[name][1](shown))
            for frame in decoder.feed(data):
                device = self.devices.get(frame.addr)
                raw = device.answer(frame) if device is not None and device.protocol == "hallbus" else None
                if raw and self.wire_baud:
                    time.sleep((len(hb.encode(frame)) + len(raw)) * 10 / self.wire_baud)
                if raw:
                    os.write(fd, raw)
