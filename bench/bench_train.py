"""Benchmark: what training through ``core`` costs over the same scikit-learn pipeline by hand.

Generates a seeded mixed table (numeric columns with missing values, two
categoricals, a binary target with signal), builds the request the app way
(``make_request`` with a default ``CleaningPlan`` and one model), then times,
in one process, best of N, alternating the order of the variants:

* ``core.training.train_one(request, run)``: staged fitting with live
  validation curves, then validation and training scores (what the app runs);
* the same with staging off (``core.training.staged.STAGES = 1``), to isolate what
  the live curves cost;
* the reference: ``build_model_pipeline(request, run)`` fitted directly with
  ``pipeline.fit(X_train, y_train)`` plus one ``predict_proba`` on validation
  (what a person would write by hand; the train/validation frames are sliced
  outside the timer).

Also reports how long core's scoring of the fitted pipeline takes (validation
and training scores), which ``train_one`` does on top of the fit.

Then Keras: the same preprocessed data (``--keras-rows`` rows, 10 epochs,
early stopping off) fitted with a listener that appends every event under a
lock, as the app's training job does, versus ``listener=None``; the latter is
timed twice (an A/A pair) so the run shows its own noise floor.

Usage: ``python bench/bench_train.py [--rows 100000] [--repeat 3] [--json]``
Goals: core <= 1.10x the reference per model; Keras with listener <= 1.05x without.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: (key, display name, parameters) of the models compared.
MODELS = [
    ("hist_gradient_boosting_clf", "Histogram gradient boosting", {}),
    ("logistic_regression", "Logistic regression", {}),
    ("random_forest_clf", "Random forest", {"n_estimators": 100}),
]
TARGET = "target"


def make_frame(rows: int, seed: int = 42):
    """A seeded mixed table: 6 numeric columns (some missing), 2 categoricals, a binary target with signal."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {f"num_{i}": rng.normal(0, 1, rows) for i in range(6)}
    cols["cat_a"] = rng.choice(["red", "green", "blue", "grey", "black"], rows)
    cols["cat_b"] = rng.choice([f"city_{i:02d}" for i in range(12)], rows)
    frame = pd.DataFrame(cols)
    effect_a = frame["cat_a"].map({"red": 0.8, "green": -0.5, "blue": 0.2, "grey": 0.0, "black": -0.4})
    effect_b = frame["cat_b"].str[-2:].astype(int).to_numpy() / 11 - 0.5
    logit = (
        1.2 * frame["num_0"]
        - 0.9 * frame["num_1"]
        + 0.6 * frame["num_2"] * frame["num_3"]
        + 0.5 * np.sin(2 * frame["num_4"])
        + effect_a
        + effect_b
    )
    frame[TARGET] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    for i, share in enumerate((0.05, 0.02, 0.10, 0.0, 0.03, 0.0)):
        if share:
            frame.loc[rng.random(rows) < share, f"num_{i}"] = np.nan
    frame.loc[rng.random(rows) < 0.02, "cat_b"] = None
    return frame


def make_request_for(frame, key: str, name: str, params: dict):
    """The request the Models page would build for one model (plus the baseline it adds)."""
    from core.cleaning import CleaningPlan
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import Task, default_features
    from core.training import ModelRun, TrainSetup, make_request

    roles = effective_roles(infer_roles(frame), {})
    features = [c for c, (use, _) in default_features(list(frame.columns), roles, TARGET).items() if use]
    setup = TrainSetup(SplitConfig(), [ModelRun(key, name, params)])
    request = make_request(frame, TARGET, Task.BINARY, features, roles, CleaningPlan(), setup)
    run = next(m for m in request.models if m.key == key)
    return request, run


def best_of(variants: dict, repeat: int, cpu: dict | None = None) -> dict[str, float]:
    """Best-of-``repeat`` wall seconds per variant, rotating the order each round so no variant always goes first.

    When ``cpu`` is given, it receives each variant's best process CPU seconds (all threads), which
    other work on a shared machine disturbs less than wall time.
    """
    names = list(variants)
    best = dict.fromkeys(names, float("inf"))
    best_cpu = dict.fromkeys(names, float("inf"))
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start, start_cpu = time.perf_counter(), time.process_time()
            variants[name]()
            best[name] = min(best[name], time.perf_counter() - start)
            best_cpu[name] = min(best_cpu[name], time.process_time() - start_cpu)
    if cpu is not None:
        cpu.update(best_cpu)
    return best


def bench_model(frame, key: str, name: str, params: dict, repeat: int) -> dict:
    import core.training as training
    from core.evaluation import score
    from core.training import fit, staged

    request, run = make_request_for(frame, key, name, params)
    X_train, y_train = request.xy(request.split.train)
    X_valid, y_valid = request.xy(request.split.valid)
    stages = staged.STAGES
    kept: dict = {}

    def core_staged():
        staged.STAGES = stages
        kept["staged"] = training.train_one(request, run)

    def core_unstaged():
        staged.STAGES = 1
        try:
            kept["unstaged"] = training.train_one(request, run)
        finally:
            staged.STAGES = stages

    def reference():
        pipeline = training.build_model_pipeline(request, run)
        pipeline.fit(X_train, y_train)
        pipeline.predict_proba(X_valid)
        kept["reference"] = pipeline

    cpu: dict[str, float] = {}
    secs = best_of(
        {"core train_one": core_staged, "core train_one, STAGES=1": core_unstaged, "reference": reference},
        repeat,
        cpu,
    )
    fitted = kept["reference"]
    scoring = best_of(
        {
            "score(valid)+score(train 20k)": lambda: (
                score(fitted, X_valid, y_valid, request.task),
                score(fitted, *fit._limit(X_train, y_train, request.seed), request.task),
            )
        },
        repeat,
    )["score(valid)+score(train 20k)"]
    return {
        "model": key,
        "params": params,
        "train_rows": len(X_train),
        "valid_rows": len(X_valid),
        "seconds": {k: round(v, 3) for k, v in secs.items()},
        "core_scoring_s": round(scoring, 3),
        "cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
        "ratio": round(secs["core train_one"] / secs["reference"], 3),
        "cpu_ratio": round(cpu["core train_one"] / cpu["reference"], 3),
        "ratio_stages_1": round(secs["core train_one, STAGES=1"] / secs["reference"], 3),
        "live_curves_cost": round(secs["core train_one"] / secs["core train_one, STAGES=1"], 3),
        "valid_roc_auc": {
            "staged": round(kept["staged"].scores.get("roc_auc", float("nan")), 4),
            "stages=1": round(kept["unstaged"].scores.get("roc_auc", float("nan")), 4),
        },
    }


def bench_keras(frame, rows: int, epochs: int, repeat: int) -> dict:
    """Keras fit with an app-like listener vs listener=None on the same preprocessed data."""
    from sklearn.base import clone

    from core import events as ev
    from core.training import build_model_pipeline, fit_preprocessing, transform_only

    params = {"epochs": epochs, "early_stopping": False}
    request, run = make_request_for(frame.iloc[:rows], "keras_mlp", "Neural network", params)
    pipeline = build_model_pipeline(request, run)
    X_train, y_train = request.xy(request.split.train)
    X_valid, y_valid = request.xy(request.split.valid)
    Xt, yt = fit_preprocessing(pipeline, X_train, y_train)
    Xv = transform_only(pipeline, X_valid)
    template = pipeline.steps[-1][1]
    lock, stop = threading.Lock(), threading.Event()
    events: list = []

    def listen(event) -> None:  # what TrainingJob._listen does
        with lock:
            events.append(event)

    def with_listener():
        clone(template).fit(
            Xt, yt, validation_data=(Xv, y_valid), listener=listen, should_stop=stop.is_set, model_name=run.name
        )

    def without_listener():
        clone(template).fit(Xt, yt, validation_data=(Xv, y_valid), listener=None, should_stop=None)

    clone(template).set_params(epochs=1).fit(Xt, yt, validation_data=(Xv, y_valid))  # warm-up: TF import, tracing
    cpu: dict[str, float] = {}
    variants = {
        "with listener": with_listener,
        "listener=None": without_listener,
        "listener=None (A/A)": without_listener,
    }
    secs = best_of(variants, repeat, cpu)
    epoch_events = sum(isinstance(e, ev.EpochEnded) for e in events)
    return {
        "rows": rows,
        "train_rows": int(Xt.shape[0]),
        "input_features": int(Xt.shape[1]),
        "epochs": epochs,
        "seconds": {k: round(v, 3) for k, v in secs.items()},
        "cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
        "ratio": round(secs["with listener"] / secs["listener=None"], 3),
        "cpu_ratio": round(cpu["with listener"] / cpu["listener=None"], 3),
        "noise_floor": round(
            max(secs["listener=None"], secs["listener=None (A/A)"])
            / min(secs["listener=None"], secs["listener=None (A/A)"]),
            3,
        ),
        "events_per_fit": epoch_events // max(1, repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the generated table")
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    parser.add_argument("--keras-rows", type=int, default=20_000)
    parser.add_argument("--keras-epochs", type=int, default=10)
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras listener comparison")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    load_before = os.getloadavg()[0]
    frame = make_frame(args.rows)
    models = [bench_model(frame, key, name, params, args.repeat) for key, name, params in MODELS]
    keras = (
        None if args.no_keras else bench_keras(frame, min(args.keras_rows, args.rows), args.keras_epochs, args.repeat)
    )
    load = (round(load_before, 2), round(os.getloadavg()[0], 2))
    result = {"rows": args.rows, "repeat": args.repeat, "load_avg_1min": load, "models": models, "keras": keras}
    if args.json:
        print(json.dumps(result))
        return
    first = models[0]
    print(
        f"Table: {args.rows:,} rows x 8 features, binary target; train {first['train_rows']:,} / "
        f"validation {first['valid_rows']:,} rows (best of {args.repeat}; "
        f"load average {load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"  {'model':28s} {'core':>8s} {'STAGES=1':>9s} {'reference':>10s} {'scoring':>8s}  ratio  S=1    CPU")
    for m in models:
        s = m["seconds"]
        print(
            f"  {m['model']:28s} {s['core train_one']:7.2f}s {s['core train_one, STAGES=1']:8.2f}s "
            f"{s['reference']:9.2f}s {m['core_scoring_s']:7.2f}s  {m['ratio']:4.2f}x {m['ratio_stages_1']:4.2f}x "
            f"{m['cpu_ratio']:4.2f}x"
        )
    print("  ratio = core train_one / reference (goal <= 1.10x); S=1 = the same with STAGES=1 (no live curves);")
    print("  CPU = ratio of process CPU seconds; scoring = core's validation + training scores (inside train_one)")
    for m in models:
        auc = m["valid_roc_auc"]
        print(
            f"  {m['model']:28s} live curves cost {m['live_curves_cost']:.2f}x; "
            f"validation ROC-AUC staged {auc['staged']:.4f}, STAGES=1 {auc['stages=1']:.4f}"
        )
    if keras:
        s, c = keras["seconds"], keras["cpu_seconds"]
        print(
            f"Keras: {keras['rows']:,} rows ({keras['train_rows']:,} train x {keras['input_features']} inputs), "
            f"{keras['epochs']} epochs, early stopping off (best of {args.repeat}, "
            f"{keras['events_per_fit']} events per fit)"
        )
        print(
            f"  with listener {s['with listener']:.2f}s, listener=None {s['listener=None']:.2f}s; "
            f"CPU {c['with listener']:.2f}s vs {c['listener=None']:.2f}s"
        )
        print(
            f"  ratio {keras['ratio']:.3f}x, CPU ratio {keras['cpu_ratio']:.3f}x   (goal <= 1.05x); "
            f"noise floor {keras['noise_floor']:.3f}x (listener=None timed twice, "
            f"{s['listener=None (A/A)']:.2f}s the second time)"
        )


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
