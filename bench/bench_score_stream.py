"""Benchmark: scoring a whole file in chunks (``core.scoring.score_file``) against reading it whole.

Generates a mixed CSV (numbers, a category, a date, free text; ``--rows`` rows), trains a small model on
its first 5,000 rows, then, each in a fresh subprocess so one run's memory does not hide another's:

* **stream**: ``score_file`` with ``--chunk`` rows per chunk on the whole file;
* **one chunk**: the same on a file of ``--chunk`` rows (the memory one chunk needs);
* **whole** (reference): what the Predict page does with an upload: ``load_file`` of the bytes,
  ``check_batch``, ``predict_frame``, ``scored_frame``, ``to_safe_csv`` (skipped with ``--no-whole``).

Prints seconds, rows per second, CPU seconds (all threads: on a shared machine the wall time depends on
the others' load), peak RSS (``ru_maxrss``) and peak RSS above the process after its
imports and the model (the work's own memory), and the ratios stream / one chunk and stream / whole.
Goal (issue 14): the stream's own memory stays near one chunk's whatever the file's size.

Usage: ``python bench/bench_score_stream.py [--rows 1500000] [--chunk 50000] [--no-whole]
[--model logistic_regression|hist_gradient_boosting_clf|random_forest_clf]``
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1024**2


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """A mixed CSV written in blocks (never held whole)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    block = 200_000
    with open(path, "w", encoding="utf-8") as fh:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            frame = pd.DataFrame(
                {
                    "id": np.arange(start, start + n),
                    "age": rng.integers(18, 90, n),
                    "income": rng.normal(50_000, 15_000, n).round(2),
                    "score": rng.normal(0, 1, n).round(4),
                    "city": rng.choice(["Paris", "Lyon", "Nice", "Lille", "Nantes", "Brest"], n),
                    "joined": (pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), "D")).strftime(
                        "%Y-%m-%d"
                    ),
                    "comment": rng.choice(["fine", "late payment", "new customer", "=SUM(A1)", ""], n),
                }
            )
            frame["churn"] = np.where(frame["income"] / 10_000 + rng.normal(0, 1, n) > 5, "yes", "no")
            frame.to_csv(fh, index=False, header=start == 0)


def train(path: Path, out: Path, model: str = "logistic_regression") -> None:
    from core.loading import load_file
    from core.predict import usable_from_training
    from core.training import run_training
    from tests.conftest import make_training_request

    with open(path, "rb") as fh:
        head = b"".join(fh.readline() for _ in range(5_001))
    data = load_file(head, "train.csv")
    features = ["age", "income", "score", "city", "joined"]
    request = make_training_request(data.frame, "churn", models=[model], features=features)
    trained = next(m for m in run_training(request) if m.name != "Baseline")
    usable = usable_from_training(trained, request, "train.csv")
    out.write_bytes(pickle.dumps(usable))  # our own model, written and read by this benchmark only


def measure(kind: str, model_path: str, path: str, chunk: int) -> dict:
    """In a fresh process: one way of scoring ``path``; seconds and memory."""
    import pandas as pd  # noqa: F401  (imports counted in the base, not in the work)

    import core.scoring as ss
    from core.loading import load_file
    from core.predict import check_batch, predict_frame, scored_frame, to_safe_csv

    with open(model_path, "rb") as fh:
        model = pickle.load(fh)  # written by train() above in this benchmark
    base = _current_mb()
    out = path + f".{kind}.out.csv"
    started, cpu = time.perf_counter(), time.process_time()
    if kind == "whole":
        with open(path, "rb") as fh:
            data = load_file(fh.read(), "file.csv", max_bytes=10**12)
        aligned, _ = check_batch(data.frame, model.schema)
        scored = scored_frame(data.frame, predict_frame(model, aligned))
        Path(out).write_bytes(to_safe_csv(scored))
        rows = len(scored)
    else:
        report = ss.score_file(model, path, out, chunk_rows=chunk)
        rows = report.rows
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    os.remove(out)
    return {"rows": rows, "seconds": seconds, "cpu": cpu, "peak_mb": _rss_mb(), "base_mb": base}


def _child(kind: str, model_path: str, path: str, chunk: int) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.bench_score_stream import measure; "
        f"print(json.dumps(measure({kind!r}, {model_path!r}, {path!r}, {chunk})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--model", default="logistic_regression", help="the catalogue key of the model scored")
    parser.add_argument("--no-whole", action="store_true", help="skip reading the file whole (the reference)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-score-") as folder:
        big, small, model = Path(folder) / "big.csv", Path(folder) / "chunk.csv", Path(folder) / "model.pkl"
        generate(big, args.rows)
        generate(small, args.chunk, seed=1)
        train(big, model, args.model)
        size = big.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size:,.0f} MB; chunk: {args.chunk:,} rows")
        results = {"one chunk": _child("stream", str(model), str(small), args.chunk)}
        results["stream"] = _child("stream", str(model), str(big), args.chunk)
        if not args.no_whole:
            results["whole"] = _child("whole", str(model), str(big), args.chunk)
        for kind, r in results.items():
            print(
                f"{kind:>9}: {r['rows']:>10,} rows  {r['seconds']:7.1f} s  {r['rows'] / r['seconds']:>9,.0f} rows/s  "
                f"(CPU {r['cpu']:6.1f} s, all threads)  "
                f"peak RSS {r['peak_mb']:7,.0f} MB  (work {r['peak_mb'] - r['base_mb']:6,.0f} MB above {r['base_mb']:,.0f} MB)"
            )
        stream, chunk = results["stream"], results["one chunk"]
        work = lambda r: max(1.0, r["peak_mb"] - r["base_mb"])  # noqa: E731
        print(f"stream's own memory / one chunk's: {work(stream) / work(chunk):.2f}x")
        if "whole" in results:
            whole = results["whole"]
            print(
                f"stream / whole: time {stream['seconds'] / whole['seconds']:.2f}x, "
                f"own memory {work(stream) / work(whole):.2f}x"
            )


if __name__ == "__main__":
    main()
