"""Schemathesis hooks for tests/test_schemathesis.py (loaded by the ``st`` process through ``hooks`` in
tests/schemathesis.toml; this file is not a test module).

- ``hall_not_a_server_error`` is Schemathesis's ``not_a_server_error`` with one narrow exception: a 503 whose
  code says a device is not ready is the answer the API documents for that state, and the run itself puts
  devices in it (``simulate`` switches printer faults and unplugs displays). Any other 5xx fails the run.
- ``before_call`` keeps the devices and buses of every ``PUT /config`` those of the daemon as it started, so a
  generated config never points the hall at a printer address or serial URL (no traffic leaves the machine).
"""
from __future__ import annotations

import json
import os
import tomllib

import schemathesis
import tomlkit

DEVICE_NOT_READY = {"printer_unavailable", "device_unavailable", "not_ready"}
SAFE_CONFIG_ENV = "HALL_SAFE_CONFIG"  # a JSON file with the daemon's "devices" and "buses"


def _error_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def hall_not_a_server_error(ctx, response, case) -> None:
    """No 5xx, but for a 503 that says a device is not ready."""
    if response.status_code < 500:
        return
    code = _error_code(response)
    if response.status_code == 503 and code in DEVICE_NOT_READY:
        return
    raise AssertionError(f"Server error {response.status_code} (code {code!r}): {response.text[:300]}")


def _safe_parts() -> dict:
    with open(os.environ[SAFE_CONFIG_ENV], encoding="utf-8") as fh:
        return json.load(fh)


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    """Give a generated config the daemon's own devices and buses."""
    if case.operation.method.upper() != "PUT" or case.operation.path != "/config":
        return
    body = case.body
    if isinstance(body, dict):
        case.body = {**body, **_safe_parts()}
    elif isinstance(body, (str, bytes)):
        try:
            data = tomllib.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return  # not TOML: the hall refuses it whole
        if "devices" in data or "buses" in data:
            case.body = tomlkit.dumps({**data, **_safe_parts()})
