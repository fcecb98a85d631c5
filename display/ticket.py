"""The printed ticket's layout: one place that says what a ticket holds, for the printer and any preview.

A ticket never shows a personal name or an agent code: only the hall, the service, the number, a priority
mark, how many are ahead, the estimated wait, the time, and the status link.
"""
from __future__ import annotations

from dataclasses import dataclass

PRIORITY_MARKS = {"normal": ("", ""), "starlight": ("★ 星光服务", "Starlight priority"),
                  "vip": ("贵宾 绿色通道", "VIP green channel")}


@dataclass(frozen=True)
class TicketLayout:
    """Everything printed on one ticket, in print order."""

    hall_name: str
    service_names: tuple[str, ...]
    number: str
    priority_marks: tuple[str, ...]
    ahead_line: str
    wait_line: str
    issued_line: str
    status_url: str
    footer: str

    def as_text(self) -> str:
        """The ticket as plain text, line by line (what the simulated printer keeps)."""
        lines = [self.hall_name, *self.service_names, "", self.number, *self.priority_marks, "",
                 self.ahead_line, self.wait_line, self.issued_line, self.status_url, self.footer]
        return "\n".join(line for line in lines if line is not None)


def wait_minutes(seconds: int) -> int:
    """Round an estimated wait to whole minutes for people: never "0 minutes" while someone is ahead."""
    return max(1, round(seconds / 60)) if seconds else 0


def build_layout(ticket: dict, service: dict, hall: dict) -> TicketLayout:
    """Lay out a ticket from its public view (``number``, ``priority``, ``ahead``, ``estimated_wait_s``,
    ``issued_at``, ``id``), its service and the hall section of the config."""
    zh, en = "zh-CN" in hall["languages"], "en" in hall["languages"]
    names = tuple(n for n, on in ((service["name"], zh), (service["name_en"], en)) if on)
    marks = tuple(m for m, on in zip(PRIORITY_MARKS[ticket["priority"]], (zh, en), strict=True) if m and on)
    ahead, wait = ticket["ahead"], wait_minutes(ticket["estimated_wait_s"])
    ahead_parts = [f"前面还有 {ahead} 人" if zh else "", f"{ahead} ahead of you" if en else ""]
    wait_parts = [f"预计等候 {wait} 分钟" if zh else "", f"about {wait} min" if en else ""]
    time_text = ticket["issued_at"].replace("T", " ")[:19]
    footer = "请留意叫号屏幕  Please watch the call screen" if zh and en else (
        "请留意叫号屏幕" if zh else "Please watch the call screen")
    return TicketLayout(
        hall_name=hall["name"] if zh else hall["name_en"], service_names=names, number=ticket["number"],
        priority_marks=marks, ahead_line="  ".join(p for p in ahead_parts if p),
        wait_line="  ".join(p for p in wait_parts if p), issued_line=time_text,
        status_url=f"{hall['public_url'].rstrip('/')}/t/{ticket['id']}", footer=footer)
