"""What ``kiosk run`` prints as it starts (``make run`` in a technician's terminal): a short log, the effective
config in full only at debug level, and the banner with the URLs and the token last, at the bottom."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

from daemon import KIOSK
from kiosk import settings
from util import wait_until

BANNER_START = "Hall controller running at "
BANNER_END = "simulator pages)"  # the banner's last line, whether the token is shown or not


class Started:
    """``kiosk run`` with its stderr (the log) and stdout (the banner) in one pipe, so their lines keep the
    order a terminal shows them in; every line is collected by a thread of its own."""

    def __init__(self, data_dir, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen([KIOSK, "run", "--data-dir", str(data_dir), "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> list[str]:
        """SIGTERM, wait for the exit and the last line; return every line printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(15)
        self._reader.join(5)
        return self.lines


def default_counts() -> str:
    """The part counts of the default hall, as the summary line names them."""
    cfg = settings.parse_toml(settings.default_text())
    return (f"services {len(cfg['services'])}, counters {len(cfg['counters'])}, devices {len(cfg['devices'])}, "
            f"buses {len(cfg['buses'])}")


def test_the_start_log_is_short_and_the_banner_with_the_urls_comes_last(tmp_path):
    """Situation: a technician starts the default hall on a new data dir, under a systemd watchdog (whose
    period is logged at start).
    Action: ``kiosk run``; once the banner is out, the hall is stopped with SIGTERM.
    Outcome: the config is one short summary line (its source, the hall's name, how many services, counters,
    devices and buses), not the whole effective config; no log line is longer than a wide terminal's two
    rows; the watchdog's line comes before the banner; the banner (URLs, data directory, token) is the last
    thing printed before the stop's own lines."""
    started = Started(tmp_path / "data", env={"WATCHDOG_USEC": "30000000", "KIOSK_LOG_LEVEL": "INFO"})
    try:
        wait_until(lambda: any(BANNER_END in line for line in started.lines) or started.proc.poll() is not None,
                   timeout=30)
    finally:
        lines = started.stop()
    assert any(BANNER_END in line for line in lines), "\n".join(lines)
    first = next(i for i, line in enumerate(lines) if line.startswith(BANNER_START))
    last = next(i for i, line in enumerate(lines) if BANNER_END in line)
    before, banner, after = lines[:first], lines[first:last + 1], lines[last + 1:]
    assert [line for line in before if "config from the default config (config/hall.toml): hall 客户服务中心; "
            f"{default_counts()}" in line], before
    assert any("systemd watchdog every 30.0 s" in line for line in before), before
    assert not any("effective config" in line for line in lines)
    assert max(len(line) for line in lines) <= 240, max(lines, key=len)
    assert any(line.strip().startswith("technician token:") for line in banner), banner
    assert any(line.strip().startswith("data directory:") for line in banner), banner
    assert after and "signal SIGTERM: stopping" in after[0], after


def test_at_debug_level_the_effective_config_is_logged_in_full(tmp_path):
    """Situation: a technician looking into a problem starts the hall with ``--log-level DEBUG``.
    Action: ``kiosk run``, stopped once its banner is out.
    Outcome: the log holds the whole effective config, every default filled in, as one JSON line."""
    started = Started(tmp_path / "data", env={"KIOSK_LOG_LEVEL": "DEBUG"})
    try:
        wait_until(lambda: any(BANNER_END in line for line in started.lines) or started.proc.poll() is not None,
                   timeout=30)
    finally:
        lines = started.stop()
    logged = [line.split("effective config: ", 1)[1] for line in lines if "effective config: " in line]
    assert [json.loads(text) for text in logged] == [settings.parse_toml(settings.default_text())]
