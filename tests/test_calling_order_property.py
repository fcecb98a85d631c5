"""The three views of the calling order agree, over random queues and random configs (hypothesis).

A random hall (one to four services; one to four counters, each listing some of them, some on the green
channel; a Starlight credit of 0-30 minutes or "strict") goes through a random morning on a real SQLite store:
tickets of every priority issued at random moments (ties, minute boundaries and credit boundaries included),
counters calling with `next` and by id, transfers to another service and to a named counter, voided tickets,
counters pausing and resuming (so the green channel opens and closes). Then, in that state:

* pressing `next` again and again at each open counter calls exactly that counter's `call_order`;
* every waiting ticket's `ahead` is its rank as docs/queue-rules.md defines it: the fewest tickets before it
  in the `call_order` of the open counters that could call it (of all counters that could, if none is open);
* the wait the kiosk announces for a service is what the next customer of that service is then told.

The queue functions run as the writer runs them (a transaction, a savepoint per operation); each example is
rolled back, so the examples share one store file.
"""
from __future__ import annotations

import copy
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MORNING, default_config
from kiosk import counter_ops, estimates, roster, selection, tickets
from kiosk.errors import HallError
from kiosk.settings import HallConfig, validate
from kiosk.store import Store
from kiosk.writer import Tx

SERVICES = ["general", "consult", "claims", "changes"]
AGENT = "SL0001"
# Moments between two tickets, in seconds: ties, a busy minute, minute boundaries, and the edges of 15- and
# 30-minute credits.
STEPS_S = [0, 0, 0, 0.25, 0.25, 1, 1, 5, 5, 29.5, 59.75, 60, 60.5, 119, 300, 899, 900, 901, 1799, 1800, 1801]
PRIORITY = st.sampled_from(["normal", "normal", "normal", "starlight", "starlight", "vip"])
DEFAULT = default_config()


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    """The writer's connection to a real store, with one Starlight agent on the roster."""
    store = Store(tmp_path_factory.mktemp("order"))
    conn = store.writer_connection()
    conn.execute("BEGIN IMMEDIATE")
    roster.replace(Tx(conn, MORNING), [{"agent_code": AGENT, "name": "Agent", "branch": "haidian",
                                        "valid_from": "2026-01-01", "valid_until": "2026-12-31", "revoked": 0,
                                        "revoked_reason": None}])
    conn.execute("COMMIT")
    yield conn
    conn.close()


@st.composite
def halls(draw) -> HallConfig:
    """A random hall: services, counters with overlapping services, green channels, a credit."""
    services = SERVICES[:draw(st.integers(1, 4))]
    data = copy.deepcopy(DEFAULT)
    data["services"] = [s for s in data["services"] if s["id"] in services]
    template = data["counters"][0]
    data["counters"] = []
    for cid in range(1, draw(st.integers(1, 4)) + 1):
        listed = draw(st.lists(st.sampled_from(services), min_size=1, unique=True))
        data["counters"].append({**copy.deepcopy(template), "id": cid, "name": f"{cid}号窗口",
                                 "name_en": f"Counter {cid}", "services": listed,
                                 "green_channel": draw(st.sampled_from([False, False, True]))})
    for sid in services:  # every service has a counter (the config API refuses to strand anyone)
        if not any(sid in c["services"] for c in data["counters"]):
            data["counters"][0]["services"].append(sid)
    data["priority"]["starlight_credit_minutes"] = draw(st.sampled_from([0, 1, 15, 30, "strict"]))
    data["devices"], data["buses"] = [], []
    return HallConfig(validate(data))


KINDS = st.sampled_from(["issue"] * 10 + ["next"] * 3 + ["transfer"] * 2 + ["call", "void", "pause", "resume"])


@st.composite
def steps(draw, cfg: HallConfig) -> list[tuple]:
    """20-80 random operations on the hall ``cfg``, about half of them new tickets."""
    counter = st.sampled_from(sorted(cfg.counters))
    service = st.sampled_from(sorted(cfg.services))
    pick = st.integers(0, 60)
    args = {
        "issue": st.tuples(service, PRIORITY, st.sampled_from(STEPS_S)),
        "next": st.tuples(counter),
        "transfer": st.tuples(counter, service, st.integers(0, 4)),
        "call": st.tuples(counter, pick),
        "void": st.tuples(pick),
        "pause": st.tuples(counter),
        "resume": st.tuples(counter),
    }
    return [(kind, *draw(args[kind])) for kind in (draw(KINDS) for _ in range(draw(st.integers(20, 80))))]


class Morning:
    """Runs queue operations as the writer does: one savepoint each, rolled back alone when refused."""

    def __init__(self, conn: sqlite3.Connection, cfg: HallConfig):
        self.conn, self.cfg, self.now = conn, cfg, MORNING

    def run(self, op, *args):
        self.conn.execute("SAVEPOINT op")
        try:
            result = op(Tx(self.conn, self.now), *args)
        except HallError:
            self.conn.execute("ROLLBACK TO op")
            result = None
        self.conn.execute("RELEASE op")
        return result

    def waiting(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM tickets WHERE status = 'waiting' ORDER BY id").fetchall()

    def step(self, action: str, *args) -> None:
        cfg = self.cfg
        if action == "issue":
            service, priority, pause = args
            self.now += pause
            self.run(tickets.issue, cfg, service, priority, AGENT if priority == "starlight" else None)
        elif action == "next":
            self.run(counter_ops.next_ticket, cfg, args[0])
        elif action == "transfer":
            cid, service, k = args
            targets = [None] + [t for t, c in cfg.counters.items() if service in c["services"]]
            self.run(counter_ops.transfer, cfg, cid, service, targets[k % len(targets)])
        elif action == "call":
            waiting = self.waiting()
            if waiting:
                self.run(counter_ops.call_ticket, cfg, args[0], waiting[args[1] % len(waiting)]["id"])
        elif action == "void":
            waiting = self.waiting()
            if waiting:
                self.run(tickets.void, waiting[args[0] % len(waiting)]["id"], "paper jam")
        else:
            self.run(counter_ops.set_paused, cfg, args[0], action == "pause")

    def calls_of_next(self, cid: int) -> list[int]:
        """Press `next` at one counter until nobody is left for it; the ids it called (then undone)."""
        self.conn.execute("SAVEPOINT probe")
        called = []
        while (tid := counter_ops.next_ticket(Tx(self.conn, self.now), self.cfg, cid)) is not None:
            called.append(tid)
        self.conn.execute("ROLLBACK TO probe")
        self.conn.execute("RELEASE probe")
        return called


@settings(max_examples=500, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_next_call_order_and_ahead_agree_on_random_queues(conn, data):
    """A random hall goes through a random morning (see the module doc). At every open counter, pressing
    `next` until nobody is left calls the tickets of its `call_order` in that order; each waiting ticket's
    `ahead` is its rank (the fewest tickets before it in the lists of the open counters that could call it);
    and each service's announced wait is what a customer taking a ticket of it next is told."""
    cfg = data.draw(halls(), label="hall")
    # `ahead` counts back from the end of a group when fewer than RECENT tickets follow, and from the kept
    # counts per minute otherwise: the small queues here lower RECENT so that both ways are checked.
    recent = estimates.RECENT
    estimates.RECENT = data.draw(st.sampled_from([1, 2, recent]), label="RECENT")
    conn.execute("BEGIN IMMEDIATE")
    try:
        morning = Morning(conn, cfg)
        for step in data.draw(steps(cfg), label="steps"):
            morning.step(*step)
        check_the_views_agree(morning)
    finally:
        conn.execute("ROLLBACK")
        estimates.RECENT = recent


def check_the_views_agree(morning: Morning) -> None:
    conn, cfg = morning.conn, morning.cfg
    green = selection.green_channel_open(conn, cfg)
    paused = selection.paused_counters(conn)
    orders = {cid: [r["id"] for r in selection.call_order(conn, cfg, cid, limit=None)] for cid in cfg.counters}
    for cid, order in orders.items():
        assert [r["id"] for r in selection.call_order(conn, cfg, cid, limit=3)] == order[:3]
        if cid not in paused:
            assert morning.calls_of_next(cid) == order, f"counter {cid}"
    for ticket in morning.waiting():
        could = selection.counters_for(cfg, green, selection.group_of(ticket))
        assert all(ticket["id"] in orders[cid] for cid in could)
        rank = min(orders[cid].index(ticket["id"]) for cid in ([c for c in could if c not in paused] or could))
        assert estimates.ahead_of(conn, cfg, ticket) == rank, f"ticket {ticket['number']}"
    overview = {s["id"]: s for s in estimates.services_overview(conn, cfg)}
    for sid in cfg.services:
        conn.execute("SAVEPOINT probe")
        tid = tickets.issue(Tx(conn, morning.now), cfg, sid)
        new = tickets.get_row(conn, tid)
        waiting_before = sum(1 for t in morning.waiting() if t["service"] == sid) - 1
        assert overview[sid]["waiting"] == waiting_before
        assert overview[sid]["estimated_wait_s"] == estimates.ticket_estimate(conn, cfg, new)[1]
        conn.execute("ROLLBACK TO probe")
        conn.execute("RELEASE probe")
