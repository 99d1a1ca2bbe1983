"""Benchmark: time to the default explanation through ``core.explain``, per model family.

Generates a seeded 10,000 × 20 table (16 numeric columns, 3 categoricals, one
yes/no column; a binary target with main effects, an interaction and a
non-linear term), builds the request the app way (``make_request`` with a
default ``CleaningPlan``), trains four models through ``core.training``:

* a full-depth random forest (the catalogue's defaults: 300 trees, no depth limit),
* histogram gradient boosting (defaults),
* logistic regression,
* a small Keras network (two dense layers, 10 epochs),

then, for each, times what the Explain page does by default: ``estimate`` then
``explain(trained, validation rows, training rows)`` — default rows (≤ 1,000),
default method choice (exact TreeSHAP unless it would not fit 10 s, then the
approximate mode). shap is imported before the timers.

Reference, measured in the same run: the raw shap call a person would write
(TreeExplainer / LinearExplainer on the transformed features; for the network,
``shap.PermutationExplainer`` over the estimator on transformed features with a
50-row background and one forward-and-backward pass, like core's default) on a few
rows, extrapolated to the same number of rows. For
the forest the reference is exact TreeSHAP — what the default avoids.

Usage: ``python bench/bench_explain.py [--rows 10000] [--max-rows 1000] [--json]``
Goal: ≤ 10 s per model on a 2-core machine, with the method and rows shown. No assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TARGET = "target"
GOAL_SECONDS = 10.0
SMALL_NET = {
    "layers": (
        {"type": "dense", "units": 32, "activation": "relu"},
        {"type": "dense", "units": 16, "activation": "relu"},
    ),
    "epochs": 10,
    "early_stopping": False,
}
#: (spec key, display name, parameters)
MODELS = [
    ("random_forest_clf", "Random forest (full depth)", {}),
    ("hist_gradient_boosting_clf", "Histogram gradient boosting", {}),
    ("logistic_regression", "Logistic regression", {}),
    ("keras_mlp", "Keras network", SMALL_NET),
]


def make_frame(rows: int, seed: int = 0):
    """A seeded 20-column table with a binary target that depends on a few columns."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {f"x{i:02d}": rng.normal(0, 1, rows) for i in range(16)}
    cols["colour"] = rng.choice(["red", "green", "blue", "grey"], rows)
    cols["city"] = rng.choice([f"city_{i}" for i in range(10)], rows)
    cols["grade"] = rng.choice(list("ABCDE"), rows)
    cols["member"] = rng.choice(["yes", "no"], rows)
    frame = pd.DataFrame(cols)
    logit = (
        1.2 * frame["x00"]
        - 0.8 * frame["x01"]
        + 0.6 * frame["x02"] * frame["x03"]
        + np.sin(2 * frame["x04"])
        + 0.8 * (frame["colour"] == "red")
        + 0.5 * (frame["member"] == "yes")
    )
    frame[TARGET] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.loc[rng.random(rows) < 0.03, "x05"] = np.nan
    return frame


def train(frame):
    """Train the four models the app way; returns (request, {name: TrainedModel})."""
    from core.cleaning import CleaningPlan
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import Task
    from core.training import ModelRun, TrainedModel, TrainSetup, make_request, run_training

    roles = effective_roles(infer_roles(frame), {})
    features = [c for c in frame.columns if c != TARGET]
    runs = [ModelRun(key, name, params) for key, name, params in MODELS]
    setup = TrainSetup(SplitConfig(seed=1), runs)
    request = make_request(frame, TARGET, Task.BINARY, features, roles, CleaningPlan(), setup)
    results = run_training(request)
    return request, {r.name: r for r in results if isinstance(r, TrainedModel) and r.key != "baseline"}


def reference_seconds(trained, X_rows, X_background, rows: int) -> tuple[str, float]:
    """The raw shap call on the transformed features, timed on a few rows and scaled to ``rows``."""
    import shap

    from core.explain.background import dense
    from core.explain.run import explainer_kind
    from core.training import transform_only

    model = trained.pipeline.steps[-1][1]
    kind = explainer_kind(trained)
    probe = 3 if kind == "tree" else 20
    Xt = transform_only(trained.pipeline, X_rows.iloc[:probe])
    if kind == "tree":
        explainer = shap.TreeExplainer(model)
        Xt = dense(Xt)
        started = time.perf_counter()
        explainer.shap_values(Xt, check_additivity=False)
        label = "raw exact TreeSHAP"
    elif kind == "linear":
        bg = transform_only(trained.pipeline, X_background.iloc[:1000])
        started = time.perf_counter()
        shap.LinearExplainer(model, shap.maskers.Independent(bg, max_samples=bg.shape[0])).shap_values(
            transform_only(trained.pipeline, X_rows.iloc[:rows])
        )
        return "raw LinearSHAP", time.perf_counter() - started
    else:
        bg = dense(transform_only(trained.pipeline, X_background.iloc[:50]))
        explainer = shap.PermutationExplainer(model.predict_proba, shap.maskers.Independent(bg, max_samples=50))
        Xt = dense(Xt)
        passes = 2 * Xt.shape[1] + 1  # one forward-and-backward pass, as core's default
        explainer(Xt[:1], max_evals=passes, silent=True)  # warm-up
        started = time.perf_counter()
        explainer(Xt, max_evals=passes, silent=True)
        label = "raw shap.PermutationExplainer, 1 pass, transformed features"
    per_row = (time.perf_counter() - started) / len(Xt)
    return label, per_row * rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--max-rows", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    args, _ = parser.parse_known_args()  # run_all.py passes its arguments to every benchmark
    warnings.filterwarnings("ignore")

    from core import explain as ce
    from core.explain.methods import import_shap

    frame = make_frame(args.rows)
    started = time.perf_counter()
    request, models = train(frame)
    train_seconds = time.perf_counter() - started
    X_valid, _ = request.xy(request.split.valid)
    X_train, _ = request.xy(request.split.train)
    import_shap()  # one-off import cost (~1 s) kept out of the per-model timers

    rows_out = []
    for _, name, _ in MODELS:
        trained = models.get(name)
        if trained is None:
            rows_out.append({"model": name, "error": "failed to train"})
            continue
        t0 = time.perf_counter()
        est = ce.estimate(trained, min(args.max_rows, len(X_valid)), background_frame=X_train)
        estimate_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        expl = ce.explain(trained, X_valid, X_train, max_rows=args.max_rows, target=TARGET)
        seconds = time.perf_counter() - t0
        ref_label, ref_seconds = reference_seconds(trained, X_valid, X_train, expl.rows)
        rows_out.append(
            {
                "model": name,
                "method": expl.method,
                "rows": expl.rows,
                "columns": len(expl.columns),
                "model_features": len(expl.raw_names),
                "seconds": round(seconds, 2),
                "estimate_seconds": round(est.seconds_estimate, 2),
                "estimate_took": round(estimate_seconds, 2),
                "reference": ref_label,
                "reference_seconds": round(ref_seconds, 2),
                "speed_up": round(ref_seconds / seconds, 1) if seconds > 0 else None,
                "within_goal": seconds <= GOAL_SECONDS,
            }
        )

    if args.json:
        print(json.dumps({"rows": args.rows, "train_seconds": train_seconds, "models": rows_out}, indent=2))
        return 0
    print(
        f"{args.rows:,} rows × 20 columns; training the four models took {train_seconds:.1f} s; cores: {os.cpu_count()}"
    )
    print(f"Goal: default explanation ≤ {GOAL_SECONDS:g} s per model (no assertion).\n")
    header = f"{'model':30s} {'method':24s} {'rows':>5s} {'seconds':>8s} {'estimate':>9s} {'goal':>5s}   reference (same rows)"
    print(header)
    print("-" * len(header))
    for r in rows_out:
        if "error" in r:
            print(f"{r['model']:30s} {r['error']}")
            continue
        goal = "ok" if r["within_goal"] else "OVER"
        print(
            f"{r['model']:30s} {r['method']:24s} {r['rows']:5d} {r['seconds']:8.2f} {r['estimate_seconds']:9.2f} {goal:>5s}"
            f"   {r['reference']}: {r['reference_seconds']:.2f} s (raw ÷ core = {r['speed_up']}×)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
