"""What the durability records of issue 11 cost, in process, on the real disk (no HTTP, so less noise).

- The commit mark (kiosk/commit_mark.py): the writer commits small changes one after another (one batch, one
  fsync each) with no mark, with the mark thread (as shipped: the writer only notes the id), and with the mark
  written on the writer thread after every commit (temp file, fsync, rename, fsync of the folder), the
  alternative the thread avoids.
- The ``printed`` event: ``Hall.issue_ticket`` on the simulated printer as shipped, and with the printer's
  confirmation not stored (what it cost before: one commit less per ticket).

Variants run in interleaved rounds; each figure is the median over the rounds. Run:
``.venv/bin/python benchmarks/bench_durability.py [rounds]``.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import percentile

from kiosk import commit_mark, settings
from kiosk.commit_mark import MarkWriter
from kiosk.hall import Hall
from kiosk.store import Store
from kiosk.writer import Writer

DISK = "/var/tmp"  # not a tmpfs: fsync must reach the disk


def _emit(tx) -> None:
    tx.emit("issued", ticket_id=1, number="A001", service="general", priority="normal")


def writer_commits(mark: str, n: int = 2000) -> tuple[float, float]:
    """p50 and p99 (ms) of ``n`` sequential one-event commits; ``mark`` is none, thread or inline."""
    with tempfile.TemporaryDirectory(dir=DISK) as tmp:
        store = Store(Path(tmp))
        marker = MarkWriter(Path(tmp)).start()

        def inline(events: list[dict]) -> None:
            commit_mark.write(Path(tmp), events[-1]["id"], None)

        def noted(events: list[dict]) -> None:
            marker.note(events[-1]["id"], None)
        on_commit = {"none": None, "thread": noted, "inline": inline}[mark]
        writer = Writer(store.writer_connection, on_commit=on_commit)
        writer.start()
        samples = []
        for i in range(100 + n):
            began = time.perf_counter()
            writer.run(_emit)
            if i >= 100:
                samples.append(time.perf_counter() - began)
        writer.stop()
        marker.stop()  # it wrote nothing unless noted
        store.close()
    return percentile(samples, 50) * 1e3, percentile(samples, 99) * 1e3


def _core_config() -> dict:
    cfg = settings.parse_toml(settings.default_text())
    kinds = {"printer", "counter_display", "hall_display", "dispenser", "speech"}
    cfg["devices"] = [{**d, "type": "simulated", "options": {}} for d in cfg["devices"] if d["kind"] in kinds]
    cfg["buses"] = []
    return settings.validate(cfg)


def issue_tickets(printed: bool, n: int = 1500) -> tuple[float, float]:
    """p50 and p99 (ms) of ``Hall.issue_ticket`` on the simulated printer, with or without the printed event."""
    with tempfile.TemporaryDirectory(dir=DISK) as tmp:
        hall = Hall(tmp, _core_config()).start()
        if not printed:
            hall._confirm_printed = lambda ticket_id: None  # type: ignore[method-assign]  # "before": not stored
        samples = []
        try:
            for i in range(100 + n):
                began = time.perf_counter()
                hall.issue_ticket(("general", "consult", "claims", "changes")[i % 4])
                if i >= 100:
                    samples.append(time.perf_counter() - began)
        finally:
            hall.stop()
    return percentile(samples, 50) * 1e3, percentile(samples, 99) * 1e3


def run(rounds: int = 5) -> dict:
    """Every variant, ``rounds`` interleaved rounds; the median p50 and p99 of each, and the load."""
    runs: dict[str, list[tuple[float, float]]] = {}
    load = [open("/proc/loadavg").read().split()[0]]
    for _ in range(rounds):
        for mark in ("none", "thread", "inline"):
            runs.setdefault(f"writer commit, mark {mark}", []).append(writer_commits(mark))
        for printed in (False, True):
            runs.setdefault(f"issue_ticket, printed event {'on' if printed else 'off'}", []).append(
                issue_tickets(printed))
    load.append(open("/proc/loadavg").read().split()[0])
    return {"benchmark": "durability records", "rounds": rounds, "load_1min_before_after": load,
            **{name: {"p50_ms": round(statistics.median(r[0] for r in rs), 3),
                      "p99_ms": round(statistics.median(r[1] for r in rs), 3)} for name, rs in runs.items()}}


if __name__ == "__main__":
    json.dump(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5), sys.stdout, indent=2)
    print()
