"""The voice: from ``POST /counters/{id}/next`` to the announcement's audio ready to play, and the API's own
latency when the voice is slow or down.

Against the real daemon with the default hall (pyttsx3 + espeak-ng; on a PC without a sound device "ready" is
the moment the announcement's WAV file is written, which the device list reports as ``ready_at``).
Targets (issue 5): <= 300 ms p99 for an uncached phrase, <= 20 ms p99 from the cache; the API's latency must
not change when speech is slow or down.

Each ticket is called (an uncached phrase), recalled (the recall's words: also uncached) and recalled again
(both sentences now come from the clip cache); each announcement is awaited before the next press, so the
figures hold no queueing.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import tomlkit

from common import Client, Daemon, summary_ms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
DEFAULT = Path(__file__).resolve().parent.parent / "config" / "hall.toml"


def voice_state(client: Client) -> dict:
    """The voice's entry in GET /devices."""
    status, body = client.request("GET", "/api/v1/devices", auth=True)
    return next(d for d in json.loads(body)["devices"] if d["kind"] == "speech")


def press_and_wait(client: Client, counter: int, action: str, announced: int) -> float:
    """Press ``action`` at ``counter``; wait for announcement number ``announced + 1``; return press -> ready."""
    start = time.time()
    client.timed("POST", f"/api/v1/counters/{counter}/{action}", auth=True)
    deadline = time.monotonic() + 30
    while True:
        state = voice_state(client)
        if state["announced"] > announced:
            return state["last_announcement"]["ready_at"] - start
        if time.monotonic() > deadline:
            raise RuntimeError(f"no announcement: {state}")
        time.sleep(0.005)


def readiness(tickets: int = 200) -> list[dict]:
    """Uncached (call, first recall) and cached (second recall) press-to-ready latencies."""
    uncached, cached = [], []
    with Daemon() as daemon:
        client = daemon.client()
        for _ in range(tickets):
            client.timed("POST", "/api/v1/tickets", {"service": "general"})
        announced = 0
        for i in range(tickets):
            counter = i % 5 + 1
            for action, samples in (("next", uncached), ("recall", uncached), ("recall", cached)):
                samples.append(press_and_wait(client, counter, action, announced))
                announced += 1
            client.timed("POST", f"/api/v1/counters/{counter}/finish", auth=True)
        state = voice_state(client)
    return [{"benchmark": "next/recall -> audio ready, uncached phrase", **summary_ms(uncached[5:])},
            {"benchmark": "recall -> audio ready, from the clip cache", **summary_ms(cached[5:]),
             "cache": state["cache"], "fallbacks": state["fallbacks"], "engine_restarts": state["engine_restarts"]}]


def config_with_voice(folder: str, voice: dict) -> str:
    """A copy of the default config whose voice device is ``voice``; returns its path."""
    cfg = tomllib.loads(DEFAULT.read_text(encoding="utf-8"))
    cfg["devices"] = [d for d in cfg["devices"] if d["kind"] != "speech"] + [
        {"name": "voice", "kind": "speech", **voice}]
    path = Path(folder) / "hall.toml"
    path.write_text(tomlkit.dumps(cfg), encoding="utf-8")
    return str(path)


def api_latency(label: str, voice: dict, freeze: bool, calls: int = 1500, warmup: int = 100) -> dict:
    """``next`` latency with ``calls`` presses in a row (the voice falls behind: slow speech); with
    ``freeze`` the engine process is stopped first (speech down: every job hangs until its timeout)."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-cfg-") as folder:
        with Daemon(config=config_with_voice(folder, voice)) as daemon:
            client = daemon.client()
            for _ in range(warmup + calls):
                client.timed("POST", "/api/v1/tickets", {"service": "general"})
            if freeze:
                client.timed("POST", "/api/v1/devices/voice/test", auth=True)
                deadline = time.monotonic() + 10
                while not voice_state(client).get("engine_pid") and time.monotonic() < deadline:
                    time.sleep(0.01)
                os.kill(voice_state(client)["engine_pid"], signal.SIGSTOP)
            samples = []
            for i in range(warmup + calls):
                t = client.timed("POST", f"/api/v1/counters/{i % 5 + 1}/next", auth=True)
                if i >= warmup:
                    samples.append(t)
            state = voice_state(client)
    extra = {k: state.get(k) for k in ("dropped", "fallbacks", "engine_restarts", "last_error") if k in state}
    return {"benchmark": f"next latency, {label}", **summary_ms(samples), **extra}


def run() -> list[dict]:
    """Readiness figures, then the API's latency with a simulated, a real-but-behind and a hung voice."""
    return readiness() + [
        api_latency("simulated voice (baseline)", {"type": "simulated"}, freeze=False),
        api_latency("espeak voice falling behind", {"type": "espeak"}, freeze=False),
        api_latency("espeak engine hung (SIGSTOP, 30 s timeout)",
                    {"type": "espeak", "options": {"engine_timeout_s": 30.0}}, freeze=True),
    ]


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
