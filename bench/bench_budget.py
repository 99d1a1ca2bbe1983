"""Benchmark: the time budget's estimates against the time each model takes, and the run against its budget.

For each table the request is made the app's way (roles inferred, default features,
``suggested_setup``, the Recommended models), each model is estimated as the Models page
does (``core.training.budget.estimate``, timing the probe), planned into the budget
(default one minute; one worker's share for the embedded cluster, as the page plans),
then:

* every planned model is trained alone in this process (``train_model``, cross-validation
  included when the split has folds), and its seconds are printed next to its planned
  seconds with the ratio actual ÷ planned;
* the whole planned run goes to the embedded Dask cluster as a ``TrainingJob``, as the Train
  button sends it, and its wall seconds (start to the last model's end, refit and checks
  not included) are printed against the budget.

Tables: a generated 100k-row, 21-column binary table (20 % minority, one 10-level
categorical), the bundled house-price sample (regression, 2,930 × 82) and a generated
20k-row multiclass table. Goal: each run within its budget (the planned sum is the
budget at most; staged growth and epochs end at their planned time with 50 % slack).

Usage: ``python bench/bench_budget.py [--budget 60] [--only NAME] [--no-cluster]``
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def binary_100k():
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(100_000, 20, n_informative=8, weights=[0.8], random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)])
    frame["shop"] = np.random.default_rng(0).choice([f"shop {i}" for i in range(10)], len(frame))
    frame["bought"] = np.where(y == 1, "yes", "no")
    return frame, "bought"


def multiclass_20k():
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(20_000, 30, n_informative=12, n_classes=4, weights=[0.5, 0.3, 0.15], random_state=1)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(30)])
    frame["grade"] = [f"grade {c}" for c in y]
    return frame, "grade"


def house_prices():
    from core.samples import load_sample

    return load_sample("house_prices").frame, "price"


TABLES = {"binary-100k": binary_100k, "house-prices": house_prices, "multiclass-20k": multiclass_20k}


def app_request(frame, target):
    from core import registry
    from core.cleaning import CleaningPlan
    from core.schema import effective_roles, infer_roles
    from core.target import default_features, detect_task
    from core.training import ModelRun, make_request, suggested_setup

    roles = effective_roles(infer_roles(frame), {})
    task = detect_task(frame, target).task
    features = [c for c, (use, _) in default_features(list(frame.columns), roles, target).items() if use]
    setup = suggested_setup(task, frame[target])
    setup.models = [
        ModelRun(k, registry.get_spec(k).label, registry.get_spec(k).defaults())
        for k in registry.recommended(task, len(frame))
    ]
    return make_request(frame, target, task, features, roles, CleaningPlan(), setup)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--no-cluster", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from core import engine
    from core.training import TrainingJob
    from core.training import budget as B
    from core.training.fit import train_model

    for name, make in TABLES.items():
        if args.only and name not in args.only:
            continue
        frame, target = make()
        request = app_request(frame, target)
        started = time.perf_counter()
        estimates = B.estimate_all(request)
        probe = time.perf_counter() - started
        planned = B.plan(request, estimates, args.budget, workers=1)
        run_request = planned.apply(request)
        print(f"\n{name}: {len(frame):,} rows, {len(request.split.train):,} training; probe {probe:.1f} s")
        print(f"  plan: {planned.seconds:.1f} s expected of {args.budget:.0f} s; {planned.sample_note() or 'all rows'}")
        print(f"  {'model':34s} {'as chosen':>10s} {'planned':>9s} {'actual':>8s} {'ratio':>6s}  change")
        for model in planned.models:
            full = estimates[model.name].seconds(planned.rows) if model.name in estimates else float("nan")
            if model.run is None:
                print(f"  {model.name:34s} {full:10.1f} {'—':>9s} {'—':>8s} {'—':>6s}  {model.change}")
                continue
            began = time.perf_counter()
            result = train_model(run_request, model.run)
            took = time.perf_counter() - began
            ratio = took / model.seconds if model.seconds > 0 else float("nan")
            cut = getattr(result, "budget_note", "") or getattr(result, "message", "")
            print(
                f"  {model.name:34s} {full:10.1f} {model.seconds:9.1f} {took:8.1f} {ratio:6.2f}  {model.change} {cut}"
            )
        if not args.no_cluster:
            job = TrainingJob(run_request).start()
            began = time.perf_counter()
            while job.snapshot().status == "running":
                time.sleep(0.1)
            wall = time.perf_counter() - began
            print(f"  run on the embedded cluster: {wall:.1f} s ({wall / args.budget:.2f}× the budget)")
            job.wait(600)
    engine.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
