"""Run every benchmark and print the figures as JSON (copy them into docs/benchmarks.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_bus  # noqa: E402
import bench_config_save  # noqa: E402
import bench_durability  # noqa: E402
import bench_issue  # noqa: E402
import bench_next  # noqa: E402
import bench_printer  # noqa: E402
import bench_screens  # noqa: E402
import bench_throughput  # noqa: E402
import bench_voice  # noqa: E402
from common import machine  # noqa: E402

if __name__ == "__main__":
    results = {"machine": machine(), "issue": bench_issue.run(), "issue_lengths": bench_issue.lengths(),
               "next": bench_next.run(),
               "throughput": bench_throughput.run(), "voice": bench_voice.run(), "bus": bench_bus.run(),
               "printer": [bench_printer.run("network"), bench_printer.run("serial")], "screens": bench_screens.run(),
               "durability": bench_durability.run(), "config_save": bench_config_save.run()}
    json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
    print()
