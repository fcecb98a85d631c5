"""The ``options`` table of each ESC/POS printer type, checked by the config schema (unknown keys rejected).

Common to every type: ``paper_width`` (80 or 58 mm), ``encoding`` of Chinese text (gb18030, big5 for a
printer with a traditional-Chinese font, a code page such as cp858 for one without a Chinese font, whose
Chinese lines are then printed as images, or image: every non-ASCII line as an image, drawn with ``font``),
``profile`` (a python-escpos capability profile), ``cutter``,
``model`` (shown in the device list), ``timeout`` for one status answer and ``print_timeout`` for a ticket.

Only the schema and the pure ESC/POS codes are imported, so checking a config never loads python-escpos, pyusb,
pyserial or Pillow: the driver is imported when a printer is built (drivers/registry.py).
"""
from __future__ import annotations

from ..schema import Field, Section
from .escpos_codes import CHINESE_ENCODINGS, CODE_PAGES

# The TrueType font with CJK glyphs that Chinese text is drawn with as images (drivers/text_image.py), from the
# Debian package fonts-wqy-microhei. Defined here, not beside the drawing code, so that checking a config does
# not load Pillow.
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _one_of(*allowed):
    return lambda v: None if v in allowed else f"must be one of {', '.join(map(str, allowed))}"


def _seconds(low: float, high: float, why: str = ""):
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g} seconds{why}"


def _byte(v: int) -> str | None:
    return None if 0 <= v <= 0xFF else "must be between 0 and 255 (0x00-0xff)"


def _word(v: int) -> str | None:
    return None if 0 < v <= 0xFFFF else "must be between 1 and 65535 (0x0001-0xffff)"


def _nonempty(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


COMMON = {
    "paper_width": Field(int, 80, _one_of(80, 58)),
    "encoding": Field(str, "gb18030", _one_of(*CHINESE_ENCODINGS, *CODE_PAGES, "image")),
    "font": Field(str, DEFAULT_FONT, _nonempty),
    "profile": Field(str, "default", _nonempty),
    "cutter": Field(bool, True),
    "model": Field(str, ""),
    "timeout": Field(float, 1.0, _seconds(0.05, 30)),
    "print_timeout": Field(float, 10.0, _seconds(0.5, 120)),
}

OPTIONS = {
    "usb": Section({**COMMON,
                    "vendor_id": Field(int, check=_word), "product_id": Field(int, check=_word),
                    "in_ep": Field(int, 0x82, _byte), "out_ep": Field(int, 0x01, _byte),
                    # 0 would be pyusb's "wait forever": a finite write timeout is required
                    "timeout": Field(float, 2.0, _seconds(0.05, 30, " (0 would wait forever)"))}),
    "serial": Section({**COMMON, "port": Field(str, check=_nonempty),
                       "baud": Field(int, 19200, _one_of(9600, 19200, 38400, 57600, 115200))}),
    "network": Section({**COMMON, "host": Field(str, check=_nonempty),
                        "port": Field(int, 9100, lambda v: None if 0 < v < 65536 else "must be a TCP port (1-65535)"),
                        "timeout": Field(float, 2.0, _seconds(0.05, 30))}),
    "file": Section({**COMMON, "path": Field(str, "/dev/usb/lp0", _nonempty)}),
    # The virtual printer answers over loopback at once, but on a busy PC (or a loaded test machine) its answer
    # can still take a few hundred ms: it keeps the common 1 s status timeout, so a late answer is not taken for
    # an offline printer, and its "offline" fault is still refused within about a second (docs/printer.md).
    "virtual": Section({**COMMON, "transport": Field(str, "network", _one_of("network", "serial"))}),
}
