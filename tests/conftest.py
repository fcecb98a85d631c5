"""Shared fixtures: a real hall on a temp SQLite file, its Flask client, tokens, and a live waitress server."""
from __future__ import annotations

import copy
import datetime as dt
import threading
import zoneinfo

import pytest

from kiosk import settings, tokens
from kiosk.api import create_app
from kiosk.clock import ManualClock
from kiosk.hall import Hall
from kiosk.server import HallServer
from kiosk.store import connect

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23 10:00 in the hall: well inside a business day that starts at 06:00.
MORNING = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI).timestamp()


def default_config() -> dict:
    """A fresh copy of the default hall config (validated)."""
    return settings.parse_toml(settings.default_text())


@pytest.fixture
def config() -> dict:
    """The default config, to be changed by a test before the hall starts."""
    return default_config()


@pytest.fixture
def clock() -> ManualClock:
    """A clock standing at 10:00 on a business day; tests move it."""
    return ManualClock(MORNING)


@pytest.fixture
def make_hall(tmp_path, clock):
    """Start halls on a temp data dir (a real SQLite file); all are stopped at the end."""
    halls = []

    def make(cfg: dict | None = None, data_dir=None) -> Hall:
        data = settings.validate(copy.deepcopy(cfg)) if cfg is not None else default_config()
        hall = Hall(data_dir or tmp_path / "data", data, clock=clock).start()
        halls.append(hall)
        return hall

    yield make
    for hall in halls:
        hall.stop()


@pytest.fixture
def hall(make_hall, config) -> Hall:
    """A started hall with the default config (or the test's ``config`` fixture, if overridden)."""
    return make_hall(config)


@pytest.fixture
def client(hall):
    """A Flask test client of the hall's API."""
    return create_app(hall).test_client()


@pytest.fixture
def token(hall):
    """Create a token: ``token("technician")``, ``token("counter", 3)``; returns request headers."""
    def make(role: str, counter: int | None = None) -> dict:
        conn = connect(hall.store.path)
        try:
            value = tokens.create(conn, role, counter)
        finally:
            conn.close()
        return {"Authorization": f"Bearer {value}"}
    return make


@pytest.fixture
def tech(token) -> dict:
    """Headers with a technician token."""
    return token("technician")


@pytest.fixture
def live(hall):
    """The hall served by waitress on a free loopback port, in a thread; yields the base URL."""
    server = HallServer(hall, "127.0.0.1", 0, threads=16)
    thread = threading.Thread(target=server.server.run, daemon=True)
    thread.start()
    yield server.url
    server.close()
    thread.join(5)
