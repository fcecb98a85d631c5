"""A preview of a printed ticket as an HTML page, from the same :class:`TicketLayout` the printer prints.

For technicians (``GET /api/v1/tickets/{id}/preview``): the paper's width, the lines in print order, the
number large, the priority marks bold, and the QR code of the status link drawn as SVG.
"""
from __future__ import annotations

from html import escape

import qrcode
import qrcode.image.svg

from .ticket import TicketLayout

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{number}</title>
<style>body{{background:#ddd;font-family:monospace}} .paper{{background:#fff;width:{width}mm;margin:1em auto;
padding:4mm;text-align:center}} p{{margin:.2em 0}} .n{{font-size:4em;font-weight:bold}} .b{{font-weight:bold}}
.cut{{border-top:2px dashed #999;margin-top:4mm}}</style></head>
<body><div class="paper">{body}<div class="cut"></div></div></body></html>
"""


def qr_svg(content: str) -> str:
    """The QR code of ``content`` as an inline SVG element."""
    image = qrcode.make(content, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    return image.to_string(encoding="unicode")


def render(layout: TicketLayout, width_mm: int = 80) -> str:
    """Return the ticket as an HTML page, as wide as the paper (printable width: paper less 8 mm)."""
    def para(text: str, cls: str = "") -> str:
        return f'<p class="{cls}">{escape(text)}</p>' if cls else f"<p>{escape(text) or '&nbsp;'}</p>"

    parts = [para(layout.hall_name, "b"), *(para(n) for n in layout.service_names), para(""),
             para(layout.number, "n"), *(para(m, "b") for m in layout.priority_marks), para(""),
             para(layout.ahead_line), para(layout.wait_line), para(layout.issued_line),
             qr_svg(layout.status_url), para(layout.status_url), para(layout.footer)]
    return PAGE.format(number=escape(layout.number), width=width_mm - 8, body="\n".join(parts))
