"""Benchmark: quality of the "Recommended" model preset on scikit-learn's bundled datasets.

For each dataset (breast cancer, wine, iris, digits: accuracy; diabetes: R²)
the table is turned into a request the app way (roles inferred, default
features ticked, default ``CleaningPlan``, ``make_request``), and every model
``core.registry.recommended(task)`` preselects is scored by 5-fold
cross-validation (stratified and shuffled for classification) with
``sklearn.model_selection.cross_val_score`` on the pipeline
``core.training.build_model_pipeline`` builds, over all rows the request keeps.

The reference is the baseline model (also in the preset) and a fixed target
per dataset; each dataset prints PASS or MISS with the best model's score.
When the preset misses, a few other catalogue models are scored the same way
so the preset can be adjusted.

The Keras network trains with the catalogue defaults (100 epochs, early
stopping with patience 10). Inside ``cross_val_score`` it gets no validation
data, so early stopping watches the training loss, as in core's own
``cross_validate``. ``--keras-epochs`` caps its epochs, ``--no-keras`` skips it.

``--choice`` measures the app's own choice instead: each table of :data:`CHOICE_TABLES`
goes through the app's path (loaded from CSV bytes, roles inferred, default features,
``suggested_setup`` for the target, the Recommended models without the network, the seeded
70/15/15 split), ``run_training`` trains them in this process, ``best_model`` picks one the
way the Train page does, and ``core.results.test_scores`` scores that model on the test rows.
It prints, per table and split seed, the chosen model, its test score on one fixed metric per
table, the best test score any trained model reached (the "oracle", which no honest choice
can know), and the run's seconds; then the mean over the seeds.

Usage: ``python bench/bench_quality.py [--no-keras] [--keras-epochs N] [--alternatives] [--seed 42] [--json]``
       ``python bench/bench_quality.py --choice [--seeds 1 2 3] [--only NAME ...] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET = "target"
FOLDS = 5
SEED = 42


@dataclass(frozen=True)
class Dataset:
    name: str
    loader: str  # function name in sklearn.datasets
    task: str  # core.target.Task value
    scoring: str  # cross_val_score scoring
    goal: float


DATASETS = [
    Dataset("breast cancer", "load_breast_cancer", "binary classification", "accuracy", 0.975),
    Dataset("wine", "load_wine", "multiclass classification", "accuracy", 0.98),
    Dataset("iris", "load_iris", "multiclass classification", "accuracy", 0.95),
    Dataset("digits", "load_digits", "multiclass classification", "accuracy", 0.98),
    Dataset("diabetes", "load_diabetes", "regression", "r2", 0.48),
]

#: Catalogue models (key, parameters) tried when the preset misses a target.
ALTERNATIVES = {
    "classification": [
        ("svm_clf", {}),
        ("svm_clf", {"C": 10.0}),
        ("logistic_regression", {"C": 0.1}),
        ("logistic_regression", {"C": 10.0}),
        ("knn_clf", {"n_neighbors": 5}),
        ("hist_gradient_boosting_clf", {}),
    ],
    "regression": [
        ("linear_regression", {}),
        ("ridge", {"alpha": 10.0}),
        ("lasso", {"alpha": 0.1}),
        ("svr", {"C": 10.0}),
        ("random_forest_reg", {"min_samples_leaf": 5}),
    ],
}


def load_frame(dataset: Dataset):
    """The bundled dataset as one DataFrame with the label in ``target``."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, dataset.loader)(as_frame=True)
    frame = bunch.frame.copy()
    if "target" not in frame.columns:  # digits' frame names it "target" too; be safe
        frame[TARGET] = bunch.target
    return frame


def request_for(frame, task):
    """The request the app builds from this table: inferred roles, default features, default plan."""
    from core.cleaning import CleaningPlan
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import default_features
    from core.training import TrainSetup, make_request

    roles = effective_roles(infer_roles(frame), {})
    features = [c for c, (use, _) in default_features(list(frame.columns), roles, TARGET).items() if use]
    return make_request(frame, TARGET, task, features, roles, CleaningPlan(), TrainSetup(SplitConfig(), []))


def cv_score(request, key: str, params: dict, scoring: str) -> dict:
    """Mean, spread and time of 5-fold CV of one model's core pipeline over every row the request keeps."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    from core.registry import get_spec
    from core.training import ModelRun, build_model_pipeline

    spec = get_spec(key)
    run = ModelRun(key, spec.label, params)
    pipeline = build_model_pipeline(request, run)
    X, y = request.frame[request.features], request.frame[TARGET]
    splitter = StratifiedKFold if request.task.is_classification else KFold
    cv = splitter(n_splits=FOLDS, shuffle=True, random_state=SEED)
    started = time.perf_counter()
    try:
        scores = cross_val_score(pipeline, X, y, cv=cv, scoring=scoring, error_score="raise")
    except Exception as exc:  # one model failing must not end the benchmark
        return {"model": key, "params": params, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {
        "model": key,
        "params": params,
        "mean": round(float(scores.mean()), 4),
        "std": round(float(scores.std()), 4),
        "seconds": round(time.perf_counter() - started, 2),
    }


def label(result: dict) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in result["params"].items() if k != "layers")
    return f"{result['model']}({extra})" if extra else result["model"]


def bench_dataset(dataset: Dataset, keras: str, keras_epochs: int | None, alternatives: bool) -> dict:
    from core.registry import recommended
    from core.target import Task

    task = Task(dataset.task)
    frame = load_frame(dataset)
    request = request_for(frame, task)
    results = []
    for key in recommended(task):
        params: dict = {}
        if key == "keras_mlp":
            if keras == "skip":
                continue
            if keras_epochs:
                params = {"epochs": keras_epochs}
        results.append(cv_score(request, key, params, dataset.scoring))
    scored = [r for r in results if "mean" in r]
    best = max(scored, key=lambda r: r["mean"])
    passed = best["mean"] >= dataset.goal
    tried = []
    if alternatives or not passed:
        group = "classification" if task.is_classification else "regression"
        tried = [cv_score(request, key, params, dataset.scoring) for key, params in ALTERNATIVES[group]]
    reaching = [label(r) for r in tried if r.get("mean", -1e9) >= dataset.goal]
    baseline = next((r for r in scored if r["model"] == "baseline"), None)
    return {
        "dataset": dataset.name,
        "rows": len(frame),
        "rows_used": len(request.frame),
        "features": len(request.features),
        "metric": dataset.scoring,
        "goal": dataset.goal,
        "recommended": results,
        "best": label(best),
        "best_score": best["mean"],
        "baseline_score": baseline["mean"] if baseline else None,
        "status": "PASS" if passed else "MISS",
        "alternatives": tried,
        "alternatives_reaching_goal": reaching,
    }


def show(result: dict) -> None:
    print(
        f"{result['dataset']}: {result['rows_used']} of {result['rows']} rows, {result['features']} features, "
        f"{FOLDS}-fold {result['metric']}, fold seed {SEED} (goal >= {result['goal']})"
    )
    rows = [(r, "") for r in result["recommended"]] + [(r, "  (alternative)") for r in result["alternatives"]]
    for r, tag in rows:
        if "error" in r:
            print(f"  {label(r):42s} failed: {r['error']}{tag}")
        else:
            print(f"  {label(r):42s} {r['mean']:.4f} ± {r['std']:.4f}  {r['seconds']:6.1f}s{tag}")
    print(f"  best {result['best']} {result['best_score']:.4f}  -> {result['status']}")
    if result["status"] == "MISS":
        reach = ", ".join(result["alternatives_reaching_goal"]) or "none of the alternatives tried"
        print(f"  reaches the goal: {reach}")


# --------------------------------------------------------------------------- the app's own choice


@dataclass(frozen=True)
class ChoiceTable:
    name: str
    make: str  # function name below that returns (frame, target)
    task: str  # core.target.Task value
    report: str  # the metric key the chosen model's test score is reported in (fixed per table)


CHOICE_TABLES = [
    ChoiceTable("diabetes", "_diabetes", "regression", "r2"),
    ChoiceTable("house prices 2930", "_houses_2930", "regression", "r2"),
    ChoiceTable("breast cancer", "_breast_cancer", "binary classification", "roc_auc"),
    ChoiceTable("wine", "_wine", "multiclass classification", "f1_macro"),
    ChoiceTable("4 classes imbalanced 3000", "_four_classes", "multiclass classification", "f1_macro"),
    ChoiceTable("house prices 8000", "_houses_8000", "regression", "r2"),
]


def _bunch(loader: str):
    import sklearn.datasets

    frame = getattr(sklearn.datasets, loader)(as_frame=True).frame.copy()
    return frame, TARGET


def _diabetes():
    return _bunch("load_diabetes")


def _breast_cancer():
    return _bunch("load_breast_cancer")


def _wine():
    return _bunch("load_wine")


def _houses(n: int):
    sys.path.insert(0, str(ROOT / "sample_data"))
    from generate import make_house_prices

    return make_house_prices(n), "price"


def _houses_2930():
    return _houses(2930)


def _houses_8000():
    return _houses(8000)


def _four_classes():
    """3,000 rows, 4 classes (60/25/10/5 %), 8 informative of 12 columns; seeded."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=3000,
        n_features=12,
        n_informative=8,
        n_redundant=2,
        n_classes=4,
        weights=[0.6, 0.25, 0.1, 0.05],
        class_sep=0.8,
        flip_y=0.02,
        random_state=0,
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).round(4)
    frame["grade"] = pd.Series(y).map({0: "a", 1: "b", 2: "c", 3: "d"})
    return frame, "grade"


def choice_run(table: ChoiceTable, seed: int) -> dict:
    """One table, one split seed: the app's choice and its test score (see the module docs)."""
    from core import results as res
    from core.cleaning import CleaningPlan
    from core.loading import load_file
    from core.registry import recommended
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import Task, default_features
    from core.training import ModelRun, TrainedModel, best_model, make_request, run_training, suggested_setup

    raw, target = globals()[table.make]()
    frame = load_file(raw.to_csv(index=False).encode(), "table.csv").frame  # as an upload would read it
    task = Task(table.task)
    roles = effective_roles(infer_roles(frame), {})
    features = [c for c, (use, _) in default_features(list(frame.columns), roles, target).items() if use]
    setup = suggested_setup(task, frame[target])
    keys = [k for k in recommended(task, len(frame)) if k != "keras_mlp"]
    setup.models = [ModelRun(k, k, {}) for k in keys]
    split = setup.split
    setup.split = SplitConfig(**{**split.to_dict(), "seed": seed})
    started = time.perf_counter()
    request = make_request(frame, target, task, features, roles, CleaningPlan(), setup)
    results = run_training(request)
    seconds = time.perf_counter() - started
    chosen = best_model(results, task, request.metric)
    scored = {r.name: res.test_scores(r, request) for r in results if isinstance(r, TrainedModel)}
    tests = {name: scores.get(table.report) for name, scores in scored.items()}
    oracle = max(tests, key=lambda n: tests[n])
    return {
        "table": table.name,
        "seed": seed,
        "rows": len(request.frame),
        "ranked_by": request.metric,
        "cv_folds": request.split.config.cv_folds,
        "models": [r.name for r in results],
        "chosen": chosen.name,
        "refitted": bool(getattr(chosen, "refitted", False)),
        "test": round(float(tests[chosen.name]), 4),
        # The chosen model's test score by the metric the run ranked by (what the choice optimised).
        "test_ranked": round(float(scored[chosen.name].get(request.metric, float("nan"))), 4),
        "oracle": oracle,
        "oracle_test": round(float(tests[oracle]), 4),
        "seconds": round(seconds, 1),
    }


def bench_choice(seeds: list[int], only: list[str] | None, as_json: bool) -> None:
    started = time.perf_counter()
    runs = []
    for table in CHOICE_TABLES:
        if only and table.name not in only:
            continue
        mine = []
        for seed in seeds:
            run = choice_run(table, seed)
            mine.append(run)
            if not as_json:
                refit = ", refitted" if run["refitted"] else ""
                print(
                    f"{run['table']:26s} seed {seed}  {run['rows']:5d} rows  ranked by {run['ranked_by']:17s} "
                    f"cv {run['cv_folds']}  chose {run['chosen']:28s}{refit:10s} test {table.report} "
                    f"{run['test']:.4f}  (best possible {run['oracle_test']:.4f}, {run['oracle']})  "
                    f"test {run['ranked_by']} {run['test_ranked']:.4f}  {run['seconds']:6.1f}s",
                    flush=True,
                )
        runs += mine
        if not as_json and mine:
            mean = sum(r["test"] for r in mine) / len(mine)
            regret = sum(r["oracle_test"] - r["test"] for r in mine) / len(mine)
            seconds = sum(r["seconds"] for r in mine) / len(mine)
            ranked = sum(r["test_ranked"] for r in mine) / len(mine)
            print(
                f"{table.name:26s} mean test {table.report} {mean:.4f}  mean shortfall from the best possible "
                f"{regret:.4f}  mean test {mine[0]['ranked_by']} {ranked:.4f}  mean {seconds:.1f}s per run",
                flush=True,
            )
    if as_json:
        print(json.dumps({"seeds": seeds, "runs": runs}))
    else:
        print(f"done in {time.perf_counter() - started:.0f}s")


def main() -> None:
    global SEED
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras network")
    parser.add_argument("--keras-epochs", type=int, default=None, help="cap the network's epochs")
    parser.add_argument("--alternatives", action="store_true", help="score the alternatives even on PASS")
    parser.add_argument("--only", nargs="*", help="dataset names to run (default: all)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the fold shuffle")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--choice", action="store_true", help="measure the app's own choice (see module docs)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3], help="split seeds for --choice")
    # run_all.py hands every benchmark the same arguments; these belong to the timing benchmarks.
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    SEED = args.seed
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    if args.choice:
        bench_choice(args.seeds, args.only, args.json)
        return
    started = time.perf_counter()
    chosen = [d for d in DATASETS if not args.only or d.name in args.only]
    results = []
    for dataset in chosen:
        results.append(bench_dataset(dataset, "skip" if args.no_keras else "run", args.keras_epochs, args.alternatives))
        if not args.json:
            show(results[-1])
    if args.json:
        print(json.dumps({"folds": FOLDS, "seed": SEED, "datasets": results}))
        return
    passed = sum(r["status"] == "PASS" for r in results)
    print(f"{passed} of {len(results)} datasets meet their goal ({time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
