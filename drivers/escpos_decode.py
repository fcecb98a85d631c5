"""Decode the ESC/POS bytes a printer receives into pages of text, as a printer would print them.

Pure: :class:`Decoder` takes bytes in any chunks and returns what it understood; the virtual printer feeds it
from a pty or a socket. It follows the parts of ESC/POS a ticket uses: text and line feeds, Chinese character
mode (``FS &`` / ``FS .``, decoded with the printer's encoding; outside it, bytes are read in the code page
selected with ``ESC t``, 437 until one is), character size (``GS !``), QR codes (``GS ( k``), raster
images, the cut (``GS V``) that ends a page, and real-time status requests (``DLE EOT n``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .escpos_codes import CODE_PAGES

_TABLES = {n: name for name, n in CODE_PAGES.items()}

# Commands that take a fixed number of parameter bytes and change nothing the decoder follows.
_ESC_PARAMS = {b"E": 1, b"a": 1, b"{": 1, b"-": 1, b"M": 1, b"d": 1, b"2": 0, b"3": 1, b"J": 1,
               b"G": 1, b"V": 1, b"r": 1, b"p": 3, b"c": 2}
_GS_PARAMS = {b"b": 1, b"B": 1, b"h": 1, b"w": 1, b"H": 1, b"f": 1, b"L": 2, b"W": 2, b"a": 1}
_FS_PARAMS = {b"!": 1, b"-": 1, b"W": 1}


@dataclass
class Page:
    """One printed piece of paper: its lines (with the size each was printed at), QR codes, and images."""

    lines: list[str] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)   # (width, height) magnification per line
    qr_codes: list[str] = field(default_factory=list)
    images: int = 0
    cut: bool = False
    started_at: float = 0.0    # when the page's first byte arrived (time.perf_counter; set by the receiver)
    finished_at: float = 0.0   # when its cut arrived

    @property
    def text(self) -> str:
        """The page's text, line by line."""
        return "\n".join(self.lines)

    def size_of(self, text: str) -> tuple[int, int]:
        """The magnification of the first line that reads ``text`` exactly."""
        return self.sizes[self.lines.index(text)]


@dataclass
class Decoded:
    """What one :meth:`Decoder.feed` understood: finished pages and status requests, in order received."""

    pages: list[Page] = field(default_factory=list)
    status_requests: list[int] = field(default_factory=list)


class Decoder:
    """An ESC/POS stream decoder with the state a printer keeps between bytes."""

    def __init__(self, encoding: str = "gb18030"):
        self.encoding = encoding
        self._buf = b""
        self._page = Page()
        self._line: list[tuple[bytes, str]] = []    # (bytes, the encoding they are printed in)
        self._chinese = False
        self._codepage = "cp437"
        self._size = (1, 1)
        self._line_size = (1, 1)
        self._qr_data = ""
        self.unknown: list[bytes] = []

    def feed(self, data: bytes) -> Decoded:
        """Decode more bytes; an incomplete command at the end waits for the next chunk."""
        self._buf += data
        out = Decoded()
        while self._buf:
            used = self._step(self._buf, out)
            if used == 0:
                break
            self._buf = self._buf[used:]
        return out

    @property
    def pending(self) -> Page:
        """The page being printed (not cut yet), with the line in progress."""
        page = Page(list(self._page.lines), list(self._page.sizes), list(self._page.qr_codes), self._page.images)
        if self._line:
            page.lines.append(self._decode_line())
            page.sizes.append(self._line_size)
        return page

    # -- one command at a time; each returns how many bytes it used (0 = wait for more) --------------------
    def _step(self, buf: bytes, out: Decoded) -> int:
        head = buf[0]
        if head == 0x0A:
            self._end_line()
            return 1
        if head == 0x10:
            if len(buf) < 3:
                return 0
            if buf[1] == 0x04:
                out.status_requests.append(buf[2])
            return 3
        if head == 0x1B:
            return self._esc(buf)
        if head == 0x1D:
            return self._gs(buf, out)
        if head == 0x1C:
            return self._fs(buf)
        end = len(buf)
        for i, b in enumerate(buf):
            if b in (0x0A, 0x10, 0x1B, 0x1C, 0x1D):
                end = i
                break
        text = buf[:end].replace(b"\r", b"")
        if text:
            if not self._line:
                self._line_size = self._size
            encoding = self.encoding if self._chinese else self._codepage
            if self._line and self._line[-1][1] == encoding:   # a character may span two chunks
                self._line[-1] = (self._line[-1][0] + text, encoding)
            else:
                self._line.append((text, encoding))
            self._line_size = max(self._line_size, self._size)
        return end

    def _esc(self, buf: bytes) -> int:
        if len(buf) < 2:
            return 0
        cmd = buf[1:2]
        if cmd == b"@":
            self._chinese, self._size, self._codepage = False, (1, 1), "cp437"
            return 2
        if cmd == b"t":
            if len(buf) < 3:
                return 0
            self._codepage = _TABLES.get(buf[2], "cp437")
            return 3
        if cmd == b"!":
            if len(buf) < 3:
                return 0
            self._size = (2 if buf[2] & 0x20 else 1, 2 if buf[2] & 0x10 else 1)
            return 3
        return self._skip(buf, _ESC_PARAMS)

    def _gs(self, buf: bytes, out: Decoded) -> int:
        if len(buf) < 3:
            return 0
        cmd = buf[1:2]
        if cmd == b"!":
            self._size = ((buf[2] >> 4) + 1, (buf[2] & 0x0F) + 1)
            return 3
        if cmd == b"V":
            used = 4 if buf[2] in (65, 66) else 3
            if len(buf) < used:
                return 0
            self._cut(out)
            return used
        if cmd == b"(" and buf[2:3] == b"k":
            if len(buf) < 5:
                return 0
            length = 5 + buf[3] + 256 * buf[4]
            if len(buf) < length:
                return 0
            self._qr(buf[5:length])
            return length
        if cmd == b"v" and buf[2:3] == b"0":
            if len(buf) < 8:
                return 0
            length = 8 + (buf[4] + 256 * buf[5]) * (buf[6] + 256 * buf[7])
            if len(buf) < length:
                return 0
            self._page.images += 1
            return length
        return self._skip(buf, _GS_PARAMS)

    def _fs(self, buf: bytes) -> int:
        if len(buf) < 2:
            return 0
        cmd = buf[1:2]
        if cmd in (b"&", b"."):
            self._chinese = cmd == b"&"
            return 2
        return self._skip(buf, _FS_PARAMS)

    def _skip(self, buf: bytes, table: dict[bytes, int]) -> int:
        """Pass over a command that takes a fixed number of parameters; note one the decoder does not know."""
        params = table.get(buf[1:2])
        if params is None:
            self.unknown.append(buf[:2])
            return 2
        return 2 + params if len(buf) >= 2 + params else 0

    # -- what the commands do -------------------------------------------------------------------------------
    def _qr(self, body: bytes) -> None:
        """``GS ( k`` with cn=49: fn 80 stores the data, fn 81 prints it."""
        if len(body) >= 3 and body[0] == 49 and body[1] == 80:
            self._qr_data = body[3:].decode("utf-8", "replace")
        elif len(body) >= 2 and body[0] == 49 and body[1] == 81 and self._qr_data:
            self._page.qr_codes.append(self._qr_data)

    def _decode_line(self) -> str:
        return "".join(raw.decode(encoding, "replace") for raw, encoding in self._line)

    def _end_line(self) -> None:
        self._page.lines.append(self._decode_line())
        self._page.sizes.append(self._line_size if self._line else self._size)
        self._line, self._line_size = [], self._size

    def _cut(self, out: Decoded) -> None:
        if self._line:
            self._end_line()
        while self._page.lines and not self._page.lines[-1]:   # the feed before a cut is not content
            self._page.lines.pop()
            self._page.sizes.pop()
        self._page.cut = True
        out.pages.append(self._page)
        self._page = Page()
