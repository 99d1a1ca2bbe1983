"""Benchmark: scoring a file through the Predict page's ``core`` path vs calling the pipeline directly.

Trains a few models on the seeded mixed table of ``bench_train`` (``--train-rows``
rows), then scores ``--rows`` new rows (default 100,000) with

* the page path: ``check_batch`` (align columns, coerce types, report unseen
  categories) + ``predict_frame`` (prediction and class probabilities) +
  ``scored_frame`` (the person's rows with the predictions appended);
* the reference: ``pipeline.predict(X)`` and ``pipeline.predict_proba(X)`` on
  the same frame, which is what a person would write by hand.

Best of ``--repeat``, order rotated; wall and process-CPU ratios (CPU time is
less disturbed by other work on a shared machine). Also reports, outside the ratio, how long
the formula-safe CSV download takes to build, and each model's bundle size
and export/reload times.

Usage: ``python bench/bench_predict.py [--rows 100000] [--repeat 3] [--json]``
Goal: page path <= 1.2x the reference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_train import TARGET, best_of, make_frame, make_request_for  # noqa: E402

MODELS = [
    ("logistic_regression", "Logistic regression", {}),
    ("hist_gradient_boosting_clf", "Histogram gradient boosting", {}),
    ("random_forest_clf", "Random forest", {"n_estimators": 100}),
    ("lightgbm_clf", "LightGBM", {}),
    ("keras_mlp", "Neural network (Keras)", {"epochs": 5}),
]
GOAL = 1.2


def bench_model(train, new_rows, key, name, params, repeat) -> dict:
    from core.export import export_bundle, load_bundle
    from core.predict import check_batch, predict_frame, scored_frame, to_safe_csv, usable_from_training
    from core.training import train_one

    request, run = make_request_for(train, key, name, params)
    model = train_one(request, run)
    usable = usable_from_training(model, request, "bench.csv")
    pipeline = usable.pipeline
    X = new_rows[usable.schema.names]

    def page():
        aligned, _ = check_batch(new_rows, usable.schema)
        return scored_frame(new_rows, predict_frame(usable, aligned))

    def direct():
        pipeline.predict(X)
        pipeline.predict_proba(X)

    cpu: dict[str, float] = {}
    times = best_of({"page": page, "direct": direct}, repeat, cpu)
    scored = page()
    start = time.perf_counter()
    csv = to_safe_csv(scored)
    csv_seconds = time.perf_counter() - start
    start = time.perf_counter()
    bundle = export_bundle(usable)
    export_seconds = time.perf_counter() - start
    start = time.perf_counter()
    load_bundle(bundle)
    load_seconds = time.perf_counter() - start
    return {
        "model": name,
        "page_s": times["page"],
        "direct_s": times["direct"],
        "ratio": times["page"] / times["direct"],
        "cpu_ratio": cpu["page"] / cpu["direct"],
        "csv_s": csv_seconds,
        "csv_mb": len(csv) / 1e6,
        "bundle_mb": len(bundle) / 1e6,
        "export_s": export_seconds,
        "load_s": load_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to score")
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    train = make_frame(args.train_rows, seed=1)
    new_rows = make_frame(args.rows, seed=2).drop(columns=[TARGET])
    results = [bench_model(train, new_rows, *m, args.repeat) for m in MODELS]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"Scoring {args.rows:,} rows (models trained on {args.train_rows:,}); best of {args.repeat}.")
    print(
        f"{'model':30} {'page s':>8} {'direct s':>9} {'ratio':>6} {'CPU':>6}  {'csv s':>6} {'csv MB':>7} {'bundle MB':>9} {'export s':>8} {'load s':>7}"
    )
    for r in results:
        flag = "ok" if r["ratio"] <= GOAL else "MISS"
        print(
            f"{r['model']:30} {r['page_s']:8.3f} {r['direct_s']:9.3f} {r['ratio']:5.2f}x {r['cpu_ratio']:5.2f}x {r['csv_s']:6.2f} "
            f"{r['csv_mb']:7.1f} {r['bundle_mb']:9.2f} {r['export_s']:8.2f} {r['load_s']:7.2f}  {flag} (goal <= {GOAL}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
