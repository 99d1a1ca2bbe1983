"""Run every benchmark under bench/ and print its figures.

Usage: ``make bench`` (or ``python bench/run_all.py [NAME ...]`` to run some of
them, e.g. ``bench_load``). Each benchmark runs with its own defaults (run one
directly to pass it flags). Each benchmark prints
ratios against a reference measured in the same run; none of them asserts a
time, so they can never make the test suite flaky.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    "bench_load.py",
    "bench_train.py",
    "bench_quality.py",
    "bench_explain.py",
    "bench_predict.py",
    "bench_onnx.py",
    "bench_guards.py",
    "bench_bundles.py",
    "bench_tables.py",
    "bench_cold_start.py",
    "bench_app_train.py",
    "bench_sessions.py",
    "bench_time_features.py",
]


def main() -> int:
    here = Path(__file__).resolve().parent
    status = 0
    wanted = [a if a.endswith(".py") else f"{a}.py" for a in sys.argv[1:]] or BENCHES
    for name in wanted:
        print(f"== {name}", flush=True)
        status |= subprocess.call([sys.executable, str(here / name)])
    return status


if __name__ == "__main__":
    sys.exit(main())
