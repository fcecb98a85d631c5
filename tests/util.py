"""Small helpers for tests: waiting on the hall's background threads, errors, configs, a full disk."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families


def wait_until(predicate: Callable[[], object], timeout: float = 3.0, interval: float = 0.01):
    """Poll ``predicate`` until it returns something true; fail the test with its last value on timeout."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, f"condition not met within {timeout}s"
    return value


def assert_error(resp, status: int, code: str) -> dict:
    """The answer (a Flask test response) has the status and only the error body, with the given code and a
    message a person can read; returns the error object."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    return body["error"]


def hall_config(change: Callable[[dict], None]):
    """Mark a test to run on a hall whose config is the default one changed by ``change(cfg)``."""
    return pytest.mark.parametrize("config", [change], indirect=True, ids=[change.__name__])


@contextlib.contextmanager
def scratch_writer(data_dir) -> Iterator[tuple]:
    """A started writer on a real database in ``data_dir`` with a scratch table ``notes``: yields (writer, path of
    the database); the writer is stopped at the end."""
    from kiosk.store import Store
    from kiosk.writer import Writer

    store = Store(data_dir)
    writer = Writer(store.writer_connection)
    writer.start()
    writer.run(lambda tx: tx.execute("CREATE TABLE notes (text TEXT)"))
    try:
        yield writer, store.path
    finally:
        writer.stop()


def notes(path) -> list[str]:
    """What a scratch writer's table holds, read from another connection."""
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT text FROM notes ORDER BY rowid")]


def scrape(text: str) -> dict[tuple[str, tuple], float]:
    """Parse a Prometheus exposition (GET /metrics); return {(sample name, sorted labels): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def fill(disk: Path) -> Path:
    """Write a file on ``disk`` until no byte more fits; return it (delete it to free the space)."""
    path = disk / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == 28  # ENOSPC
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    return path
