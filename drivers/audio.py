"""Announcement audio: reading clips, the chime, joining them into one WAV, and playing it.

The clip and chime functions work on 16-bit mono PCM at espeak-ng's 22,050 Hz and touch no sound device;
:func:`detect_player` and :func:`play` are the only ones that do.
"""
from __future__ import annotations

import array
import functools
import math
import os
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

RATE = 22050  # espeak-ng's sample rate; every clip and the chime use it
PLAYERS = ("paplay", "aplay")


class AudioError(Exception):
    """A clip cannot be read or joined, or a player failed."""


def read_pcm(path: str | os.PathLike) -> bytes:
    """Return the 16-bit mono PCM of a WAV clip at :data:`RATE`; anything else is an AudioError."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, RATE):
                raise AudioError(f"{path}: expected 16-bit mono at {RATE} Hz")
            return wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioError(f"{path}: {exc}") from None


def silence(seconds: float) -> bytes:
    """PCM silence of ``seconds``."""
    return b"\0\0" * int(RATE * seconds)


@functools.lru_cache(maxsize=8)
def chime(volume: float = 1.0) -> bytes:
    """A two-note "ding-dong" (E6 then C6, 0.35 s each, fading out), at ``volume`` (0..1); made once."""
    samples = array.array("h")
    for freq in (1318.5, 1046.5):
        n = int(RATE * 0.35)
        for i in range(n):
            fade = (1 - i / n) ** 2
            samples.append(int(12000 * volume * fade * math.sin(2 * math.pi * freq * i / RATE)))
    return samples.tobytes()


def compose(sentences: list[bytes], *, lead: bytes = b"", gap_s: float = 0.4, repeat: int = 1,
            pause_s: float = 1.0) -> bytes:
    """One announcement's PCM: ``lead`` (the chime), then the sentences with ``gap_s`` between them, the
    whole said ``repeat`` times with ``pause_s`` between."""
    once = silence(gap_s).join(sentences)
    body = silence(pause_s).join([once] * repeat)
    return lead + (silence(0.3) if lead else b"") + body


def write_wav(path: str | os.PathLike, pcm: bytes) -> None:
    """Write PCM as a WAV file atomically (a temp file renamed), so a player never reads half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".wav", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, wave.open(fh, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(pcm)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def duration(pcm: bytes) -> float:
    """Seconds of 16-bit mono PCM at :data:`RATE`."""
    return len(pcm) / 2 / RATE


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def detect_player() -> str | None:
    """The player to use: ``paplay`` when a PulseAudio/PipeWire server answers, ``aplay`` when ALSA lists a
    sound card, else None (announcements are then only written as WAV files)."""
    if shutil.which("paplay") and shutil.which("pactl") and _works(["pactl", "info"]):
        return "paplay"
    if shutil.which("aplay"):
        try:
            cards = subprocess.run(["aplay", "-l"], capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        if re.search(r"^card \d+:", cards, re.MULTILINE):
            return "aplay"
    return None


def play(player: str, path: str | os.PathLike, seconds: float, device: str = "") -> None:
    """Play a WAV file to the end with ``paplay`` or ``aplay`` (on ``device``: an ALSA PCM such as
    ``plughw:1,0``, or a PulseAudio sink; empty for the default); raise AudioError when it fails or hangs."""
    if player == "paplay":
        cmd = [player] + ([f"--device={device}"] if device else []) + [str(path)]
    else:
        cmd = [player, "-q"] + (["-D", device] if device else []) + [str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"{player} failed: {exc}") from None
    if done.returncode != 0:
        raise AudioError(f"{player} failed: {done.stderr.strip()[:200] or done.returncode}")
