"""Benchmark: scoring rows with a model's ONNX file (onnxruntime) vs the Python pipeline's ``predict``.

Trains models on a house-price table (the bundled ``house_prices`` sample without its date column,
which has no ONNX form, grown to ``--train-rows`` rows by seeded resampling with jitter), exports each
through ``core.portable`` (built and checked as the Predict page does), then scores ``--rows`` new rows
(default 100,000) with

* the reference: ``pipeline.predict(X)`` on the DataFrame, as the app does;
* ONNX: ``onnx_feeds`` (the frame as one array per column) + ``InferenceSession.run``, and the run alone.

Best of ``--repeat``, order rotated; wall seconds and the ratio ONNX / Python (below 1: ONNX is
faster), and the ratio of process CPU seconds (all threads; less disturbed by other work on a shared machine). Also prints each export's build-and-check seconds, file size and largest difference.

Usage: ``python bench/bench_onnx.py [--rows 100000] [--train-rows 5000] [--repeat 3] [--json]``
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

from bench_train import best_of  # noqa: E402

TARGET = "price"
MODELS = [
    ("ridge", "Ridge regression", {}),
    ("lightgbm_reg", "LightGBM", {}),
    ("random_forest_reg", "Random forest", {"n_estimators": 100}),
]


def house_table(rows: int, seed: int):
    """The house-price sample without its date column, resampled to ``rows`` rows with jittered numbers."""
    import numpy as np

    from core.samples import load_sample

    frame = load_sample("house_prices").frame.drop(columns=["listing_date"])
    rng = np.random.default_rng(seed)
    out = frame.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for column in ("area_sqm", "lot_size_sqm", "distance_to_center_km"):
        out[column] = (out[column] * rng.normal(1, 0.05, rows)).round(2)
    out.loc[rng.random(rows) < 0.02, "area_sqm"] = np.nan
    return out


def request_for(frame, key: str, name: str, params: dict):
    from core.cleaning import CleaningPlan
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import Task, default_features
    from core.training import ModelRun, TrainSetup, make_request

    roles = effective_roles(infer_roles(frame), {})
    features = [c for c, (use, _) in default_features(list(frame.columns), roles, TARGET).items() if use]
    setup = TrainSetup(SplitConfig(), [ModelRun(key, name, params)])
    request = make_request(frame, TARGET, Task.REGRESSION, features, roles, CleaningPlan(), setup)
    return request, next(m for m in request.models if m.key == key)


def bench_model(train, new_rows, key: str, name: str, params: dict, repeat: int) -> dict:
    import onnxruntime as ort

    from core.portable.check import onnx_feeds
    from core.portable.exports import portable_exports
    from core.portable.result import ONNX, PortableExport
    from core.predict import check_batch, usable_from_training
    from core.training import train_one

    request, run = request_for(train, key, name, params)
    usable = usable_from_training(train_one(request, run), request, "bench.csv")
    valid, _ = request.xy(request.split.valid)
    start = time.perf_counter()
    exported = next(r for r in portable_exports(usable, valid) if r.format == ONNX)
    build = time.perf_counter() - start
    if not isinstance(exported, PortableExport):
        return {"model": name, "unavailable": exported.reason}
    aligned, _ = check_batch(new_rows, usable.schema)
    session = ort.InferenceSession(exported.data, providers=["CPUExecutionProvider"])
    feeds = onnx_feeds(aligned, exported.inputs, exported.fixes)
    cpu: dict[str, float] = {}
    times = best_of(
        {
            "python": lambda: usable.pipeline.predict(aligned),
            "onnx": lambda: session.run(None, onnx_feeds(aligned, exported.inputs, exported.fixes)),
            "onnx_run": lambda: session.run(None, feeds),
        },
        repeat,
        cpu,
    )
    return {
        "model": name,
        "rows": len(new_rows),
        "python_s": round(times["python"], 4),
        "onnx_s": round(times["onnx"], 4),
        "onnx_run_s": round(times["onnx_run"], 4),
        "ratio": round(times["onnx"] / times["python"], 3),
        "ratio_run_only": round(times["onnx_run"] / times["python"], 3),
        "cpu_ratio": round(cpu["onnx"] / cpu["python"], 3),
        "export_s": round(build, 2),
        "file_kb": round(exported.size / 1024, 1),
        "max_difference": exported.max_difference,
        "rows_checked": exported.rows_checked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--train-rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    train = house_table(args.train_rows, seed=1)
    new_rows = house_table(args.rows, seed=2).drop(columns=[TARGET])
    results = [bench_model(train, new_rows, key, name, params, args.repeat) for key, name, params in MODELS]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Scoring {args.rows:,} rows: onnxruntime vs the Python pipeline (best of {args.repeat})")
    for r in results:
        if "unavailable" in r:
            print(f"  {r['model']:<16} ONNX not offered: {r['unavailable']}")
            continue
        print(
            f"  {r['model']:<16} python {r['python_s']:.3f} s   onnx {r['onnx_s']:.3f} s "
            f"(run alone {r['onnx_run_s']:.3f} s)   ratio {r['ratio']:.2f}x (run alone {r['ratio_run_only']:.2f}x, "
            f"CPU {r['cpu_ratio']:.2f}x)   "
            f"export+check {r['export_s']:.1f} s, {r['file_kb']:,.0f} KB, largest difference {r['max_difference']:.1g} "
            f"on {r['rows_checked']} rows"
        )


if __name__ == "__main__":
    main()
