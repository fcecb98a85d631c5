"""The hall bus's own framed protocol as pure functions: frames to bytes, bytes to frames (docs/protocol.md).

``STX(0x02) ADDR CMD SEQ LEN(2, little-endian) PAYLOAD CRC16/MODBUS(2, little-endian, over ADDR..PAYLOAD)
ETX(0x03)``. Address 0x00 is the host, 0xFF is broadcast. A reply echoes the request's SEQ with ``CMD | 0x80``
(or NAK). Nothing here touches a port; the bus master and the virtual devices both use these functions.
"""
from __future__ import annotations

from dataclasses import dataclass

STX, ETX = 0x02, 0x03
HOST, BROADCAST = 0x00, 0xFF
MAX_PAYLOAD = 512
HEADER = 6  # STX ADDR CMD SEQ LEN LEN
OVERHEAD = HEADER + 3  # CRC CRC ETX

# Commands from the host.
PING, SHOW, CLEAR, BRIGHTNESS, SIGNAL = 0x01, 0x02, 0x03, 0x04, 0x05
# Events a device answers a PING with.
KEY, TAKE, RATING = 0x11, 0x12, 0x13
NAK = 0x15
ACK_BIT = 0x80

KEYS = {1: "next", 2: "recall", 3: "no-show", 4: "pause", 5: "resume"}  # the counter API's action names
KEY_CODES = {name: code for code, name in KEYS.items()}
SIGNALS = {0: "ok", 1: "error"}


@dataclass(frozen=True)
class Frame:
    """One decoded frame: the device address, command, sequence number and payload."""

    addr: int
    cmd: int
    seq: int
    payload: bytes = b""


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) of ``data``; ``b"123456789"`` gives 0x4B37."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def encode(frame: Frame) -> bytes:
    """The bytes of one frame on the wire."""
    if len(frame.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(frame.payload)} bytes is over {MAX_PAYLOAD}")
    body = bytes((frame.addr, frame.cmd, frame.seq)) + len(frame.payload).to_bytes(2, "little") + frame.payload
    return bytes((STX,)) + body + crc16_modbus(body).to_bytes(2, "little") + bytes((ETX,))


class Decoder:
    """Turns a byte stream into frames, whatever the read boundaries; skips noise and frames with a bad CRC.

    ``feed`` returns the complete frames found so far; ``errors`` counts the bytes or frames thrown away.
    """

    def __init__(self):
        self._buf = bytearray()
        self.errors = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every complete, valid frame in them (a partial frame waits for more)."""
        self._buf += data
        frames = []
        while True:
            start = self._buf.find(STX)
            if start < 0:
                self.errors += bool(self._buf)
                self._buf.clear()
                return frames
            if start:
                self.errors += 1
                del self._buf[:start]
            if len(self._buf) < HEADER:
                return frames
            length = int.from_bytes(self._buf[4:6], "little")
            if length > MAX_PAYLOAD:
                self._skip()
                continue
            end = HEADER + length + 3
            if len(self._buf) < end:
                return frames
            raw = bytes(self._buf[:end])
            body = raw[1:HEADER + length]
            if raw[-1] != ETX or int.from_bytes(raw[-3:-1], "little") != crc16_modbus(body):
                self._skip()
                continue
            del self._buf[:end]
            frames.append(Frame(raw[1], raw[2], raw[3], raw[HEADER:HEADER + length]))

    def _skip(self) -> None:
        """Drop a false start byte and look for the next STX."""
        self.errors += 1
        del self._buf[:1]


def show_payload(counter: int, blink: int, lines: tuple[str, ...]) -> bytes:
    """SHOW's payload: counter (2 bytes LE, 0 for the hall strip), blink count, GB2312 text (lines split by LF)."""
    text = "\n".join(lines).encode("gb2312", errors="replace")
    return counter.to_bytes(2, "little") + bytes((min(blink, 255),)) + text


def parse_show(payload: bytes) -> tuple[int, int, tuple[str, ...]]:
    """The counter, blink count and lines of a SHOW payload."""
    if len(payload) < 3:
        raise ValueError("SHOW payload is shorter than 3 bytes")
    text = payload[3:].decode("gb2312", errors="replace")
    return int.from_bytes(payload[:2], "little"), payload[2], tuple(text.split("\n"))


def counter_event(counter: int, value: int) -> bytes:
    """KEY's or RATING's payload: counter (2 bytes LE) and the key code or score."""
    return counter.to_bytes(2, "little") + bytes((value,))


def parse_counter_event(payload: bytes) -> tuple[int, int]:
    """The counter and value of a KEY or RATING payload."""
    if len(payload) != 3:
        raise ValueError(f"counter event payload must be 3 bytes, not {len(payload)}")
    return int.from_bytes(payload[:2], "little"), payload[2]
