"""The ASCII protocol of the common 7-segment "LED-485" counter displays, as pure functions (docs/protocol.md).

One frame sets what a display shows: ``$`` + the address as three decimal digits + ``,`` + the text + ``#``,
all ASCII, e.g. ``$001,A012#`` (``24 30 30 31 2c 41 30 31 32 23``). The display draws digits, a few letters
and ``-``; a ``.`` lights the decimal point of the digit before it. It does not answer, so the bus master
neither polls nor pings it (see :mod:`.hallbus_master`). The same displays' Modbus RTU mode is not used.
"""
from __future__ import annotations

START, SEP, END = ord("$"), ord(","), ord("#")
MAX_TEXT = 16
DRAWABLE = frozenset("0123456789ABCDEFHJLNOPRSTUY- .")
"""What seven segments can draw (letters upper-cased; G, I, K, M, Q, V, W, X, Z cannot be told apart)."""
UNDRAWABLE = "----"
"""Shown when no line of the wanted text can be drawn (e.g. only Chinese text)."""


def render(lines: tuple[str, ...]) -> str:
    """What a 7-segment display can show of ``lines``: the first line that, upper-cased and without its
    non-ASCII (Chinese) characters, is made only of drawable characters and at most ``MAX_TEXT`` long.
    ``("A012",)`` → ``A012``; ``("暂停服务", "Paused")`` → ``PAUSED``; ``("8888 测试",)`` → ``8888``;
    ``----`` when no line fits; ``""`` (blank) when every line is empty."""
    if not any(lines):
        return ""
    for line in lines:
        text = "".join(c for c in line if c.isascii()).strip().upper()
        if text and len(text) <= MAX_TEXT and set(text) <= DRAWABLE:
            return text
    return UNDRAWABLE


def encode(address: int, text: str) -> bytes:
    """The frame that makes the display at ``address`` (1–254) show ``text`` (already rendered)."""
    if not 1 <= address <= 254:
        raise ValueError(f"address {address} is not between 1 and 254")
    if len(text) > MAX_TEXT or not set(text.upper()) <= DRAWABLE:
        raise ValueError(f"{text!r} cannot be drawn on seven segments")
    return f"${address:03d},{text}#".encode("ascii")


class Decoder:
    """Turns a byte stream into ``(address, text)`` pairs whatever the read boundaries; skips anything that is
    not a well-formed frame (what the virtual display uses; ``errors`` counts what it threw away)."""

    def __init__(self):
        self._buf = bytearray()
        self.errors = 0

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        """Add received bytes; return every complete frame in them (a partial frame waits for more)."""
        self._buf += data
        frames = []
        while (start := self._buf.find(START)) >= 0:
            del self._buf[:start]
            end = self._buf.find(END)
            if end < 0:
                if len(self._buf) > 5 + MAX_TEXT:
                    self._skip()
                    continue
                return frames
            frame = self._parse(bytes(self._buf[:end + 1]))
            if frame is None:
                self._skip()
                continue
            del self._buf[:end + 1]
            frames.append(frame)
        self._buf.clear()
        return frames

    @staticmethod
    def _parse(raw: bytes) -> tuple[int, str] | None:
        head, text = raw[1:4], raw[5:-1]
        if len(raw) < 6 or raw[4] != SEP or not head.isdigit() or len(text) > MAX_TEXT:
            return None
        decoded = text.decode("ascii", errors="replace")
        return (int(head), decoded) if set(decoded.upper()) <= DRAWABLE and 1 <= int(head) <= 254 else None

    def _skip(self) -> None:
        self.errors += 1
        del self._buf[:1]
