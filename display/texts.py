"""Words and lines for the hall's displays: LED counter boards and the hall strip (spoken words: spoken.py).

Pure functions of the :class:`~kiosk.display.board.Board` and the config; no device is touched here.
"""
from __future__ import annotations

from dataclasses import dataclass

from .board import Board, CallView

PAUSED = {"zh-CN": "暂停服务", "en": "Paused"}
CALL_TEMPLATES = {"zh-CN": "请{number}号到{counter}办理", "en": "Ticket {number}, please go to {counter}"}


@dataclass(frozen=True)
class DisplayText:
    """What one display shows: its lines, and how many times to blink them (0 = steady)."""

    lines: tuple[str, ...]
    blink: int = 0


def counter_text(board: Board, counter_id: int, languages: list[str], *, blink: bool = False) -> DisplayText:
    """The LED board above a counter: its current number, "暂停服务"/"Paused", or blank when idle."""
    view = board.counter(counter_id)
    if view is None or view.status == "idle":
        return DisplayText(("",))
    if view.status == "paused":
        return DisplayText(tuple(PAUSED[lang] for lang in languages))
    return DisplayText((view.number or "",), 3 if blink else 0)


def call_line(call: CallView, lang: str) -> str:
    """One call as a line of text in one language ("请A012号到3号窗口办理")."""
    counter = call.counter_name if lang == "zh-CN" else call.counter_name_en
    return CALL_TEMPLATES[lang].format(number=call.number, counter=counter)


def hall_text(board: Board, languages: list[str], welcome: dict[str, str], *, lines: int = 2,
              blink: bool = False) -> DisplayText:
    """The hall strip: the latest calls in each language, or the welcome text when nobody has been called."""
    if not board.last_calls:
        return DisplayText(tuple(welcome[lang] for lang in languages))
    out = [call_line(call, lang) for call in board.last_calls[:lines] for lang in languages]
    return DisplayText(tuple(out), 3 if blink else 0)

