"""The hall's voice: pyttsx3 with espeak-ng, offline, in Mandarin and English (device type ``espeak``).

``announce`` only queues (:mod:`.speech_queue`); one announcer thread owns the engine process
(:mod:`.tts_engine`), the clip cache (:mod:`.clip_cache`) and the player. For each announcement it gets a clip
per sentence (from the cache, or synthesized by the pyttsx3 worker, or by ``espeak-ng -w`` when the worker
fails), joins chime and clips into one WAV in ``DATA/announcements/`` (the audio is then ready), and plays it
with ``paplay``/``aplay`` when the PC has a sound device. Nothing here can block or fail a call: a failure is
logged, shown as the device's ``last_error``, and the next announcement is tried afresh.

The fallback keeps the hall speaking, but it is not the normal path, so it is counted (``fallbacks`` beside
``engine_syntheses`` in the state, ``hall_voice_fallbacks_total`` in ``/metrics``), and a voice that lives on
it — its engine cannot be started, or more than :data:`FALLBACK_LIMIT` of its last :data:`FALLBACK_WINDOW`
announcements that needed synthesis used it — says so in its state's ``degraded``, which ``/health`` shows.

When a config change replaces the voice's driver, the new one takes over what waits to be said
(:meth:`EspeakSpeech.take_over`) and starts speaking once the old one has finished the announcement it was
making, so no call is lost or spoken over another.
"""
from __future__ import annotations

import collections
import logging
import re
import threading
import time
from pathlib import Path

from ..display.spoken import Announcement
from . import audio
from .base import DeviceError, Speech
from .clip_cache import ClipCache
from .espeak_options import OPTIONS as OPTIONS  # the options schema, re-exported for the tests
from .speech_queue import SpeechQueue
from .tts_engine import EngineFailed, EngineProcess, espeak_cli_synth, voice_problem

log = logging.getLogger(__name__)

KEEP = 200  # announcements remembered for the device list and the tests
STOP_GRACE_S = 1.0  # a stop lets the announcement being made finish this long before it kills the engine
LANGUAGE_NAMES = {"zh-CN": "Mandarin", "en": "English"}
# Tried in order when a voice option is "auto" (and after a configured voice that fails its check).
CANDIDATES = {"zh-CN": ("cmn-latn-pinyin", "cmn"), "en": ("en-us", "en")}
# Where a sentence's clip came from (an announcement's ``made_by``).
CACHE, ENGINE, FALLBACK = "cache", "pyttsx3", "espeak-ng -w"
FALLBACK_WINDOW = 5   # the last announcements (that synthesized a sentence) judged for "lives on the fallback"
FALLBACK_LIMIT = 2    # more of them than this made by espeak-ng -w: the voice is degraded


def choose_voice(lang: str, configured: str) -> tuple[str, list[str]]:
    """The first voice for ``lang`` that passes :func:`voice_problem` (configured first, then the candidates),
    and the reasons the others before it were passed over; DeviceError when none passes."""
    tried = [configured] if configured != "auto" else []
    tried += [v for v in CANDIDATES[lang] if v not in tried]
    rejected = []
    for voice in tried:
        problem = voice_problem(voice, lang)
        if problem is None:
            return voice, rejected
        rejected.append(f"{voice}: {problem}")
    raise DeviceError("voice_unavailable", f"no {LANGUAGE_NAMES[lang]} voice works ({'; '.join(rejected)})")


class EspeakSpeech(Speech):
    """The offline voice of the hall (see the module docstring)."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.options = spec["options"]
        self.queue = SpeechQueue(self.options["max_backlog"])
        self.engine = EngineProcess(self.options["engine_timeout_s"])
        self.voices: dict[str, str] = {}
        self.player: str | None = None
        self.spoken: collections.deque[dict[str, str]] = collections.deque(maxlen=KEEP)
        self.files: collections.deque[dict] = collections.deque(maxlen=KEEP)
        self.announced = 0
        self.fallbacks = 0
        self.failures = 0
        # Per recent announcement that synthesized a sentence: did espeak-ng -w make one? Replaced whole, so
        # state() on another thread reads it safely.
        self._recent: tuple[bool, ...] = ()
        self._engine_error: str | None = None   # the pyttsx3 engine's last failure
        self._failing = False  # the last announcement failed (the device shows offline until one succeeds)
        self.cache: ClipCache | None = None
        self._out_dir: Path | None = None
        self._thread: threading.Thread | None = None
        self._predecessor: EspeakSpeech | None = None
        self._seq = 0

    # -- the device ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Check the voices (logging which are used), prepare the folders, pick the output, start the thread."""
        for lang, option in (("zh-CN", "voice_zh"), ("en", "voice_en")):
            voice, rejected = choose_voice(lang, self.options[option])
            for reason in rejected:
                log.warning("%s voice passed over: %s", LANGUAGE_NAMES[lang], reason)
            log.info("%s voice: %s", LANGUAGE_NAMES[lang], voice)
            self.voices[lang] = voice
        data = self.data_dir or Path("data")
        try:
            self._out_dir = data / "announcements"
            self._out_dir.mkdir(parents=True, exist_ok=True)
            self.cache = ClipCache(data / "speech-cache", self.options["cache_clips"])
        except OSError as exc:
            raise DeviceError("voice_folder", f"cannot use {data} for announcements: {exc}") from None
        output = self.options["output"]
        self.player = audio.detect_player() if output == "auto" else (None if output == "wav" else output)
        log.info("announcements go to %s", self.player or f"WAV files in {self._out_dir} (no sound device)")
        self._thread = threading.Thread(target=self._run, name=f"speech-{self.name}", daemon=True)
        self._thread.start()

    def take_over(self, old) -> None:
        """Before :meth:`start`: take the announcements waiting in the voice this one replaces (and those
        queued on it from now on); this voice speaks once the old one has finished its current announcement."""
        if isinstance(old, EspeakSpeech):
            old.queue.hand_over(self.queue)
            self._predecessor = old

    def stop(self) -> None:
        """Stop the announcer after its current announcement; an engine that does not finish within
        :data:`STOP_GRACE_S` is killed (the announcement falls back to ``espeak-ng -w``), so a hung engine
        cannot hold up the stop."""
        self.queue.close()
        if self._thread is None:
            return
        self._thread.join(STOP_GRACE_S)
        self.engine.close()
        self._thread.join(self.options["engine_timeout_s"] + 5)

    def online(self) -> bool:
        """True while the announcer runs and its last announcement did not fail."""
        return self._thread is not None and self._thread.is_alive() and not self._failing

    def announce(self, announcement: Announcement) -> None:
        """Queue the announcement (never waits); log a merge or what the backlog dropped."""
        outcome = self.queue.put(announcement)
        if outcome.merged:
            log.info("recall %s merged with its call still waiting to be spoken", announcement.key)
        for old in outcome.dropped:
            log.warning("voice backlog over %s: dropped the stale %s %s", self.queue.limit, old.kind, old.key)

    def degraded(self) -> str | None:
        """Why the voice lives on the ``espeak-ng -w`` fallback (see the module docstring), or None."""
        if self.engine.start_error:
            return (f"its pyttsx3 engine cannot be started ({self.engine.start_error}), so espeak-ng -w makes "
                    "its announcements")
        recent = self._recent
        if sum(recent) > FALLBACK_LIMIT:
            return (f"{sum(recent)} of its last {len(recent)} announcements were made by espeak-ng -w, not its "
                    f"pyttsx3 engine ({self._engine_error})")
        return None

    def state(self) -> dict:
        """Voices, output, queue length, counters, the last announcement, the last error, and ``degraded``."""
        return {**super().state(), "voice": dict(self.voices), "engine": f"{self.engine.engine} + espeak-ng",
                "output": self.player or "wav", "sound_device": self.options["sound_device"] or "default",
                "folder": str(self._out_dir) if self._out_dir else None,
                "queue_length": len(self.queue), "announced": self.announced, "merged": self.queue.merged,
                "dropped": self.queue.dropped, "engine_restarts": max(self.engine.starts - 1, 0),
                "engine_pid": self.engine.pid, "engine_syntheses": self.engine.syntheses,
                "fallbacks": self.fallbacks, "failures": self.failures, "degraded": self.degraded(),
                "cache": {"clips": len(self.cache) if self.cache else 0,
                          "hits": self.cache.hits if self.cache else 0,
                          "misses": self.cache.misses if self.cache else 0},
                "last_announcement": self.files[-1] if self.files else None}

    # -- the announcer thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        old, self._predecessor = self._predecessor, None
        if old is not None and old._thread is not None:   # never two voices at once
            old._thread.join(old.options["engine_timeout_s"] + 5)
        try:
            self._announce_queued()
        finally:
            self.engine.stop()

    def _announce_queued(self) -> None:
        while True:
            announcement = self.queue.take()
            if announcement is None:
                if self.queue.closed:
                    return
                continue
            try:
                self._speak(announcement)
                self._failing = False
            except (EngineFailed, audio.AudioError, OSError) as exc:
                self.failures += 1
                self._fail(f"{announcement.kind} {announcement.key}: {exc}")
            except Exception as exc:  # noqa: BLE001 - a bug must cost one announcement, not the voice
                log.exception("voice %s: %s %s failed", self.name, announcement.kind, announcement.key)
                self.failures += 1
                self._fail(f"{announcement.kind} {announcement.key}: {type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        if message != self.last_error:
            log.warning("voice %s: %s", self.name, message)
        self.note_error(message)
        self._failing = True

    def _speak(self, announcement: Announcement) -> None:
        """Make the announcement's audio, write it (then it is ready), and play it where there is a device."""
        clips, clip_files, made_by = [], {}, {}
        for lang, text in announcement.sentences.items():
            pcm, made_by[lang], clip_files[lang] = self._clip(text, self.voices[lang])
            clips.append(pcm)
        synthesized = [source for source in made_by.values() if source != CACHE]
        if synthesized:
            self._recent = (*self._recent, FALLBACK in synthesized)[-FALLBACK_WINDOW:]
        opts = self.options
        lead = audio.chime(opts["volume"]) if opts["chime"] else b""
        pcm = audio.compose(clips, lead=lead, repeat=opts["repeat"], pause_s=opts["repeat_pause_s"])
        path = self._next_path(announcement)
        audio.write_wav(path, pcm)
        record = {"kind": announcement.kind, "key": announcement.key, "sentences": dict(announcement.sentences),
                  "file": str(path), "seconds": round(audio.duration(pcm), 2), "ready_at": time.time(),
                  "created_at": announcement.created_at, "cached_clips": len(made_by) - len(synthesized),
                  "clip_files": clip_files, "made_by": made_by}
        self.files.append(record)
        self.announced += 1
        self.spoken.append(dict(announcement.sentences))
        self._prune()
        if self.player:
            audio.play(self.player, path, audio.duration(pcm), self.options["sound_device"])

    def _clip(self, text: str, voice: str) -> tuple[bytes, str, str]:
        """One sentence's PCM, where it came from (:data:`CACHE`, :data:`ENGINE` or :data:`FALLBACK`), and its
        clip file; synthesized (and cached) when not in the cache."""
        rate, volume = self.options["rate"], self.options["volume"]
        key = ClipCache.key(text, voice, rate, volume)
        path = self.cache.get(key)
        if path is not None:
            return audio.read_pcm(path), CACHE, str(path)
        scratch = self.cache.scratch(key)
        source = ENGINE
        try:
            self.engine.synth(text, voice, rate, volume, str(scratch))
        except EngineFailed as exc:
            self._engine_error = str(exc)
            self._fail(f"pyttsx3 engine: {exc}; falling back to espeak-ng -w")
            self.fallbacks += 1
            source = FALLBACK
            espeak_cli_synth(text, voice, rate, volume, str(scratch), self.options["engine_timeout_s"])
        pcm = audio.read_pcm(scratch)
        return pcm, source, str(self.cache.put(key, scratch))

    def _next_path(self, announcement: Announcement) -> Path:
        self._seq += 1
        label = re.sub(r"[^A-Za-z0-9]+", "-", announcement.key).strip("-") or "x"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return self._out_dir / f"{stamp}-{self._seq:05d}-{announcement.kind}-{label}.wav"

    def _prune(self) -> None:
        """Keep the newest ``keep_files`` announcement files."""
        files = sorted(self._out_dir.glob("*.wav"))
        for old in files[:-self.options["keep_files"]]:
            old.unlink(missing_ok=True)
