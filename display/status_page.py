"""The ticket status page a printed ticket links to (``/t/<id>``): number, state, people ahead, wait.

Plain server-rendered HTML that refreshes itself, readable on any phone; no personal data.
"""
from __future__ import annotations

from html import escape

from .ticket import wait_minutes

STATUS_WORDS = {
    "waiting": ("等候中", "Waiting"), "called": ("请到窗口办理", "Please go to the counter"),
    "served": ("已办结", "Served"), "no_show": ("已过号", "Missed"), "expired": ("已过期", "Expired"),
    "void": ("已作废", "Void"),
}

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}<title>{number}</title>
<style>body{{font-family:sans-serif;text-align:center;margin:2em}} .n{{font-size:4em;font-weight:bold}}
.s{{font-size:1.5em}} p{{margin:.4em}}</style></head>
<body><p>{hall}</p><p class="n">{number}</p><p class="s">{status_zh} · {status_en}</p>{details}</body></html>
"""


def render(ticket: dict, hall_name: str) -> str:
    """Return the status page for a ticket's public view."""
    zh, en = STATUS_WORDS.get(ticket["status"], (ticket["status"], ticket["status"]))
    details = ""
    if ticket["status"] == "waiting":
        minutes = wait_minutes(ticket["estimated_wait_s"])
        details = (f"<p>前面还有 {ticket['ahead']} 人 · {ticket['ahead']} ahead of you</p>"
                   f"<p>预计等候 {minutes} 分钟 · about {minutes} min</p>")
    elif ticket["status"] == "called" and ticket.get("counter_name"):
        details = f"<p>{escape(ticket['counter_name'])} · {escape(ticket['counter_name_en'])}</p>"
    live = ticket["status"] in ("waiting", "called")
    return PAGE.format(refresh='<meta http-equiv="refresh" content="15">\n' if live else "",
                       hall=escape(hall_name), number=escape(ticket["number"]), status_zh=zh, status_en=en,
                       details=details)
