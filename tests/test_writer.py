"""The single writer: group commit, one operation's failure isolated, and no change after "busy"."""
from __future__ import annotations

import threading

import pytest

from kiosk.errors import Conflict, Unavailable
from kiosk.store import Store
from kiosk.writer import Writer
from util import notes, scratch_writer


@pytest.fixture
def writer(tmp_path):
    """A writer on a real database file with a scratch table."""
    with scratch_writer(tmp_path) as made:
        yield made


def test_a_failing_operation_is_rolled_back_alone_in_its_batch(writer):
    """Three operations queued behind a slow one share a batch; the middle one fails with a 409.

    The other two are committed, the failed one leaves nothing, and its caller gets its own error."""
    w, path = writer
    gate = threading.Event()
    w.submit(lambda tx: gate.wait(5))
    first = w.submit(lambda tx: tx.execute("INSERT INTO notes VALUES ('first')"))

    def failing(tx):
        tx.execute("INSERT INTO notes VALUES ('half-done')")
        raise Conflict("not in that state", code="nope")

    second = w.submit(failing)
    third = w.submit(lambda tx: tx.execute("INSERT INTO notes VALUES ('third')"))
    gate.set()
    first.result(5)
    third.result(5)
    with pytest.raises(Conflict):
        second.result(5)
    assert notes(path) == ["first", "third"]


def test_an_operation_the_writer_could_not_start_in_time_is_cancelled_and_never_runs(writer):
    """While the writer is stuck on a slow change, a caller that gives up gets 503 ``queue_busy``, and the
    change it asked for is never made later."""
    w, path = writer
    gate = threading.Event()
    w.submit(lambda tx: gate.wait(5))
    with pytest.raises(Unavailable) as refused:
        w.run(lambda tx: tx.execute("INSERT INTO notes VALUES ('late')"), timeout=0.2)
    assert refused.value.code == "queue_busy"
    gate.set()
    w.run(lambda tx: None)  # everything queued before this has been handled
    assert notes(path) == []


def test_events_of_a_failed_operation_are_not_published(tmp_path):
    """Events appended by an operation that then fails are dropped with its rollback."""
    published = []
    w = Writer(Store(tmp_path).writer_connection, on_commit=published.extend)
    w.start()
    try:
        def emits_then_fails(tx):
            tx.emit("called", ticket_id=1, counter=1, number="A001")
            raise Conflict("no", code="nope")

        with pytest.raises(Conflict):
            w.run(emits_then_fails)
        w.run(lambda tx: tx.emit("paused", counter=2))
        assert [e["type"] for e in published] == ["paused"]
    finally:
        w.stop()
