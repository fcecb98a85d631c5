"""The RS-485 bus master: one thread owns one serial port and talks to its devices one frame at a time.

Half duplex: the master sends a request to one address and waits (``timeout_s`` beyond the bytes' wire time)
for the reply before anything else goes on the wire. A member's waiting command (a display's new text, a
dispenser's error signal) goes first; otherwise the most overdue poll: input devices are polled (PING; they
answer with a KEY/TAKE/RATING event or a plain ACK) every ``poll_s`` times their ``poll_factor`` (dispensers
most often), and displays are pinged every ``ping_s`` so an unplugged one is noticed. A member that misses
``offline_after`` requests in a row (after ``retries`` retries each) is offline until it answers again; then it
is sent its state anew. When the port itself fails (adapter unplugged), the master closes it, marks every
member offline and reopens it forever with a doubling backoff, logging each distinct error once.

**No event is lost.** Each member has its own SEQ, counting up by one per new request. A request that got no
reply (every retry failed, or the port failed meanwhile) stays the member's *unanswered* request: at the
member's next poll it is sent again, with the same SEQ, before anything new goes to that member. A device
answers a repeated SEQ with the answer it gave last, so an event (a button press) it already handed out on a
reply that never arrived comes again instead of vanishing; and the answer that brings a member back online is
handled like any other (its event is not dropped).

A member with ``answers = False`` (a vendor's output-only display) is written to without waiting for a reply,
then the line is left quiet for the frame's wire time and 4 characters more; it is never pinged, and it counts
as online exactly while the port is open (a reopened port resends its state).

Members may join and leave a running bus (a config change that adds, removes or changes one device): the
change is queued and made by the bus thread between two requests, so the other members never notice.
"""
from __future__ import annotations

import logging
import queue
import termios
import threading
import time
from typing import Callable, Protocol

import serial

from .hallbus_frame import ACK_BIT, NAK, OVERHEAD, PING, Decoder, Frame, encode

log = logging.getLogger(__name__)

BACKOFF_MIN_S, BACKOFF_MAX_S = 0.05, 5.0
INFINITY = float("inf")
QUIET_CHARS = 4  # the line stays quiet this long after a frame nobody answers (Modbus asks 3.5)
Request = tuple[int, bytes, int]  # command, payload, SEQ


class Member(Protocol):
    """What the bus master needs from a device on the bus (see :class:`kiosk.drivers.hallbus.BusDevice`)."""

    name: str
    address: int
    polled: bool
    poll_factor: int
    answers: bool
    traffic: logging.Logger

    def next_request(self) -> tuple[int, bytes] | None:
        """The command and payload to send now, or None."""

    def next_bytes(self) -> bytes | None:
        """For a member that does not answer: the raw frame to write now, or None."""

    def on_reply(self, request: int, reply: Frame) -> None:
        """Take the device's answer to ``request`` (called on the bus thread; must not block)."""

    def set_online(self, online: bool) -> None:
        """Told when the device starts or stops answering."""


class Bus:
    """One port, its owner thread and its members. ``opener()`` returns an open pyserial port."""

    def __init__(self, name: str, opener: Callable[[], serial.SerialBase], *, baud: int = 9600, timeout_s: float = 0.1,
                 retries: int = 2, offline_after: int = 3, ping_s: float = 1.0, poll_s: float = 0.05):
        self.name = name
        self._opener = opener
        self.baud, self.timeout_s, self.retries, self.offline_after = baud, timeout_s, retries, offline_after
        self.ping_s, self.poll_s = ping_s, poll_s
        self.members: dict[int, Member] = {}
        self.port_online = False
        self.port_error: str | None = None
        self.stats: dict[int, dict] = {}
        self._kick = threading.Event()
        self._first_round = threading.Event()
        self._asked: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port = None
        self._decoder = Decoder()
        self._seqs: dict[int, int] = {}  # the last SEQ used for each address
        self._unanswered: dict[int, Request] = {}  # per address: the request to send again before anything new
        self.work: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._changes: list[tuple[bool, Member]] = []  # (join?, member), made by the bus thread once it runs
        self._changes_lock = threading.Lock()

    def add(self, member: Member) -> None:
        """Put a device on the bus (at once before :meth:`start`, else by the bus thread before its next request)."""
        self._change(True, member)

    def remove(self, member: Member) -> None:
        """Take a device off the bus (as :meth:`add`); a member since replaced at its address stays."""
        self._change(False, member)

    def _change(self, join: bool, member: Member) -> None:
        with self._changes_lock:
            self._changes.append((join, member))
        if self._thread is None:
            self._apply_changes()
        else:
            self._kick.set()

    def _apply_changes(self) -> None:
        """Make the queued joins and leaves (on the bus thread once it runs, so no request sees half of one)."""
        with self._changes_lock:
            changes, self._changes = self._changes, []
        for join, member in changes:
            address = member.address
            if join:
                self.members[address] = member
                self.stats[address] = {"online": False, "last_seen": None, "timeouts": 0, "bad_frames": 0,
                                       "naks": 0, "missed": 0, "next_ping": 0.0 if member.answers else INFINITY}
            elif self.members.get(address) is member:
                del self.members[address], self.stats[address]
                self._asked.discard(address)

    @property
    def started(self) -> bool:
        """True once :meth:`start` was called."""
        return self._thread is not None

    def start(self, wait_s: float = 2.0) -> None:
        """Start the owner thread and the thread that runs input devices' handlers, and wait (at most
        ``wait_s``) until every device has been asked once, so the hall starts knowing who answers."""
        self._thread = threading.Thread(target=self._run, name=f"bus-{self.name}", daemon=True)
        self._worker = threading.Thread(target=self._work, name=f"bus-{self.name}-input", daemon=True)
        self._thread.start()
        self._worker.start()
        self._first_round.wait(wait_s)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads (the bus thread after its current request; the input thread after the presses
        already polled) and close the port, waiting at most ``timeout`` in all."""
        self._stop.set()
        self._kick.set()
        self.work.put(None)
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()   # the port is free for a successor even while a button's handler still runs
        if self._worker is not None:
            self._worker.join(max(0.0, deadline - time.monotonic()))

    def kick(self) -> None:
        """Wake the owner thread: a member has something to send."""
        self._kick.set()

    # -- the owner thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        while not self._stop.is_set():
            self._apply_changes()
            if self._port is None and not self._open():
                self._first_round.set()  # nobody to ask: do not hold up the start
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_MIN_S
            try:
                busy = self._round()
            except (serial.SerialException, OSError, termios.error) as exc:
                self._port_failed(str(exc) or type(exc).__name__)
                continue
            except Exception as exc:  # a bug must cost a reopen of the port, never the bus thread
                log.exception("bus %s: unexpected error", self.name)
                self._port_failed(f"unexpected error: {exc!r}")
                continue
            if not busy:
                self._first_round.set()
                self._kick.wait(self._idle_wait())
                self._kick.clear()

    def _idle_wait(self) -> float:
        """How long to sleep when nothing is waiting: until the next ping or poll is due."""
        due = min((s["next_ping"] for s in self.stats.values()), default=time.monotonic() + 1.0)
        return max(0.0, min(due - time.monotonic(), 1.0))

    def _round(self) -> bool:
        """Do the most urgent thing once: a member's waiting command (a display's new text) before any poll,
        else the poll or ping that is most overdue. Return True when something was sent."""
        for addr, member in list(self.members.items()):
            if not self.stats[addr]["online"] or addr in self._unanswered:
                continue  # an unanswered request goes again at the member's next poll, before anything new
            if not member.answers and (raw := member.next_bytes()) is not None:
                self._write_only(member, raw)
                return True
            if member.answers and (request := member.next_request()) is not None:
                self._transact(member, self._new_request(member, *request))
                return True
        now = time.monotonic()
        due = [(stats["next_ping"], addr) for addr, stats in self.stats.items() if stats["next_ping"] <= now]
        if not due:
            return False
        member = self.members[min(due)[1]]
        every = self.poll_s * member.poll_factor if member.polled else self.ping_s
        self.stats[member.address]["next_ping"] = now + every
        self._transact(member, self._unanswered.get(member.address) or self._new_request(member, PING, b""))
        return True

    def _new_request(self, member: Member, cmd: int, payload: bytes) -> Request:
        """A request with the member's next SEQ (so two requests in a row to one device never share one)."""
        seq = self._seqs[member.address] = (self._seqs.get(member.address, 0) + 1) & 0xFF
        return cmd, payload, seq

    def _transact(self, member: Member, request: Request) -> None:
        """Send one request and wait for its reply, retrying; update the member's online state. Until a reply
        comes (even if the port fails meanwhile), the request stays the member's unanswered one."""
        stats = self.stats[member.address]
        cmd, payload, seq = request
        self._unanswered[member.address] = request
        raw = encode(Frame(member.address, cmd, seq, payload))
        for _attempt in range(1 + self.retries):
            if self._stop.is_set():  # a stop waits for one reply at most, not for every retry
                return
            self._port.reset_input_buffer()
            self._decoder = Decoder()
            self._port.write(raw)
            member.traffic.debug("-> %s", raw.hex(" "))
            reply = self._read_reply(member, seq, self.timeout_s + self.wire_time(len(raw) + OVERHEAD))
            if reply is not None:
                del self._unanswered[member.address]
                if reply.cmd == NAK:
                    stats["naks"] += 1
                stats["missed"] = 0
                stats["last_seen"] = time.time()
                if not stats["online"]:
                    stats["online"] = True
                    log.info("bus %s: %s at address %d answers", self.name, member.name, member.address)
                    member.set_online(True)  # a display is sent its text anew in the next round
                member.on_reply(cmd, reply)  # also the reply that brought it back: it may carry a press
                self._note_asked(member.address)
                return
        self._note_asked(member.address)
        stats["missed"] += 1
        if stats["online"] and stats["missed"] >= self.offline_after:
            stats["online"] = False
            log.warning("bus %s: %s at address %d does not answer; marked offline", self.name, member.name,
                        member.address)
            member.set_online(False)

    def _write_only(self, member: Member, raw: bytes) -> None:
        """Write a frame that gets no reply, then keep the line quiet until it is out and a gap has passed."""
        self._port.write(raw)
        member.traffic.debug("-> %s", raw.hex(" "))
        self._stop.wait(self.wire_time(len(raw) + QUIET_CHARS))

    def _note_asked(self, address: int) -> None:
        """Remember that a device has been asked; once all have, the start may go on."""
        self._asked.add(address)
        if len(self._asked) == len(self.members):
            self._first_round.set()

    def wire_time(self, size: int) -> float:
        """Seconds ``size`` bytes take on the line (10 bits a byte: 8N1)."""
        return size * 10 / self.baud

    def _read_reply(self, member: Member, seq: int, timeout: float) -> Frame | None:
        """Read until a frame from ``member`` with ``seq`` arrives or ``timeout`` passes."""
        stats = self.stats[member.address]
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stats["timeouts"] += 1
                return None
            self._port.timeout = left
            data = self._port.read(max(1, self._port.in_waiting))
            if not data:
                continue
            member.traffic.debug("<- %s", data.hex(" "))
            errors = self._decoder.errors
            frames = self._decoder.feed(data)
            if self._decoder.errors > errors:
                stats["bad_frames"] += self._decoder.errors - errors
            for frame in frames:
                if frame.addr == member.address and frame.seq == seq and (frame.cmd & ACK_BIT or frame.cmd < ACK_BIT):
                    return frame

    # -- the port --------------------------------------------------------------------------------------------
    def _open(self) -> bool:
        try:
            self._port = self._opener()
        except (serial.SerialException, OSError, ValueError) as exc:
            self._note_port_error(f"cannot open the port: {exc}")
            return False
        if not self.port_online:
            log.info("bus %s: port open", self.name)
        self.port_online, self.port_error = True, None
        for addr, member in self.members.items():
            if member.answers:
                self.stats[addr]["next_ping"] = 0.0  # find out at once who is there
            elif not self.stats[addr]["online"]:
                self.stats[addr]["online"] = True  # nothing to ask: it is there while the port is
                member.set_online(True)
                self._note_asked(addr)
        return True

    def _port_failed(self, message: str) -> None:
        self._note_port_error(f"the port failed: {message}")
        self._close()
        for addr, member in self.members.items():
            if self.stats[addr]["online"]:
                self.stats[addr]["online"] = False
                member.set_online(False)

    def _note_port_error(self, message: str) -> None:
        if message != self.port_error:
            log.error("bus %s: %s (retrying with backoff)", self.name, message)
        self.port_online, self.port_error = False, message

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    # -- input handlers --------------------------------------------------------------------------------------
    def _work(self) -> None:
        """Run input devices' handlers (issue a ticket, call a customer) off the bus thread, in order."""
        while (job := self.work.get()) is not None:
            try:
                job()
            except Exception:
                log.exception("bus %s: an input handler failed", self.name)
