"""The hall's screen pages: HTML shells filled from ``pages/`` and served with the scripts in ``static/``.

Each page is the shared layout around one body; the page's own script (``static/<name>.js``) draws it from the
/api/v1 API and the live event stream. Nothing here reads the queue: the server only fills in the hall's name
and the page's counter or ticket id.
"""
from __future__ import annotations

from functools import lru_cache
from html import escape
from importlib import resources
from string import Template

STATIC_DIR = resources.files(__package__) / "static"

# page name -> (title, the <body> class)
PAGES = {
    "index": ("大厅 · Hall", "index"),
    "kiosk": ("取号 · Tickets", "kiosk"),
    "counter": ("窗口 · Counter", "counter"),
    "guide": ("引导台 · Guide desk", "guide"),
    "display": ("叫号 · Calls", "board"),
    "admin": ("技术员 · Technician", "admin"),
    "sim": ("模拟器 · Simulator", "sim"),
    "status": ("号票 · Ticket", "status"),
}


# The heading of the pages staff sign in to (their header also has the sign-out and language buttons).
STAFF_HEADINGS = {
    "counter": '<span data-t="counter.title"></span> · <span id="counter-name"></span>',
    "guide": '<span data-t="guide.title"></span>',
    "admin": '<span data-t="admin.title"></span>',
    "sim": '<span data-t="sim.title"></span>',
}


@lru_cache(maxsize=None)
def _template(name: str) -> str:
    return (resources.files(__package__) / "pages" / f"{name}.html").read_text(encoding="utf-8")


def render(page: str, hall_name: str, *, tz: str = "", counter: int | str = "", ticket: int | str = "") -> str:
    """Return the HTML of one page (``page`` is a key of :data:`PAGES`); ``tz`` is the hall's time zone, in
    which the pages show times (the screen's own PC may be set to another)."""
    title, body_class = PAGES[page]
    header = Template(_template("staff_header")).substitute(heading=STAFF_HEADINGS.get(page, ""))
    body = Template(_template(page)).safe_substitute(signin=_template("signin"), staff_header=header)
    return Template(_template("layout")).substitute(
        title=escape(title), script=page, page=body_class, hall=escape(hall_name), tz=escape(tz), counter=counter,
        ticket=ticket, body=body)
