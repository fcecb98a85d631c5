"""Schemathesis over every operation of kiosk/openapi.yaml against the real daemon: no server error, and every
answer as the document says.

The run (tests/schemathesis.toml, hooks in tests/schemathesis_hooks.py) goes through the four phases — the
examples of the document, its coverage cases (boundaries, missing and wrong-typed fields, unknown methods),
random fuzzing, and stateful sequences that follow the links Schemathesis infers (a ticket issued, then called,
recalled, transferred...) — with a fixed seed and a few examples per operation, so it costs a fraction of a
minute. It runs as the ``st`` command in a process of its own, black-box over HTTP like any client.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import requests
import yaml

import kiosk
from daemon import Daemon

HERE = Path(__file__).resolve().parent
ST = str(Path(sys.executable).with_name("st"))
SPEC = Path(kiosk.__file__).with_name("openapi.yaml")
CONFIG = HERE / "schemathesis.toml"


def _roster() -> bytes:
    """A roster with one agent, SL7001, qualified from yesterday for three months (the daemon's clock is real)."""
    today = dt.date.today()
    return (f"agent_code,name,branch,valid_from,valid_until\nSL7001,王小明,haidian,{today - dt.timedelta(days=1)},"
            f"{today + dt.timedelta(days=90)}\n").encode()


def _operations() -> int:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return sum(1 for item in spec["paths"].values() for method in item if method in {"get", "put", "post", "delete"})


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(tmp_path):
    """Situation: `kiosk run` on a fresh data dir (the default hall, simulated devices), with a roster holding
    SL7001, signed in with its technician token.
    Action: Schemathesis runs every operation of the OpenAPI document through all four phases, every check on
    (but for schema-valid requests the hall's own rules refuse).
    Outcome: it exits 0 — no 5xx (but a 503 for a device the run itself put out of order), no undocumented
    status, every body, header and content type as documented, no route that ignores its token — having tested
    every operation, and the daemon logged no traceback."""
    log = tmp_path / "kiosk.log"
    daemon = Daemon(tmp_path / "data", log=log).start()
    try:
        api = daemon.url + "/api/v1"
        resp = requests.put(f"{api}/roster/starlight", data=_roster(), timeout=10,
                            headers={**daemon.technician, "Content-Type": "text/csv"})
        assert resp.status_code == 200, resp.text
        config = requests.get(f"{api}/config", headers=daemon.technician, timeout=10).json()
        safe = tmp_path / "safe-config.json"
        safe.write_text(json.dumps({"devices": config["devices"], "buses": config["buses"]}), encoding="utf-8")
        env = {**os.environ, "HALL_URL": daemon.url, "HALL_SAFE_CONFIG": str(safe),
               "HALL_TOKEN": daemon.technician["Authorization"].split(" ", 1)[1],
               "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}
        run = subprocess.run([ST, "--config-file", str(CONFIG), "--no-color", "run", str(SPEC)], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=300)
    finally:
        daemon.stop()
    output = run.stdout + run.stderr
    logged = log.read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0, output[-12000:] + "\n--- kiosk log ---\n" + logged[-4000:]
    operations = _operations()
    assert f"Selected: {operations}/{operations}" in output and f"Tested: {operations}" in output, output[-3000:]
    assert "Stateful (in" in output, output[-3000:]
    assert "Traceback" not in logged, logged[-4000:]
