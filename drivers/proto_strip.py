"""The ``AA ADDR BB 51 54 SUM text FF`` frame of the common RS-485 LED strip screens (条屏), as pure functions.

``AA`` start, the address (1 byte), the fixed marker ``BB 51 54``, SUM = the low byte of the sum of the text's
bytes (additive checksum), the text in GB2312, ``FF`` end. GB2312 bytes are never ``FF``, so the end byte cannot
occur inside the text. The daemon's lines are joined by two spaces (:data:`LINE_GAP`) into the one line the
strip scrolls. The strip does not answer, so the bus master neither polls nor pings it.
"""
from __future__ import annotations

START, END = 0xAA, 0xFF
MARK = bytes((0xBB, 0x51, 0x54))
HEADER = 6  # AA ADDR BB 51 54 SUM
MAX_TEXT = 512
LINE_GAP = "  "


def checksum(text: bytes) -> int:
    """The low byte of the sum of ``text``'s bytes."""
    return sum(text) & 0xFF


def encode(address: int, lines: tuple[str, ...]) -> bytes:
    """The frame that makes the strip at ``address`` show ``lines`` (characters outside GB2312 become ``?``)."""
    text = LINE_GAP.join(line for line in lines if line).encode("gb2312", errors="replace")
    if len(text) > MAX_TEXT:
        raise ValueError(f"text of {len(text)} bytes is over {MAX_TEXT}")
    return bytes((START, address)) + MARK + bytes((checksum(text),)) + text + bytes((END,))


class Decoder:
    """Turns a byte stream into ``(address, lines)`` pairs whatever the read boundaries; skips noise and frames
    whose marker or checksum is wrong (what the virtual strip uses; ``errors`` counts what it threw away)."""

    def __init__(self):
        self._buf = bytearray()
        self.errors = 0

    def feed(self, data: bytes) -> list[tuple[int, tuple[str, ...]]]:
        """Add received bytes; return every complete, valid frame in them (a partial frame waits for more)."""
        self._buf += data
        frames = []
        while (start := self._buf.find(START)) >= 0:
            del self._buf[:start]
            if len(self._buf) < HEADER:
                return frames
            end = self._buf.find(END, HEADER)
            if self._buf[2:5] != MARK or (end < 0 and len(self._buf) > HEADER + MAX_TEXT):
                self._skip()
                continue
            if end < 0:
                return frames
            text = bytes(self._buf[HEADER:end])
            if checksum(text) != self._buf[5]:
                self._skip()
                continue
            frames.append((self._buf[1], tuple(text.decode("gb2312", errors="replace").split(LINE_GAP))))
            del self._buf[:end + 1]
        self._buf.clear()
        return frames

    def _skip(self) -> None:
        self.errors += 1
        del self._buf[:1]
