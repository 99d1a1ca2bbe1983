"""Benchmark: loading and profiling a large mixed CSV through ``core``.

Generates (once, cached in ``bench/.cache/``) a 1M-row x 20-column mixed CSV
of about 170 MB, then times, in one process and in an alternating order:

* ``core.loading.load_file`` from the bytes an upload hands over (the app's path),
* pandas' C engine reading the file from a path (plain reader),
* polars reading the same bytes (plain reader; the fastest measured here),
* polars reading the bytes *and* converting to a pandas frame (what any
  pandas-based app would have to do with polars),
* ``core.profiling.profile`` of the loaded frame;
* ``core.loading.load_file`` on a second generated file of as many rows whose first column is a
  date and time written day first with numbers ('17/06/2018 10:30': core.dates reads those by its
  own rule, not polars'), against polars reading the bytes and parsing that column with the format
  given (``--dates-only``: this part alone).

Prints best-of-N seconds, the ratio of our path to the fastest plain reader,
and peak memory growth over the file size (each measured in a fresh
subprocess so one reader's memory does not hide another's).

Usage: ``python bench/bench_load.py [--rows 1000000] [--repeat 3] [--dates-only]``
Goals (issue #2): load <= 1.2x the fastest plain reader, memory growth <= 3x
the file size, profile <= 1.5 s. Issue 10: dates parsed without a round trip
through Python objects.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"


def make_csv(rows: int) -> Path:
    """Write the benchmark CSV once (seeded) and return its path."""
    import numpy as np
    import pandas as pd

    path = CACHE / f"mixed_{rows}.csv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    cols: dict[str, object] = {}
    for i in range(8):
        cols[f"num_{i}"] = np.round(rng.normal(100, 30, rows), 3)
    for i in range(4):
        cols[f"int_{i}"] = rng.integers(0, 1_000, rows)
    for i in range(4):
        cols[f"cat_{i}"] = rng.choice(["alpha", "beta", "gamma", "delta", "epsilon"], rows)
    cols["date"] = pd.date_range("2020-01-01", periods=rows, freq="min").strftime("%Y-%m-%d %H:%M")
    cols["flag"] = rng.choice(["yes", "no"], rows)
    words = np.array(
        ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "data", "model", "train", "predict"]
    )
    cols["text"] = [" ".join(w) for w in words[rng.integers(0, len(words), (rows, 8))]]
    cols["customer_id"] = np.arange(rows)
    frame = pd.DataFrame(cols)
    frame.loc[rng.random(rows) < 0.02, "num_0"] = np.nan
    frame.to_csv(path, index=False)
    return path


def make_dates_csv(rows: int) -> Path:
    """Write (once, seeded) a CSV whose first column is a day-first date and time, e.g. '17/06/2018 10:30'."""
    import numpy as np
    import pandas as pd

    path = CACHE / f"dates_{rows}.csv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    minutes = pd.to_timedelta(rng.integers(0, 10 * 365 * 24 * 60, rows), unit="min")
    frame = pd.DataFrame(
        {
            "when": (pd.Timestamp("2015-01-01") + minutes).strftime("%d/%m/%Y %H:%M"),
            "amount": np.round(rng.gamma(2.0, 30.0, rows), 2),
            "qty": rng.integers(1, 20, rows),
            "store": rng.choice(["north", "south", "east", "west"], rows),
        }
    )
    frame.to_csv(path, index=False)
    return path


def _time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _peak_growth(kind: str, path: Path) -> float:
    """Peak RSS growth (bytes) of one read, measured in a fresh subprocess.

    Linux keeps a process's peak RSS across fork/exec, so the child resets its
    high-water mark (``/proc/self/clear_refs``) and reads ``VmHWM`` itself.
    """
    code = f"""
import gc, sys
sys.path.insert(0, {str(ROOT)!r})

def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0

data = open({str(path)!r}, "rb").read()
import pandas, polars, pyarrow  # imports are not the reader's cost
import core.loading
if {kind!r} == "pandas_path":
    del data
gc.collect()
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak to the current RSS
before = status("VmRSS:")
if {kind!r} == "core":
    core.loading.load_file(data, "bench.csv")
elif {kind!r} == "pandas_path":
    pandas.read_csv({str(path)!r})
else:
    polars.read_csv(data)
print(status("VmHWM:") - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def bench_dates(rows: int, repeat: int) -> dict:
    """Load time of the file with a day-first date column, and of polars parsing it with the format given."""
    import polars as pl

    from core.loading import load_file

    data = make_dates_csv(rows).read_bytes()
    when = pl.col("when").str.strptime(pl.Datetime("us"), "%d/%m/%Y %H:%M")
    readers = {
        "core.load_file (bytes)": lambda: load_file(data, "dates.csv"),
        "polars (bytes) + strptime": lambda: pl.read_csv(data).with_columns(when),
    }
    for fn in readers.values():  # warm-up
        fn()
    times = {name: _time(fn, repeat) for name, fn in readers.items()}
    return {
        "rows": rows,
        "file_mb": round(len(data) / 1e6, 1),
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "ratio_vs_polars_strptime": round(times["core.load_file (bytes)"] / times["polars (bytes) + strptime"], 2),
    }


def print_dates(dates: dict) -> None:
    print(
        f"File with a day-first date column ('17/06/2018 10:30'): {dates['rows']:,} rows x 4, {dates['file_mb']:.0f} MB"
    )
    for name, secs in dates["seconds"].items():
        print(f"  {name:30s} {secs:6.3f} s")
    print(f"Load ratio vs polars parsing the dates with the format given: {dates['ratio_vs_polars_strptime']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dates-only", action="store_true", help="only the file with a date column")
    args = parser.parse_args()
    if args.dates_only:
        dates = bench_dates(args.rows, args.repeat)
        if args.json:
            print(json.dumps(dates))
        else:
            print_dates(dates)
        return

    import pandas as pd
    import polars as pl

    from core.loading import load_file
    from core.profiling import profile
    from core.schema import infer_roles

    path = make_csv(args.rows)
    data = path.read_bytes()
    size = len(data)
    polars_to_pandas = lambda: pl.read_csv(data).to_pandas()  # noqa: E731
    readers = {
        "core.load_file (bytes)": lambda: load_file(data, "bench.csv"),
        "pandas C engine (path)": lambda: pd.read_csv(path),
        "pandas C engine (bytes)": lambda: pd.read_csv(io.BytesIO(data)),
        "polars (bytes)": lambda: pl.read_csv(data),
        "polars (bytes) + to_pandas": polars_to_pandas,
    }
    for fn in readers.values():  # warm-up: thread pools, imports, page cache
        fn()
    times = {name: _time(fn, args.repeat) for name, fn in readers.items()}
    dataset = load_file(data, "bench.csv")
    roles_s = _time(lambda: infer_roles(dataset.frame), args.repeat)
    roles = infer_roles(dataset.frame)
    profile_s = _time(lambda: profile(dataset.frame, roles), args.repeat)
    plain = {k: v for k, v in times.items() if k in ("pandas C engine (path)", "polars (bytes)")}
    fastest_name = min(plain, key=plain.get)
    ratio = times["core.load_file (bytes)"] / plain[fastest_name]
    ratio_pandas_frame = times["core.load_file (bytes)"] / min(
        times["pandas C engine (path)"], times["polars (bytes) + to_pandas"]
    )
    memory = {kind: _peak_growth(kind, path) / size for kind in ("core", "pandas_path", "polars")}

    result = {
        "rows": args.rows,
        "file_mb": round(size / 1e6, 1),
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "fastest_plain_reader": fastest_name,
        "ratio_vs_fastest_plain": round(ratio, 2),
        "ratio_vs_fastest_pandas_frame": round(ratio_pandas_frame, 2),
        "infer_roles_s": round(roles_s, 3),
        "profile_s": round(profile_s, 3),
        "peak_memory_growth_x_file": {k: round(v, 2) for k, v in memory.items()},
        "date_file": bench_dates(args.rows, args.repeat),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"File: {args.rows:,} rows x 20 columns, {size / 1e6:.0f} MB (best of {args.repeat})")
    for name, secs in times.items():
        print(f"  {name:30s} {secs:6.3f} s")
    print(f"  {'core.infer_roles':30s} {roles_s:6.3f} s")
    print(f"  {'core.profile':30s} {profile_s:6.3f} s   (goal <= 1.5 s)")
    print(f"Load ratio vs fastest plain reader ({fastest_name}): {ratio:.2f}x   (goal <= 1.2x)")
    print(f"Load ratio vs fastest reader that yields a pandas frame: {ratio_pandas_frame:.2f}x")
    print(
        "Peak memory growth / file size: "
        + ", ".join(f"{k} {v:.2f}x" for k, v in memory.items())
        + "   (goal core <= 3x)"
    )
    print_dates(result["date_file"])


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    main()
