"""Benchmark: a CSV bigger than a session's memory, profiled, trained on a sample and scored whole.

Generates (or reuses) a CSV of ``--gb`` gigabytes in a temporary folder: an id, three numbers, a
whole number, two categories, a date, 10 % of cells missing in five columns, and a binary target
('churn', about 20 % yes) that depends on the other columns. Then, as the app does with a file above
``NOCODE_BIG_FILE_MB``:

1. **profile**: :func:`core.loading.lazy.open_big` (exact rows and missing counts in one streaming
   pass, then a seeded sample typed by the normal reader) and :func:`core.profiling.profile` on it;
2. **stratified sample**: :func:`core.loading.lazy.training_sample` by the target (exact class counts
   from a scan, each class's share kept);
3. **training**: a fast model (histogram gradient boosting) and the baseline through
   :class:`core.training.TrainingJob` on the embedded Dask cluster, on that sample;
4. **scoring**: every row of the file with :func:`core.scoring.score_file` (chunks, written as
   they come).

Each step prints its wall time and the peak resident memory of this process plus its children (the
cluster's workers), sampled every 0.05 s with psutil in a thread, all of it and without the file pages
polars maps (resident but the page cache's: the kernel takes them back under pressure); the reference is polars counting
the file's rows (``scan_csv().select(pl.len())``) in the same run. Figures are printed, never asserted.
Goal (issue 14): peak memory under 4 GB for a 5 GB file on the 2-core, 24 GB machine.

Usage: ``python bench/bench_big.py [--gb 5] [--folder /tmp/nocode-bench-big] [--keep] [--score-seconds 0]``
(develop with ``--gb 0.2``; the 5 GB file takes about 6 GB of disk with its scored copy, removed unless
``--keep``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = "churn"
CHUNK_ROWS = 1_000_000


class PeakRss:
    """Peak resident memory of this process and its children, sampled in a thread: all of it, and without the
    file pages polars maps (``rss - shared``: what the process itself allocated; mapped pages of a file are
    the page cache's, given back under pressure)."""

    def __init__(self, every: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._every = every
        self._peak = (0, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def sample(self) -> tuple[int, int]:
        """(resident, resident without shared file pages) in bytes, summed over the process and its children."""
        import psutil

        rss = own = 0
        for proc in [self._process, *self._process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a worker that just ended
                info = proc.memory_info()
                rss += info.rss
                own += info.rss - getattr(info, "shared", 0)
        return rss, own

    def now(self) -> int:
        return self.sample()[0]

    def _watch(self) -> None:
        while not self._stop.is_set():
            rss, own = self.sample()
            self._peak = (max(self._peak[0], rss), max(self._peak[1], own))
            time.sleep(self._every)

    def reset(self) -> None:
        self._peak = self.sample()

    def peak(self) -> tuple[int, int]:
        rss, own = self.sample()
        return max(self._peak[0], rss), max(self._peak[1], own)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def make_pool(rows: int, rng):
    """``rows`` distinct rows of every column but the id (a polars table): chunks are drawn from it."""
    import numpy as np
    import polars as pl

    cities = np.array(["Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux, Gironde", "Nice"])
    plans = np.array(["basic", "plus", "pro"])
    tenure = rng.integers(0, 120, rows)
    spend = rng.gamma(2.0, 40.0, rows).round(2)
    calls = rng.poisson(2.0, rows)
    plan = rng.choice(plans, rows, p=[0.5, 0.35, 0.15])
    logit = -1.2 - 0.02 * tenure + 0.35 * calls - 0.004 * spend + np.where(plan == "basic", 0.5, 0.0)
    signup = pl.Series("signup", np.datetime64("2019-01-01") + rng.integers(0, 1800, rows)).cast(pl.String)
    frame = pl.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_spend": spend,
            "support_calls": calls,
            "satisfaction": rng.normal(3.5, 1.0, rows).round(1),
            "city": rng.choice(cities, rows),
            "plan": plan,
            "churn": np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no"),
        }
    ).with_columns(signup)
    gaps = {c: rng.random(rows) < 0.1 for c in ("monthly_spend", "support_calls", "satisfaction", "city", "signup")}
    return frame.with_columns(
        pl.when(pl.Series(mask)).then(None).otherwise(pl.col(c)).alias(c) for c, mask in gaps.items()
    ).select("tenure_months", "monthly_spend", "support_calls", "satisfaction", "city", "plan", "signup", "churn")


def make_csv(path: Path, gb: float, seed: int = 7) -> int:
    """Write about ``gb`` gigabytes of rows to ``path``, a chunk at a time; the rows written.

    Each chunk is :data:`CHUNK_ROWS` rows drawn at random from a pool of distinct rows, with a new
    customer id each (drawing from a pool writes a 5 GB file in minutes, not an hour, on busy cores).
    """
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    pool = make_pool(CHUNK_ROWS, rng)
    goal = gb * 1e9
    written = rows = 0
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as out:
        while written < goal:
            picked = pool[rng.integers(0, pool.height, CHUNK_ROWS)]
            chunk = picked.insert_column(0, pl.Series("customer_id", np.arange(rows, rows + CHUNK_ROWS)))
            data = chunk.write_csv(include_header=rows == 0).encode()
            out.write(data)
            written += len(data)
            rows += CHUNK_ROWS
    tmp.rename(path)
    return rows


def timed(label: str, rss: PeakRss, reference: float | None, work):
    rss.reset()
    started = time.perf_counter()
    result = work()
    took = time.perf_counter() - started
    ratio = f" ({took / reference:.1f}× polars counting the rows)" if reference else ""
    peak, own = rss.peak()
    print(
        f"{label:34s} {took:8.1f} s{ratio}   peak RSS {peak / 1e9:5.2f} GB (without mapped file pages {own / 1e9:5.2f} GB)",
        flush=True,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=5.0, help="size of the generated CSV in gigabytes")
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "nocode-bench-big"))
    parser.add_argument("--keep", action="store_true", help="keep the scored file")
    parser.add_argument("--score-seconds", type=float, default=0, help="stop scoring after this long (0: all rows)")
    parser.add_argument("--memory-mb", type=float, default=4096, help="the session's memory (NOCODE_SESSION_MEMORY_MB)")
    args = parser.parse_args()

    import polars as pl

    from core import engine
    from core.big_files import ScratchDir
    from core.cleaning import CleaningPlan
    from core.loading.lazy import open_big, training_sample
    from core.predict import usable_from_training
    from core.profiling import profile
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import Task
    from core.training import ModelRun, TrainedModel, TrainingJob, TrainSetup, make_request

    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"big-{args.gb:g}gb.csv"
    rss = PeakRss()
    print(
        f"bench_big: {args.gb:g} GB CSV in {folder} · session memory {args.memory_mb:,.0f} MB · {os.cpu_count()} cores"
    )
    print("(timings on shared, busy cores are noisy)\n")
    if not path.exists():
        rows = timed("generate the CSV", rss, None, lambda: make_csv(path, args.gb))
        print(f"  {rows:,} rows, {path.stat().st_size / 1e9:.2f} GB")
    size = path.stat().st_size
    rss.reset()
    print(f"{'at rest (this process)':34s} {'':10s}   RSS {rss.now() / 1e9:5.2f} GB")

    def count():
        return pl.scan_csv(path).select(pl.len()).collect(engine="streaming").item()

    started = time.perf_counter()
    total = timed("reference: polars counts the rows", rss, None, count)
    reference = time.perf_counter() - started
    print(f"  {total:,} rows in {size / 1e9:.2f} GB")

    scratch = ScratchDir()

    def lazy_profile():
        ds = open_big(str(path), path.name, scratch=scratch, memory_mb=args.memory_mb)
        roles = effective_roles(infer_roles(ds.frame), {})
        return ds, roles, profile(ds.frame, roles, big=ds.big)

    ds, roles, prof = timed("1. lazy profile (scan + sample)", rss, reference, lazy_profile)
    print(f"  {prof.scope_note}")
    print(f"  sample {ds.n_rows:,} rows · missing cells (exact) {prof.missing_cells:,}")

    sample = timed(
        "2. stratified training sample",
        rss,
        reference,
        lambda first=ds: training_sample(first.big, TARGET, stratify=True, memory_mb=args.memory_mb, like=first.frame),
    )
    shares = sample.frame[TARGET].value_counts(normalize=True).round(4).to_dict()
    print(f"  {sample.big.sample.note()} · class shares {shares}")
    del ds  # the session holds the training sample only from here on

    features = [c for c in sample.frame.columns if c not in (TARGET, "customer_id")]
    setup = TrainSetup(SplitConfig(seed=0), [ModelRun("hist_gradient_boosting_clf", "Gradient boosting", {})], budget=0)

    def train():
        request = make_request(sample.frame, TARGET, Task.BINARY, features, roles, CleaningPlan(), setup)
        job = TrainingJob(request).start()
        job.wait(3600)
        return request, job

    request, job = timed("3. train on the sample (cluster)", rss, reference, train)
    trained = [r for r in job.snapshot().results if isinstance(r, TrainedModel)]
    best = next(r for r in trained if r.key != "baseline")
    print(f"  {best.name}: validation {request.ranking.label} {best.scores.get(request.ranking.key, float('nan')):.3f}")
    print(f"  disclosed: {request.sample_of.trained_note() if request.sample_of else '(not a sample)'}")

    try:
        from core.scoring import score_file
    except ImportError:
        print("4. scoring: core.scoring is not there yet (skipped)")
    else:
        usable = usable_from_training(best, request, path.name)
        out = folder / "scored.csv"
        began = time.perf_counter()

        def enough() -> bool:  # --score-seconds: a bounded look at the rate and the memory
            return bool(args.score_seconds) and time.perf_counter() - began > args.score_seconds

        report = timed(
            "4. score every row (streamed)",
            rss,
            reference,
            lambda: score_file(usable, str(path), str(out), rows_total=total, should_stop=enough),
        )
        print(f"  {report.summary()}")
        if report.partial:
            left = (total - report.rows) / max(report.rows_per_second, 1e-9)
            print(
                f"  stopped after {args.score_seconds:g} s: all {total:,} rows would take about {left / 60:,.0f} min more"
            )
        out = Path(report.out_path)
        if not args.keep:
            out.unlink(missing_ok=True)
    engine.shutdown()
    scratch.close()
    rss.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
