"""What the voice says: ticket numbers read digit by digit, and the hall's templates filled in.

Pure functions of text and the config; nothing is synthesized here. A ticket number is read letter by letter
and digit by digit ("A012" -> "A 零 一 二" / "A-zero one two"), never as a quantity ("A 十二"), so a customer
can match it to the paper in their hand.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

DIGITS = {
    "zh-CN": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
}

# The hall's words when the config says nothing else ([announcements] in the config overrides each one).
DEFAULT_TEMPLATES = {
    "call": {"zh-CN": "请{number}号到{counter}办理", "en": "Ticket {number}, please go to {counter}"},
    "recall": {"zh-CN": "再次呼叫，请{number}号到{counter}办理", "en": "Calling again: ticket {number}, please go to {counter}"},
    "paused": {"zh-CN": "{counter}暂停服务，请到其他窗口办理", "en": "{counter} is paused, please wait for another counter"},
}
# The placeholders each kind of message may use.
PLACEHOLDERS = {"call": {"number", "counter"}, "recall": {"number", "counter"}, "paused": {"counter"}}
TEST_SENTENCES = {"zh-CN": "这是一条测试广播", "en": "This is a test announcement"}


@dataclass(frozen=True)
class Announcement:
    """One thing the voice says: a call, a recall, a paused counter or a technician's test.

    ``sentences`` holds one sentence per language in the order they are spoken. ``key`` names the ticket and
    counter a call is about (``"A012@3"``), so a recall can merge with a call still waiting to be spoken.
    """

    kind: str
    sentences: dict[str, str]
    key: str = ""
    created_at: float = field(default=0.0, compare=False)


def spell_number(number: str, lang: str) -> str:
    """Read a ticket number character by character in ``lang``: letters as letters, digits one at a time.

    >>> spell_number("A012", "zh-CN")
    'A 零 一 二'
    >>> spell_number("A012", "en")
    'A-zero one two'

    In English the last letter is joined to the first digit with a hyphen: espeak-ng otherwise reads a lone
    "A" as the article ("uh"), not the letter.
    """
    digits = DIGITS[lang]
    words: list[str] = []
    for ch in number.strip():
        if ch.isdigit():
            words.append(digits[int(ch)])
        elif ch.isalpha():
            words.append(ch.upper())
        else:
            raise ValueError(f"a ticket number has only letters and digits, not {ch!r}")
    if lang == "en":
        letters = [i for i, w in enumerate(words) if len(w) == 1 and w.isalpha()]
        if letters and letters[-1] + 1 < len(words):
            last = letters[-1]
            words[last:last + 2] = [f"{words[last]}-{words[last + 1]}"]
    return " ".join(words)


def placeholder_problem(template: str, kind: str) -> str | None:
    """Say what is wrong with a template for ``kind`` (an unknown or malformed placeholder), or None."""
    allowed = PLACEHOLDERS[kind]
    try:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        return f"is not a valid template ({exc}); write placeholders as {{number}} or {{counter}}"
    unknown = sorted(names - allowed)
    if unknown:
        return f"uses {{{unknown[0]}}}; a {kind} message may use only " + ", ".join(f"{{{n}}}" for n in sorted(allowed))
    if not template.strip():
        return "must not be empty"
    return None


def sentence(template: str, lang: str, counter_name: str, number: str = "") -> str:
    """Fill one template: the counter's name as configured, the number read digit by digit."""
    spoken = f" {spell_number(number, lang)} " if number else ""
    text = re.sub(r"\s+", " ", template.format(number=spoken, counter=counter_name))
    return re.sub(r" (?=[,.;:!?，。；：！？])", "", text).strip()


def call_announcement(kind: str, number: str, counter: dict, templates: dict, languages: list[str],
                      created_at: float = 0.0) -> Announcement:
    """The announcement for a ``call`` or ``recall`` of ``number`` to ``counter`` (a config counter)."""
    names = {"zh-CN": counter["name"], "en": counter["name_en"]}
    sentences = {lang: sentence(templates[kind][lang], lang, names[lang], number) for lang in languages}
    return Announcement(kind, sentences, f"{number}@{counter['id']}", created_at)


def paused_announcement(counter: dict, templates: dict, languages: list[str], created_at: float = 0.0) -> Announcement:
    """The announcement that ``counter`` has paused."""
    names = {"zh-CN": counter["name"], "en": counter["name_en"]}
    sentences = {lang: sentence(templates["paused"][lang], lang, names[lang]) for lang in languages}
    return Announcement("paused", sentences, f"paused@{counter['id']}", created_at)


def sample_announcement(languages: list[str], created_at: float = 0.0) -> Announcement:
    """The technician's test sentence, in each of the hall's languages."""
    return Announcement("test", {lang: TEST_SENTENCES[lang] for lang in languages}, "", created_at)
