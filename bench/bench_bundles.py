"""Measure honest model bundles: sizes, member counts and compression ratios at every nesting level.

Trains the models whose bundles are the largest the app makes on an ordinary
table (``--rows`` rows of the seeded mixed table of ``bench_train``: random
forests of many deep trees, boosting with many rounds, a wide Keras network,
k-NN keeping its training rows; the same table with three free-text columns,
and with 300 categorical columns of 200 categories), exports each bundle and
reports, for the bundle zip and the zips nested in it (the skops file, the
``.keras`` file, any zip inside those):

* the bundle's size on disk and the bytes unpacked across all levels;
* the most members of any one archive, and how deep archives nest;
* the largest single member unpacked, and the largest JSON/Markdown member;
* the highest compression ratio (unpacked / packed) of a member, among those
  over 64 KiB (tiny members say nothing about bombs), and of the whole bundle
  (everything unpacked at every level / the bundle's size).

Then the same figures against ``core.export.BUNDLE_LIMITS`` (the headroom each
limit leaves), which is what the limits were sized from. No timing, no
assertion: it prints figures.

Usage: ``python bench/bench_bundles.py [--rows 20000] [--trees 300] [--json]``
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_train import TARGET, make_frame  # noqa: E402

#: Members smaller than this are left out of the ratio (a 2 KiB JSON of repeated keys says nothing).
RATIO_FLOOR = 64 * 1024


BINARY, REGRESSION = "binary classification", "regression"


def models(trees: int) -> list[tuple[str, str, str, str, dict]]:
    """(table, task, key, label, parameters) of the bundles measured; tables are made by :func:`table`."""
    wide = [{"type": "dense", "units": 1024, "activation": "relu"}] * 3
    return [
        ("mixed", BINARY, "logistic_regression", "Logistic regression", {}),
        ("mixed", BINARY, "random_forest_clf", f"Random forest, {trees} trees", {"n_estimators": trees}),
        (
            "mixed",
            REGRESSION,
            "random_forest_reg",
            f"Random forest (regression), {trees} trees",
            {"n_estimators": trees},
        ),
        ("mixed", BINARY, "hist_gradient_boosting_clf", "Histogram gradient boosting, 500 rounds", {"max_iter": 500}),
        ("mixed", BINARY, "lightgbm_clf", "LightGBM, 1000 rounds", {"n_estimators": 1000}),
        ("mixed", BINARY, "knn_clf", "k-NN (keeps the training rows)", {}),
        ("mixed", BINARY, "keras_mlp", "Keras, default layers", {"epochs": 2}),
        ("mixed", BINARY, "keras_mlp", "Keras, 3 x 1024 units", {"epochs": 1, "layers": wide}),
        ("text", BINARY, "logistic_regression", "Logistic regression, 3 text columns", {}),
        ("wide", BINARY, "logistic_regression", "Logistic regression, 300 columns x 200 categories", {}),
    ]


def table(kind: str, rows: int):
    """The seeded mixed table; with three free-text columns (``text``); with 300 categorical columns (``wide``)."""
    import numpy as np

    frame = make_frame(rows, seed=1)
    rng = np.random.default_rng(7)
    if kind == "text":
        words = np.array([f"w{i:05d}" for i in range(30_000)])
        for c in range(3):
            picks = words[rng.zipf(1.3, size=(rows, 12)) % len(words)]
            frame[f"text_{c}"] = [" ".join(row) for row in picks]
    elif kind == "wide":
        labels = np.array([f"category value number {i:03d}" for i in range(200)])
        extra = {f"column_{c:03d}": labels[rng.integers(0, 200, rows)] for c in range(300)}
        frame = frame.assign(**extra)
    return frame


def train_bundle(frame, task_name: str, key: str, label: str, params: dict) -> bytes:
    from core.cleaning import CleaningPlan
    from core.export import export_bundle
    from core.predict import usable_from_training
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import Task, default_features
    from core.training import ModelRun, TrainSetup, make_request, train_one

    task = Task(task_name)
    if task == Task.REGRESSION:
        frame = frame.assign(**{TARGET: frame["num_0"] * 3 + frame["num_1"] ** 2 + frame["num_5"]})  # deeper trees
    roles = effective_roles(infer_roles(frame), {})
    features = [c for c, (use, _) in default_features(list(frame.columns), roles, TARGET).items() if use]
    setup = TrainSetup(SplitConfig(), [ModelRun(key, label, params)])
    request = make_request(frame, TARGET, task, features, roles, CleaningPlan(), setup)
    run = next(m for m in request.models if m.key == key)
    model = train_one(request, run)
    return export_bundle(usable_from_training(model, request, "bench.csv"))


def measure(data: bytes, level: str = "bundle", depth: int = 1) -> dict:
    """Figures of one archive and of the zips nested in it (any member that is itself a zip)."""
    out = {"members": 0, "unpacked": 0, "largest": 0, "text": 0, "ratio": 0.0, "depth": depth, "levels": {}}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        out["levels"][level] = len(infos)
        out["members"] = len(infos)
        for info in infos:
            out["unpacked"] += info.file_size
            out["largest"] = max(out["largest"], info.file_size)
            if info.filename.endswith((".json", ".md")):
                out["text"] = max(out["text"], info.file_size)
            if info.file_size >= RATIO_FLOOR:
                out["ratio"] = max(out["ratio"], info.file_size / max(info.compress_size, 1))
            raw = archive.read(info)
            if raw[:4] == b"PK\x03\x04":
                inner = measure(raw, info.filename, depth + 1)
                out["levels"].update(inner["levels"])
                out["unpacked"] += inner["unpacked"]
                out["depth"] = max(out["depth"], inner["depth"])
                for key in ("members", "largest", "text", "ratio"):
                    out[key] = max(out[key], inner[key])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from core.export import BUNDLE_LIMITS as L

    tables: dict = {}
    results = []
    for kind, task, key, label, params in models(args.trees):
        frame = tables.setdefault(kind, table(kind, args.rows))
        bundle = train_bundle(frame, task, key, label, params)
        figures = measure(bundle)
        results.append(
            {"model": label, "bundle": len(bundle), "whole_ratio": figures["unpacked"] / len(bundle), **figures}
        )
        print(f"measured {label}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"Honest bundles, models trained on {args.rows:,} rows (bench_train's mixed table; text and wide variants).")
    print(
        f"{'model':50} {'zip MB':>7} {'all levels MB':>13} {'largest MB':>10} {'JSON MB':>7} "
        f"{'files':>6} {'ratio':>6} {'whole':>6} {'depth':>5}"
    )
    for r in results:
        print(
            f"{r['model']:50} {r['bundle'] / 1e6:7.2f} {r['unpacked'] / 1e6:13.2f} {r['largest'] / 1e6:10.2f} "
            f"{r['text'] / 1e6:7.2f} {r['members']:6d} {r['ratio']:6.1f} {r['whole_ratio']:6.1f} {r['depth']:5d}"
        )
    top = {
        "bundle on disk": (max(r["bundle"] for r in results), L.max_archive_bytes),
        "unpacked, all levels": (max(r["unpacked"] for r in results), L.max_total_bytes),
        "largest file": (max(r["largest"] for r in results), L.max_member_bytes),
        "largest JSON/Markdown": (max(r["text"] for r in results), L.max_text_bytes),
        "files in one archive": (max(r["members"] for r in results), L.max_members),
        "ratio, one file": (max(r["ratio"] for r in results), L.max_ratio),
        "ratio, whole bundle": (max(r["whole_ratio"] for r in results), L.max_ratio),
        "nesting depth": (max(r["depth"] for r in results), L.max_depth),
    }
    print("\nLargest honest figure vs the limit (core.export.BUNDLE_LIMITS):")
    for name, (seen, limit) in top.items():
        print(f"  {name:24} {seen:>16,.1f}  limit {limit:>16,.1f}  headroom {limit / max(seen, 1e-9):6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
