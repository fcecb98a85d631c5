"""Shared fixtures: a real hall on a temp SQLite file, its Flask client, tokens, and the live production server."""
from __future__ import annotations

import copy
import datetime as dt
import importlib
import os
import subprocess
import threading
import zoneinfo

import pytest

from kiosk import settings, tokens
from kiosk.api import create_app
from kiosk.clock import ManualClock
from kiosk.hall import Hall
from kiosk.server import HallServer
from kiosk.store import connect
from kiosk.web.limits import Limits

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23 10:00 in the hall: well inside a business day that starts at 06:00.
MORNING = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI).timestamp()


# The default config's virtual RS-485 bus, with timings short enough that a test sees a display go offline
# and come back within a fraction of a second (the defaults are for a real 9600-baud line).
FAST_BUS = {"timeout_ms": 20, "retries": 1, "offline_after": 2, "ping_ms": 100, "poll_ms": 20}

# What the hall reads from the environment (``kiosk run``'s settings, the service manager's protocol): the tests
# set these where they mean to, so none may come in from the shell that runs them.
HALL_ENVIRONMENT = ("KIOSK_", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")


def pytest_configure(config):
    """Before any test, in every process of the run: drop the hall's environment variables (a developer's
    KIOSK_CONFIG would change every daemon a test starts), and import python-escpos once. Its first import writes
    a capabilities cache (a pickle, one folder per user) with no care for a process reading it meanwhile;
    imported here it is written by the run's first process (pytest-xdist's controller, before it starts the
    workers), so no worker or daemon of the tests reads it half-written on a new machine."""
    for name in [n for n in os.environ if n.startswith(HALL_ENVIRONMENT)]:
        del os.environ[name]
    importlib.import_module("kiosk.drivers.escpos_lib")


def default_config() -> dict:
    """A fresh copy of the default hall config (validated), its virtual bus on the tests' fast timings."""
    cfg = settings.parse_toml(settings.default_text())
    for bus in cfg["buses"]:
        bus.update(FAST_BUS)
    return cfg


@pytest.fixture
def config(request) -> dict:
    """The default config, to be changed by a test before the hall starts.

    A test may pass a function that changes it with ``hall_config(change)`` (tests/util.py)."""
    cfg = default_config()
    change = getattr(request, "param", None)
    if change is not None:
        change(cfg)
    return cfg


@pytest.fixture
def clock() -> ManualClock:
    """A clock standing at 10:00 on a business day; tests move it."""
    return ManualClock(MORNING)


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MiB tmpfs at a fresh folder, unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the tests run as root in CI)")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], check=True)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True)


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
    """The hall served by its production server (kiosk/web) on a free loopback port, in a thread; yields the base URL."""
    server = HallServer(hall, "127.0.0.1", 0, threads=16)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.url
    server.close()
    thread.join(5)


@pytest.fixture
def serve(hall):
    """Serve ``hall`` on a free loopback port with chosen settings: ``serve(threads=2, max_streams=40,
    client_streams=None, limits=Limits(...), **app_config)`` returns the started server (stopped at the end).
    ``client_streams`` defaults to ``max_streams``: every test client is on loopback."""
    servers = []

    def start(threads: int = 4, max_streams: int = 40, client_streams: int | None = None,
              limits: Limits | None = None, **app_config) -> HallServer:
        server = HallServer(hall, "127.0.0.1", 0, threads=threads, max_streams=max_streams,
                            client_streams=client_streams or max_streams, limits=limits)
        server.app.config.update(app_config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.close()
        thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's), shared by every screen test of the session."""
    from playwright.sync_api import sync_playwright

    from browser import launch
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live):
    """Open a page of the live hall in its own browser context: ``open_page("/kiosk", KIOSK)``.

    A script error or a Content-Security-Policy violation on the page fails the test."""
    from browser import watch
    contexts, errors = [], []

    def do(path: str, viewport: dict):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        watch(page, path, errors)
        page.goto(live + path)
        return page
    yield do
    for context in contexts:
        context.close()
    assert not errors, errors


@pytest.fixture
def press(client, token):
    """Press a button at a counter as its clerk: ``press(1, "next")``, ``press(1, "call", ticket=7)``."""
    headers = {}

    def do(cid: int, action: str, **body):
        if cid not in headers:
            headers[cid] = token("counter", cid)
        return client.post(f"/api/v1/counters/{cid}/{action}", json=body or None, headers=headers[cid])
    return do


@pytest.fixture
def take(client, token):
    """Take a ticket: ``take("general")``, ``take("claims", "vip")``, ``take("general", "starlight", "SL0001")``.

    VIP tickets are issued by the guide desk; the others at the kiosk. Returns the ticket (201 required)."""
    guide = {}

    def do(service: str = "general", priority: str = "normal", agent_code: str | None = None) -> dict:
        body = {"service": service, "priority": priority}
        if agent_code is not None:
            body["agent_code"] = agent_code
        headers = guide.setdefault("h", token("guide")) if priority == "vip" else None
        resp = client.post("/api/v1/tickets", json=body, headers=headers)
        assert resp.status_code == 201, resp.json
        return resp.json
    return do


@pytest.fixture
def read(client):
    """Read a ticket as the public sees it: ``read(ticket)``."""
    return lambda t: client.get(f"/api/v1/tickets/{t['id']}").json
