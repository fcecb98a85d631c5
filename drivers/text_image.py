"""Text as a picture, for printers without a Chinese font (``encoding = "image"``).

The text is drawn with a TrueType font that has CJK glyphs (by default WenQuanYi Micro Hei from the Debian
package ``fonts-wqy-microhei``, :data:`~.escpos_options.DEFAULT_FONT`) into a 1-bit image as wide as the paper,
which python-escpos sends as a raster image (``GS v 0``).
"""
from __future__ import annotations

import functools
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

DOTS_PER_MM = 8          # 203 dpi, the usual thermal head
TEXT_PX = 24             # the height of the printer's own 12x24 font


def font_problem(path: str) -> str | None:
    """Say why a font file cannot be used (None when it can)."""
    if not Path(path).is_file():
        return f"the font {path} for printing Chinese as images is missing (install fonts-wqy-microhei)"
    return None


@functools.lru_cache(maxsize=8)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def render(text: str, font_path: str, paper_mm: int, size: int = TEXT_PX) -> Image.Image:
    """Draw one line of text, black on white, cut to the printable width of the paper."""
    font = _font(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    width = min(right - left + 2, (paper_mm - 8) * DOTS_PER_MM)   # about 4 mm margin on each side
    image = Image.new("1", (max(width, 8), bottom - top + 4), 1)
    ImageDraw.Draw(image).text((1 - left, 2 - top), text, font=font, fill=0)
    return image
