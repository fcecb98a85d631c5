"""The speech engine's own process: pyttsx3 with espeak-ng, one job per ``runAndWait``.

Run as ``python -m kiosk.drivers.tts_worker``. It reads one JSON request per line on stdin and answers one
JSON line on stdout; everything else the engine prints goes to stderr (pyttsx3 2.99 prints "Audio saved to").
The daemon's announcer (:mod:`kiosk.drivers.tts_engine`) owns this process, so a hung or crashed engine is
killed and started again without touching the daemon.

Requests:

- ``{"op": "voices"}`` -> ``{"ok": true, "voices": ["sit/cmn-latn-pinyin", ...]}``
- ``{"op": "synth", "text": T, "voice": V, "rate": R, "volume": F, "path": P}`` -> ``{"ok": true, "voice": ID}``
  after the WAV file ``P`` holds ``T`` spoken; ``{"ok": false, "error": "..."}`` otherwise.

The ready line ``{"ok": true, "ready": true, "pid": N, "pyttsx3": "2.99"}`` names the pyttsx3 version in use.

pyttsx3 2.99's traps are avoided here: one engine in one thread; exactly one ``save_to_file`` per
``runAndWait`` (queued files get mixed up); never an empty run (it re-speaks the last text); every job writes
a fresh path that the daemon names, so an old file can never pass for a new one.

pyttsx3's internals this module relies on (hence ``pyttsx3==2.99`` exactly in pyproject.toml, each checked by
``tests/test_canaries.py``, which names the one that changed; re-check them before moving the pin):

- ``pyttsx3.drivers._espeak``: ``Initialize(output, buflength)`` with ``AUDIO_OUTPUT_SYNCHRONOUS``,
  ``SetSynthCallback(cb)``, the ctypes ``EVENT`` structure's ``type`` and ``EVENT_MSG_TERMINATED`` /
  ``EVENT_LIST_TERMINATED`` — to set espeak-ng up synchronously and to end a message as pyttsx3 expects;
- ``EspeakDriver._moduleInitialized`` and ``EspeakDriver._defaultVoice`` — pyttsx3's once-per-process guard,
  which must make ``EspeakDriver.__init__`` skip its own ``Initialize`` in retrieval mode;
- ``engine.proxy._driver`` (the ``EspeakDriver`` of an engine) and its ``_onSynth(wav, numsamples, events)``
  callback, which writes the WAV on "message terminated" and sends "finished-utterance".
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import threading
import wave

# pyttsx3 2.99 sets espeak-ng up in retrieval mode, where synthesis runs on espeak-ng's own thread: runAndWait
# may return before the WAV is written, and under load a job's file comes out empty (seen here in about 1 job
# in 10 with both cores busy: the next job's start cancels the end of the last). The worker therefore sets
# espeak-ng up itself in synchronous mode before pyttsx3 does, so each job is synthesized whole, in order, in
# this thread, inside runAndWait. Synchronous espeak-ng ends a message with an empty callback instead of the
# "message terminated" event pyttsx3 waits for to write its file; ``_synchronous_callback`` adds that event.
FINISH_TIMEOUT_S = 60.0


def init_engine():
    """A pyttsx3 espeak engine whose espeak-ng runs synchronously in this thread (see above)."""
    import pyttsx3
    from pyttsx3.drivers import _espeak
    from pyttsx3.drivers.espeak import EspeakDriver

    if not EspeakDriver._moduleInitialized:  # noqa: SLF001 - pyttsx3's own once-per-process guard
        if _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000) == -1:
            raise RuntimeError("could not initialize espeak-ng")
        EspeakDriver._defaultVoice = "gmw/en"  # noqa: SLF001
        EspeakDriver._moduleInitialized = True  # noqa: SLF001
    engine = pyttsx3.init("espeak")
    _espeak.SetSynthCallback(_synchronous_callback(engine.proxy._driver, _espeak))  # noqa: SLF001
    return engine


def _synchronous_callback(driver, espeak):
    """Wrap the driver's synth callback: after the last (empty) callback of a message, deliver the
    "message terminated" event, upon which pyttsx3 writes the WAV and ends runAndWait's loop."""
    terminated = (espeak.EVENT * 2)()
    terminated[0].type = espeak.EVENT_MSG_TERMINATED
    terminated[1].type = espeak.EVENT_LIST_TERMINATED

    def on_synth(wav, numsamples, events):
        driver._onSynth(wav, numsamples, events)  # noqa: SLF001
        if numsamples == 0 and events[0].type == espeak.EVENT_LIST_TERMINATED:
            driver._onSynth(None, 0, terminated)  # noqa: SLF001
        return 0
    return on_synth


def _voice_ids(engine) -> list[str]:
    return [v.id for v in engine.getProperty("voices")]


def synth(engine, finished: threading.Event, request: dict) -> dict:
    """Speak ``request["text"]`` into ``request["path"]`` with the voice, rate and volume asked for.

    ``finished`` is set by the engine's "finished-utterance" notice."""
    text, path = request["text"], request["path"]
    if not text.strip():
        return {"ok": False, "error": "nothing to say (an empty run would repeat the last text)"}
    finished.clear()
    engine.setProperty("voice", request["voice"])
    engine.setProperty("rate", int(request["rate"]))
    engine.setProperty("volume", float(request["volume"]))
    engine.save_to_file(text, path)
    engine.runAndWait()
    if not finished.wait(FINISH_TIMEOUT_S):
        return {"ok": False, "error": f"the engine did not finish within {FINISH_TIMEOUT_S:g} s"}
    try:
        with wave.open(path, "rb") as wav:
            frames = wav.getnframes()
    except (OSError, EOFError, wave.Error) as exc:
        return {"ok": False, "error": f"the engine wrote no readable WAV: {exc}"}
    if frames == 0:
        return {"ok": False, "error": "the engine wrote an empty WAV"}
    return {"ok": True, "voice": engine.getProperty("voice"), "frames": frames}


def serve(engine, requests, answer) -> None:
    """Answer each request line until stdin closes."""
    finished = threading.Event()
    engine.connect("finished-utterance", lambda **_notice: finished.set())
    for line in requests:
        try:
            request = json.loads(line)
            if request.get("op") == "voices":
                reply = {"ok": True, "voices": _voice_ids(engine)}
            elif request.get("op") == "synth":
                reply = synth(engine, finished, request)
            else:
                reply = {"ok": False, "error": f"unknown op {request.get('op')!r}"}
        except Exception as exc:  # noqa: BLE001 - the daemon decides; the worker reports and carries on
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        answer.write(json.dumps(reply, ensure_ascii=False) + "\n")
        answer.flush()


def main() -> None:
    """Keep fd 1 for answers only, start one engine, serve."""
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever the engine or libespeak-ng prints lands on stderr, not in the answers
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - pyttsx3's "Audio saved to" chatter
    engine = init_engine()  # pyttsx3 is imported there, so an import failure is this process's, not the daemon's
    ready = {"ok": True, "ready": True, "pid": os.getpid(), "pyttsx3": importlib.metadata.version("pyttsx3")}
    answer.write(json.dumps(ready) + "\n")
    answer.flush()
    serve(engine, sys.stdin, answer)


if __name__ == "__main__":
    main()
