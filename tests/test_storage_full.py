"""A full disk under the data directory: every change is refused with 503 ``storage_full`` and nothing is half
stored, ``/health`` and ``/metrics`` say so, the kiosk page tells the customer, and the hall carries on by
itself once space is freed.

The disk is a real, small tmpfs mounted for each test (``small_disk`` in conftest.py; the tests run as root, here
and in CI) and filled with a file until the kernel answers ENOSPC (``util.fill``)."""
from __future__ import annotations

import re
import subprocess
import threading

import pytest
import requests
from playwright.sync_api import expect

from browser import KIOSK
from daemon import KIOSK as KIOSK_COMMAND, Daemon
from kiosk.errors import StorageFull
from kiosk.health import Health
from kiosk.store import Store
from util import fill, notes, scratch_writer

API = "/api/v1"


def storage_gauges(url: str) -> dict[str, float]:
    """The storage lines of the daemon's /metrics."""
    text = requests.get(f"{url}/metrics", timeout=5).text
    return {name: float(value) for name, value in re.findall(r"^(hall_storage_\w+) (\S+)$", text, re.M)}


def test_a_full_disk_refuses_tickets_and_calls_with_storage_full_and_the_hall_recovers_when_space_returns(
        small_disk):
    """Situation: the daemon runs with its data directory on a small disk; customers have taken 5 tickets.
    Action: the disk is filled; customers try to take tickets and counter 1 presses next; then the filler file
    is deleted and a customer takes a ticket.
    Outcome: while full, tickets and the call get 503 ``storage_full`` with a message a person understands,
    ``/health`` is 200 ``degraded`` naming the full disk and the data directory, ``/metrics`` has
    ``hall_storage_full 1``; once space is back the next ticket is 201 with the number after the last one told
    (the refused attempts used none up), health and metrics are clear again, and the 5 tickets still wait."""
    data = small_disk / "data"
    daemon = Daemon(data).start()
    try:
        with requests.Session() as s:
            told = [s.post(f"{daemon.url}{API}/tickets", json={"service": "general"}).json() for _ in range(5)]
            filler = fill(small_disk)
            refused = s.post(f"{daemon.url}{API}/tickets", json={"service": "general"})
            assert refused.status_code == 503, refused.text
            error = refused.json()["error"]
            assert error["code"] == "storage_full"
            assert "storage is full" in error["message"] and "nothing was changed" in error["message"]
            call = s.post(f"{daemon.url}{API}/counters/1/next", headers=daemon.technician)
            assert (call.status_code, call.json()["error"]["code"]) == (503, "storage_full")

            health = s.get(f"{daemon.url}/health")
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "degraded" and body["storage"]["full"] is True
            assert body["storage"]["data_dir"] == str(data)
            assert any("full" in p and str(data) in p for p in body["problems"])
            assert storage_gauges(daemon.url)["hall_storage_full"] == 1

            filler.unlink()
            fresh = s.post(f"{daemon.url}{API}/tickets", json={"service": "general"})
            assert fresh.status_code == 201, fresh.text
            assert int(fresh.json()["number"][1:]) == max(int(t["number"][1:]) for t in told) + 1
            body = s.get(f"{daemon.url}/health").json()
            assert body["storage"]["full"] is False and not any("full" in p for p in body["problems"])
            gauges = storage_gauges(daemon.url)
            assert gauges["hall_storage_full"] == 0 and gauges["hall_storage_free_bytes"] > 1_000_000
            for t in told:
                assert s.get(f"{daemon.url}{API}/tickets/{t['id']}").json()["status"] == "waiting"
    finally:
        daemon.stop()


def test_health_sees_space_return_without_anyone_taking_a_ticket(small_disk, make_hall):
    """Situation: a ticket was refused on the full disk, so health reports the disk full.
    Action: the filler is deleted and only /health is asked (nobody takes a ticket).
    Outcome: health reports the disk no longer full (its own probe wrote a row and it committed)."""
    hall = make_hall(data_dir=small_disk / "data")
    filler = fill(small_disk)
    with pytest.raises(StorageFull):
        hall.issue_ticket("general")
    health = Health(hall)
    assert health.check()["storage"]["full"] is True
    filler.unlink()
    result = health.check()
    assert result["storage"]["full"] is False and hall.writer.storage_full is False


@pytest.fixture
def notes_writer(small_disk):
    """A writer on a database on the small disk, with a scratch table ``notes``."""
    with scratch_writer(small_disk / "data") as made:
        yield made


def batch(writer, *ops):
    """Queue ``ops`` behind a gate so that they run in one batch (one transaction); return their futures."""
    gate = threading.Event()
    writer.submit(lambda tx: gate.wait(5))
    futures = [writer.submit(op) for op in ops]
    gate.set()
    return futures


def test_sqlite_rolling_back_the_whole_batch_answers_every_caller_with_storage_full(notes_writer, small_disk):
    """Situation: the disk is full; three changes share one batch, and the middle one writes more than the page
    cache holds, so SQLite must write mid-transaction, fails and rolls the whole transaction back.
    Action: the batch runs.
    Outcome: all three callers get ``storage_full`` (not the first a success, not "no such savepoint"), the
    third never runs outside the transaction, nothing is stored; once space is freed, changes commit again."""
    writer, path = notes_writer
    filler = fill(small_disk)
    futures = batch(writer,
                    lambda tx: tx.execute("INSERT INTO notes VALUES ('before')"),
                    lambda tx: tx.execute("INSERT INTO notes VALUES (zeroblob(20 * 1024 * 1024))"),
                    lambda tx: tx.execute("INSERT INTO notes VALUES ('after')"))
    for future in futures:
        with pytest.raises(StorageFull):
            future.result(10)
    assert writer.storage_full is True
    filler.unlink()
    writer.run(lambda tx: tx.execute("INSERT INTO notes VALUES ('later')"))
    assert notes(path) == ["later"]
    assert writer.storage_full is False


def test_a_commit_that_does_not_fit_answers_every_caller_of_the_batch_with_storage_full(notes_writer, small_disk):
    """Situation: the disk is full; two small changes share a batch. Action: its commit cannot write the WAL.
    Outcome: both callers get ``storage_full``, neither note is stored."""
    writer, path = notes_writer
    fill(small_disk)
    futures = batch(writer, lambda tx: tx.execute("INSERT INTO notes VALUES ('one')"),
                    lambda tx: tx.execute("INSERT INTO notes VALUES ('two')"))
    for future in futures:
        with pytest.raises(StorageFull):
            future.result(10)
    assert notes(path) == []


@pytest.fixture
def hall(small_disk, make_hall, config):
    """The default hall with its data directory on the small disk (for the kiosk page below)."""
    return make_hall(config, data_dir=small_disk / "data")


def test_the_kiosk_page_tells_the_customer_that_the_storage_is_full(open_page, small_disk):
    """Situation: the kiosk page is open and the hall's disk fills up. Action: a customer touches 综合业务.
    Outcome: the page shows the polite storage-full message in Chinese (nothing was done, tell the guide desk)
    instead of a number or a generic error."""
    kiosk = open_page("/kiosk", KIOSK)
    fill(small_disk)
    kiosk.get_by_role("button", name=re.compile("综合业务")).click()
    expect(kiosk.locator("#message")).to_be_visible()
    expect(kiosk.locator("#message-text")).to_have_text(re.compile("存储空间已满.*未完成.*引导台"))
    expect(kiosk.locator("#result")).to_be_hidden()


def test_a_command_on_a_full_disk_says_so_instead_of_a_traceback(small_disk):
    """Situation: a hall's data directory is on a disk that has filled up while the hall was stopped.
    Action: a technician creates a token with the command line. Outcome: it exits 2 saying that the disk is
    full and nothing was changed (``storage_full``), without a Python traceback."""
    data = small_disk / "data"
    Store(data).close()
    fill(small_disk)
    made = subprocess.run([KIOSK_COMMAND, "--log-level", "WARNING", "token", "create", "--role", "guide", "--data-dir",
                           str(data)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 2 and made.stdout == ""
    assert "[storage_full]" in made.stderr and "is full" in made.stderr and "Traceback" not in made.stderr
