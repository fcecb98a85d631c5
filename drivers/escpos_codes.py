"""ESC/POS bytes the printer driver and the virtual printer share, as pure functions (no port is touched).

- Real-time status: ``DLE EOT n`` asks for one status byte (n = 1 printer, 2 offline cause, 4 paper roll
  sensor); every answer byte has bits 1 and 4 set and bits 0 and 7 clear, so a garbled answer is recognised.
- Chinese text: a printer with a Chinese font prints double-byte text only in Chinese character mode, switched
  on with ``FS &`` and off with ``FS .``. python-escpos 3.1 sends GB18030 bytes without the switch, so the
  ticket's text is encoded here instead.
"""
from __future__ import annotations

from .base import PrinterStatus

DLE_EOT = b"\x10\x04"
STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_PAPER = 1, 2, 4
STATUS_ORDER = (STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_PAPER)
FS_CHINESE_ON = b"\x1c&"
FS_CHINESE_OFF = b"\x1c."
INIT = b"\x1b@"
FULL_CUT = b"\x1dV\x00"

_FIXED_MASK, _FIXED_BITS = 0x93, 0x12   # bits 0, 1, 4, 7 of every status byte: 0, 1, 1, 0
_OFFLINE = 0x08                          # n=1, bit 3
_COVER_OPEN, _STOPPED_NO_PAPER = 0x04, 0x20   # n=2, bits 2 and 5
_NEAR_END, _PAPER_OUT = 0x0C, 0x60      # n=4, bits 2-3 and 5-6

# Encodings that have a Chinese character mode; the name is what Python's codec calls it.
CHINESE_ENCODINGS = ("gb18030", "big5")
# Single-byte code pages and their ``ESC t n`` table numbers (Epson numbering), for printers with no Chinese
# font; text a code page cannot hold is printed as an image instead.
CODE_PAGES = {"cp437": 0, "cp850": 2, "cp1252": 16, "cp866": 17, "cp858": 19}


def status_query() -> bytes:
    """The three real-time status requests a ticket check sends at once (printer, offline cause, paper)."""
    return b"".join(DLE_EOT + bytes([n]) for n in STATUS_ORDER)


def parse_status(reply: bytes) -> PrinterStatus:
    """Read the answers to :func:`status_query`.

    Fewer than three bytes means the printer did not answer in time: it counts as offline (never as "paper
    OK", which is what python-escpos reports when nothing comes back). A byte without the fixed bits is a
    garbled answer and also counts as offline.
    """
    if len(reply) < len(STATUS_ORDER):
        return PrinterStatus(online=False, paper="unknown", error="the ticket printer does not answer")
    printer, cause, paper = reply[-3:]
    if any(b & _FIXED_MASK != _FIXED_BITS for b in (printer, cause, paper)):
        return PrinterStatus(online=False, paper="unknown",
                             error=f"the ticket printer gave a garbled status answer ({reply[-3:].hex()})")
    level = "out" if paper & _PAPER_OUT or cause & _STOPPED_NO_PAPER else (
        "near_end" if paper & _NEAR_END else "ok")
    # A printer goes offline while its cover is open or its paper is out; "online" here means: offline for
    # no other reason (those two are reported as themselves).
    explained = bool(cause & (_COVER_OPEN | _STOPPED_NO_PAPER)) or level == "out"
    return PrinterStatus(online=not printer & _OFFLINE or explained, paper=level,
                         cover_open=bool(cause & _COVER_OPEN))


def status_answer(n: int, *, online: bool, paper: str, cover_open: bool) -> bytes:
    """The byte a printer in this state answers to ``DLE EOT n`` (what the virtual printer sends)."""
    byte = _FIXED_BITS
    if n == STATUS_PRINTER and (not online or cover_open or paper == "out"):
        byte |= _OFFLINE
    elif n == STATUS_OFFLINE_CAUSE:
        byte |= (_COVER_OPEN if cover_open else 0) | (_STOPPED_NO_PAPER if paper == "out" else 0)
    elif n == STATUS_PAPER:
        byte |= {"near_end": _NEAR_END, "out": _NEAR_END | _PAPER_OUT}.get(paper, 0)
    return bytes([byte])


def codepage_bytes(text: str, codepage: str) -> bytes | None:
    """Select the code page (``ESC t n``) and encode ``text`` in it; None when it cannot hold the text."""
    try:
        return b"\x1bt" + bytes([CODE_PAGES[codepage]]) + text.encode(codepage)
    except UnicodeEncodeError:
        return None


def text_bytes(text: str, encoding: str) -> bytes:
    """Encode one piece of ticket text: ASCII as is, anything else in Chinese character mode.

    A character the encoding has no code for (a simplified character on a Big5 printer) prints as ``?``.
    """
    if text.isascii():
        return text.encode("ascii")
    return FS_CHINESE_ON + text.encode(encoding, "replace") + FS_CHINESE_OFF
