"""The speech engine's own process: pyttsx3 with espeak-ng, one job per ``runAndWait``.

Run as ``python -m kiosk.drivers.tts_worker``. It reads one JSON request per line on stdin and answers one
JSON line on stdout; everything else the engine prints goes to stderr (pyttsx3 2.99 prints "Audio saved to").
The daemon's announcer (:mod:`kiosk.drivers.tts_engine`) owns this process, so a hung or crashed engine is
killed and started again without touching the daemon.

Requests:

- ``{"op": "voices"}`` -> ``{"ok": true, "voices": ["sit/cmn-latn-pinyin", ...]}``
- ``{"op": "synth", "text": T, "voice": V, "rate": R, "volume": F, "path": P}`` -> ``{"ok": true, "voice": ID}``
  after the WAV file ``P`` holds ``T`` spoken; ``{"ok": false, "error": "..."}`` otherwise.

pyttsx3 2.99's traps are avoided here: one engine in one thread; exactly one ``save_to_file`` per
``runAndWait`` (queued files get mixed up); never an empty run (it re-speaks the last text); every job writes
a fresh path that the daemon names, so an old file can never pass for a new one.
"""
from __future__ import annotations

import json
import os
import sys
import wave


def _voice_ids(engine) -> list[str]:
    return [v.id for v in engine.getProperty("voices")]


def synth(engine, request: dict) -> dict:
    """Speak ``request["text"]`` into ``request["path"]`` with the voice, rate and volume asked for."""
    text, path = request["text"], request["path"]
    if not text.strip():
        return {"ok": False, "error": "nothing to say (an empty run would repeat the last text)"}
    engine.setProperty("voice", request["voice"])
    engine.setProperty("rate", int(request["rate"]))
    engine.setProperty("volume", float(request["volume"]))
    engine.save_to_file(text, path)
    engine.runAndWait()
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
    for line in requests:
        try:
            request = json.loads(line)
            if request.get("op") == "voices":
                reply = {"ok": True, "voices": _voice_ids(engine)}
            elif request.get("op") == "synth":
                reply = synth(engine, request)
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
    import pyttsx3  # imported here so that an import failure is this process's, not the daemon's

    engine = pyttsx3.init("espeak")
    answer.write(json.dumps({"ok": True, "ready": True, "pid": os.getpid()}) + "\n")
    answer.flush()
    serve(engine, sys.stdin, answer)


if __name__ == "__main__":
    main()
