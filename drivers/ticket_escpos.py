"""The ticket and the test page as ESC/POS bytes, rendered from :class:`kiosk.display.ticket.TicketLayout`.

Rendering is pure: python-escpos builds the commands into its ``Dummy`` printer (with the printer's
capability profile), text goes through :func:`escpos_codes.text_bytes` so Chinese is sent in Chinese
character mode (or, with ``encoding = "image"``, as a raster image for printers without a Chinese font),
and the result is one ``bytes`` the driver hands to the port in one write. ``Dummy._raw``, ``Dummy.output``,
``profile.supports`` and ``EscposImage``'s raster are internals of the pinned python-escpos (see
:mod:`.escpos_lib`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from . import escpos_codes as codes
from . import text_image
from .escpos_lib import Dummy, EscposImage
from .escpos_options import DEFAULT_FONT


@dataclass(frozen=True)
class PaperStyle:
    """How a ticket is laid out on one printer: paper width, encoding, profile, and whether it cuts."""

    width_mm: int = 80
    encoding: str = "gb18030"
    profile: str = "default"
    cutter: bool = True
    font: str = DEFAULT_FONT

    @property
    def number_size(self) -> int:
        """Magnification of the ticket number (8 is the largest ESC/POS has; 58 mm paper holds less)."""
        return 4 if self.width_mm >= 80 else 3

    @property
    def qr_size(self) -> int:
        """Module size of the QR code in dots."""
        return 6 if self.width_mm >= 80 else 4


def _line(p, text: str, style: PaperStyle) -> None:
    if style.encoding in codes.CODE_PAGES and not text.isascii():
        data = codes.codepage_bytes(text, style.encoding)
        if data is not None:
            p._raw(data + b"\n")
            return
    if style.encoding not in codes.CHINESE_ENCODINGS and not text.isascii():
        # GS v 0 raster, as python-escpos's image() sends it (which also prints a warning to stdout each time)
        image = EscposImage(text_image.render(text, style.font, style.width_mm))
        p._raw(b"\x1dv0\x00" + struct.pack("<HH", image.width_bytes, image.height) + image.to_raster_format())
        return
    p._raw(codes.text_bytes(text, style.encoding) + b"\n")


def _finish(p, style: PaperStyle) -> None:
    """Feed past the cutter and cut. A profile without a cutter (many generic 58 mm ones) makes escpos only
    feed, so the cut is sent here when the config says the printer has one."""
    p.cut()
    if style.cutter and not (p.profile.supports("paperFullCut") or p.profile.supports("paperPartCut")):
        p._raw(codes.FULL_CUT)


def ticket_bytes(layout, style: PaperStyle) -> bytes:
    """The whole ticket: hall, service names, the number very large, priority marks, people ahead, wait,
    time, QR code of the status link (and the link as text), footer, cut."""
    p = Dummy(profile=style.profile)
    p._raw(codes.INIT)
    p.set(align="center", bold=True)
    _line(p, layout.hall_name, style)
    p.set(align="center", bold=False)
    for name in layout.service_names:
        _line(p, name, style)
    p._raw(b"\n")
    p.set(align="center", bold=True, custom_size=True, width=style.number_size, height=style.number_size)
    _line(p, layout.number, style)
    p.set_with_default(align="center", bold=True)
    for mark in layout.priority_marks:
        _line(p, mark, style)
    p.set(align="center", bold=False)
    p._raw(b"\n")
    for text in (layout.ahead_line, layout.wait_line, layout.issued_line):
        _line(p, text, style)
    p.qr(layout.status_url, native=True, size=style.qr_size)
    _line(p, layout.status_url, style)
    _line(p, layout.footer, style)
    _finish(p, style)
    return p.output


TEST_PAGE_TITLE = "*** TEST PAGE ***"


def test_page_bytes(model: str, style: PaperStyle) -> bytes:
    """A technician's test page: a title, Chinese text, the character sizes, a QR code, and a cut."""
    p = Dummy(profile=style.profile)
    p._raw(codes.INIT)
    p.set(align="center", bold=True)
    _line(p, TEST_PAGE_TITLE, style)
    p.set(align="center", bold=False)
    _line(p, "测试页 中文打印正常", style)
    _line(p, f"{model}  {style.width_mm} mm  {style.encoding}", style)
    p.set(align="center", custom_size=True, width=style.number_size, height=style.number_size)
    _line(p, "A001", style)
    p.set_with_default(align="center")
    p.qr("TEST", native=True, size=style.qr_size)
    _finish(p, style)
    return p.output
