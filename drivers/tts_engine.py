"""The daemon's side of the speech engine: the pyttsx3 worker process, its restarts, and the espeak-ng fallback.

:class:`EngineProcess` owns one :mod:`kiosk.drivers.tts_worker` process. A job that gets no answer within the
timeout (a hung engine) or whose process died (a crashed engine) kills the process; the next job starts a
fresh one. Only the announcer thread uses an EngineProcess (one owner, one engine, one job at a time).
:func:`espeak_cli_synth` (``espeak-ng -w``) is the fallback when the worker cannot do a job, and
:func:`voice_problem` checks at start-up that a voice reads its language's script itself.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import time

log = logging.getLogger(__name__)
raw_log = logging.getLogger(__name__ + ".traffic")  # every request and answer, for a technician

# A sentence of each language and what espeak-ng must not do with it: switch to another language's rules.
# Debian 12's `cmn` voice reads many Hanzi as pinyin spelled with English rules, shown as "(en)" switches.
PROBE = {"zh-CN": "请到三号窗口办理业务", "en": "Ticket number one, please go to counter three"}


class EngineFailed(Exception):
    """The engine did not do a job (no answer, died, or answered with an error)."""


class EngineProcess:
    """One pyttsx3 worker process, started on demand, killed and restarted when it hangs or dies."""

    def __init__(self, timeout_s: float = 10.0, command: list[str] | None = None):
        self.timeout_s = timeout_s
        self.command = command or [sys.executable, "-m", "kiosk.drivers.tts_worker"]
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.syntheses = 0   # sentences the pyttsx3 worker synthesized (each answered ok)
        self.start_error: str | None = None   # why the last start failed; None once a start succeeded
        self.engine = "pyttsx3"   # "pyttsx3 2.99" once a worker said which version it runs
        self._buffer = b""
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The worker's process id, or None when it is not running."""
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def start(self) -> None:
        """Start the worker and wait for its ready line (raises EngineFailed)."""
        self.stop()
        if self._closed:
            raise EngineFailed("the voice is stopping")
        self.starts += 1
        try:
            self._launch()
        except EngineFailed as exc:
            self.start_error = str(exc)
            raise
        self.start_error = None
        log.info("speech engine started (%s worker pid %s)", self.engine, self.pid)

    def _launch(self) -> None:
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=None, close_fds=True)
        except OSError as exc:
            raise EngineFailed(f"cannot start the speech engine: {exc}") from None
        self._buffer = b""
        ready = self._answer()
        if not ready.get("ready"):
            self.stop()
            raise EngineFailed(f"the speech engine did not start: {ready.get('error')}")
        if ready.get("pyttsx3"):
            self.engine = f"pyttsx3 {ready['pyttsx3']}"

    def stop(self) -> None:
        """Kill the worker, if any."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                try:
                    pipe.close()
                except OSError:  # closing flushes what is buffered: a dead worker's stdin says "broken pipe"
                    pass

    def close(self) -> None:
        """From any thread: kill the worker (even one that hangs) and start no other. The job waiting for it
        gets EngineFailed at once; its own thread closes the pipes."""
        self._closed = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def request(self, req: dict) -> dict:
        """Send one request and return its answer; a hung or dead worker is killed and EngineFailed raised."""
        if self.pid is None:
            self.start()
        raw_log.debug("-> %s", req)
        try:
            self.proc.stdin.write((json.dumps(req, ensure_ascii=False) + "\n").encode())
            self.proc.stdin.flush()
        except OSError as exc:
            self.stop()
            raise EngineFailed(f"the speech engine is gone ({exc})") from None
        answer = self._answer()
        raw_log.debug("<- %s", answer)
        if not answer.get("ok"):
            raise EngineFailed(answer.get("error") or "the speech engine failed")
        return answer

    def synth(self, text: str, voice: str, rate: int, volume: float, path: str) -> None:
        """Speak ``text`` into the WAV file ``path`` with ``voice``; the engine must really use that voice."""
        answer = self.request({"op": "synth", "text": text, "voice": voice, "rate": rate, "volume": volume,
                               "path": path})
        used = str(answer.get("voice") or "")
        if used.rsplit("/", 1)[-1] != voice.lower():
            raise EngineFailed(f"the engine has no voice {voice!r} (it spoke with {used!r})")
        self.syntheses += 1

    def voices(self) -> list[str]:
        """The voice identifiers the engine offers (``sit/cmn-latn-pinyin``, ...)."""
        return list(self.request({"op": "voices"})["voices"])

    def _answer(self) -> dict:
        """Read one answer line within the timeout; kill the worker when none comes."""
        deadline = time.monotonic() + self.timeout_s
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.stop()
                raise EngineFailed(f"the speech engine did not answer within {self.timeout_s:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self.proc.wait()
                self.stop()
                raise EngineFailed(f"the speech engine died (exit status {code})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            self.stop()
            raise EngineFailed(f"the speech engine answered nonsense: {line[:80]!r}") from None


def espeak_cli_synth(text: str, voice: str, rate: int, volume: float, path: str, timeout_s: float) -> None:
    """The fallback: ``espeak-ng -w PATH`` in its own process (raises EngineFailed)."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(rate), "-a", str(round(volume * 100)), "-w", path, "--", text]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineFailed(f"espeak-ng -w failed: {exc}") from None
    if done.returncode != 0 or not os.path.exists(path) or os.path.getsize(path) <= 44:
        raise EngineFailed(f"espeak-ng -w failed: {done.stderr.strip()[:200] or done.returncode}")


@functools.lru_cache(maxsize=64)
def voice_problem(voice: str, lang: str) -> str | None:
    """Check with ``espeak-ng -x`` that ``voice`` reads :data:`PROBE` text of ``lang`` with its own rules.

    Returns None when it does, else why not (unknown voice, or it switches to another language's rules,
    as Debian 12's ``cmn`` does with Hanzi). Remembered for the life of the process: the installed voices do not
    change under a running daemon, and a config reload need not check them again."""
    if shutil.which("espeak-ng") is None:
        return "espeak-ng is not installed (apt-get install espeak-ng)"
    try:
        done = subprocess.run(["espeak-ng", "-q", "-x", "-v", voice, PROBE[lang]], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"espeak-ng did not run: {exc}"
    if done.returncode != 0 or "rror" in done.stderr:
        return f"espeak-ng has no voice {voice!r}"
    switches = {part.split(")")[0] for part in done.stdout.split("(")[1:]} - {voice.split("-")[0]}
    if switches:
        return f"reads {lang} text with other languages' rules (switches to {', '.join(sorted(switches))})"
    if not done.stdout.strip():
        return "says nothing"
    return None
