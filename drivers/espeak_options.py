"""The ``options`` table of the ``espeak`` voice (kiosk/drivers/espeak_speech.py), checked by the config schema.

It imports only the schema, so checking a config never loads pyttsx3 or the voice's driver.
"""
from __future__ import annotations

import re

from ..schema import Field, Section

OUTPUTS = ("auto", "wav", "aplay", "paplay")


def _between(low, high):
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _voice_name(value: str) -> str | None:
    return None if re.fullmatch(r"[A-Za-z0-9_/+-]{1,64}", value) else "must be an espeak-ng voice name or \"auto\""


OPTIONS = Section({
    "voice_zh": Field(str, "auto", _voice_name, doc="Mandarin voice; auto = cmn-latn-pinyin, else cmn"),
    "voice_en": Field(str, "auto", _voice_name, doc="English voice; auto = en-us, else en"),
    "rate": Field(int, 150, _between(80, 400), doc="words per minute"),
    "volume": Field(float, 1.0, _between(0.0, 1.0)),
    "chime": Field(bool, True),
    "repeat": Field(int, 1, _between(1, 5)),
    "repeat_pause_s": Field(float, 1.0, _between(0.0, 10.0)),
    "max_backlog": Field(int, 5, _between(1, 100)),
    "output": Field(str, "auto", lambda v: None if v in OUTPUTS else f"must be one of {', '.join(OUTPUTS)}"),
    "sound_device": Field(str, "", lambda v: None if re.fullmatch(r"[A-Za-z0-9_.,:=-]{0,64}", v) else
                          "must be an ALSA PCM or PulseAudio sink name such as plughw:1,0 (empty: the default)"),
    "keep_files": Field(int, 50, _between(1, 10000)),
    "cache_clips": Field(int, 500, _between(0, 100000)),
    "engine_timeout_s": Field(float, 10.0, _between(0.5, 120.0)),
})
