"""Run every benchmark under bench/ and print its figures.

Usage: ``make bench`` (or ``python bench/run_all.py``). Each benchmark prints
ratios against a reference measured in the same run; none of them asserts a
time, so they can never make the test suite flaky.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = ["bench_load.py", "bench_train.py", "bench_quality.py", "bench_explain.py"]


def main() -> int:
    here = Path(__file__).resolve().parent
    status = 0
    for name in BENCHES:
        print(f"== {name}", flush=True)
        status |= subprocess.call([sys.executable, str(here / name), *sys.argv[1:]])
    return status


if __name__ == "__main__":
    sys.exit(main())
