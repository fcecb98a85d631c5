"""A virtual ESC/POS ticket printer that speaks the protocol on a pty pair and on a loopback TCP port.

It decodes what it receives (:mod:`.escpos_decode`), keeps the cut pages, and answers ``DLE EOT n`` with the
state a test or a technician set: paper out, paper near end, cover open, offline (it then stays silent, as an
unplugged printer does), slow (each answer comes a second late, as from a printer busy feeding paper), or
paper running out in the middle of the next ticket. The real driver talks to it
exactly as to a printer, so tests and the demo hall exercise python-escpos, pyserial and sockets for real.
"""
from __future__ import annotations

import collections
import logging
import os
import select
import socket
import threading
import time
import tty

from . import escpos_codes as codes
from .escpos_decode import Decoder, Page

log = logging.getLogger(__name__)
KEEP = 200   # how many printed pages the virtual printer remembers
FAULTS = ("paper_out", "paper_near_end", "offline", "cover_open", "fail_during_print", "slow")
SLOW_S = 1.0  # how late a "slow" printer answers each status request


class VirtualPrinter:
    """The printer's state and paper; :meth:`receive` is the one entry point of every transport."""

    def __init__(self, encoding: str = "gb18030"):
        self.encoding = encoding
        self.faults: set[str] = set()
        self.pages: collections.deque[Page] = collections.deque(maxlen=KEEP)
        self.ran_out_mid_ticket = False
        self.received = 0
        self._decoders: dict[object, Decoder] = {}
        self._page_started: dict[object, float] = {}
        self._lock = threading.Lock()
        self.printed_event = threading.Condition(self._lock)

    def status(self) -> dict:
        """The state the printer reports (``online``, ``paper``, ``cover_open``)."""
        paper = "out" if "paper_out" in self.faults or self.ran_out_mid_ticket else (
            "near_end" if "paper_near_end" in self.faults else "ok")
        return {"online": "offline" not in self.faults, "paper": paper, "cover_open": "cover_open" in self.faults}

    @property
    def unknown_commands(self) -> list[bytes]:
        """Commands received that the decoder does not know (on the connections still open)."""
        with self._lock:
            return [cmd for decoder in self._decoders.values() for cmd in decoder.unknown]

    def set_fault(self, name: str, on: bool = True) -> None:
        """Switch a fault on or off (``fail_during_print`` runs the paper out during the next ticket)."""
        if name not in FAULTS:
            raise ValueError(name)
        with self._lock:
            (self.faults.add if on else self.faults.discard)(name)
            if name == "fail_during_print" and not on:
                self.ran_out_mid_ticket = False

    def clear(self) -> None:
        """Switch every fault off and load fresh paper."""
        with self._lock:
            self.faults.clear()
            self.ran_out_mid_ticket = False

    def receive(self, data: bytes, channel: object = None) -> bytes:
        """Take bytes from one connection (``channel``); return the status answers to send back."""
        now = time.perf_counter()
        with self._lock:
            self.received += len(data)
            decoder = self._decoders.setdefault(channel, Decoder(self.encoding))
            decoded = decoder.feed(data)
            if len(data) > 3 * len(decoded.status_requests):     # more than status requests: page bytes
                self._page_started.setdefault(channel, now)
            for page in decoded.pages:
                page.started_at, page.finished_at = self._page_started.pop(channel, now), now
            out_of_paper = self.status()["paper"] == "out" or "cover_open" in self.faults
            if "fail_during_print" in self.faults and decoded.pages:
                self.ran_out_mid_ticket = True          # the paper ends before the cut: nothing usable
            elif not out_of_paper:
                self.pages.extend(decoded.pages)
            if decoded.pages:
                self.printed_event.notify_all()
            if "offline" in self.faults:
                return b""
            state = self.status()
            reply = b"".join(codes.status_answer(n, **state) for n in decoded.status_requests)
            slow = "slow" in self.faults and reply
        if slow:
            time.sleep(SLOW_S)   # on the port's own thread: only this printer's answer is late
        return reply

    def forget(self, channel: object) -> None:
        """Drop a closed connection's half-received command."""
        with self._lock:
            self._decoders.pop(channel, None)
            self._page_started.pop(channel, None)


class TcpPort:
    """Serves a :class:`VirtualPrinter` on a loopback TCP port (like a network printer's port 9100)."""

    def __init__(self, printer: VirtualPrinter, host: str = "127.0.0.1", port: int = 0):
        self.printer = printer
        self._server = socket.create_server((host, port))
        self._server.settimeout(1.0)   # accept() also wakes up now and then to notice close()
        self.host, self.port = self._server.getsockname()[:2]
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name=f"virtual-printer-tcp-{self.port}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        self._conns.add(conn)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                reply = self.printer.receive(data, conn)
                if reply:
                    conn.sendall(reply)
        self._conns.discard(conn)
        self.printer.forget(conn)

    def close(self) -> None:
        """Stop listening and drop open connections (like a printer switched off)."""
        self._stop.set()
        try:
            self._server.shutdown(socket.SHUT_RDWR)   # wakes a blocked accept() at once on Linux
        except OSError:
            pass
        self._server.close()
        self._thread.join(2)
        for conn in list(self._conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class PtyPort:
    """Serves a :class:`VirtualPrinter` on a pty pair: the driver opens :attr:`path` as a serial port."""

    def __init__(self, printer: VirtualPrinter):
        self.printer = printer
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)     # no echo, no newline translation: a byte-clean line like a serial cable
        self.path = os.ttyname(self._slave)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="virtual-printer-pty", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            reply = self.printer.receive(data, self)
            if reply:
                os.write(self._master, reply)

    def close(self) -> None:
        """Stop serving and close both ends of the pty."""
        os.write(self._stop_w, b"x")
        self._thread.join(2)
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)
