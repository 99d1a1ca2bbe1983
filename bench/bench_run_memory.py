"""Calibrate core.run_memory: peak memory of one model's fit, measured in a fresh process, against the estimate.

Each fit runs alone in a child process (``ru_maxrss`` is the process's peak): the table is made and
the pipeline built first, then the fit and the validation scoring. The figure is the peak above the
process's resident memory just before the fit, in encoded training matrices (rows × encoded width ×
8 bytes), beside core.run_memory's estimate of the same model (working set + what it holds).

    .venv/bin/python bench/bench_run_memory.py [--rows 20000]

Small by default (2 shared cores); the numbers are noisy on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = (
    ("logistic_regression", {}),
    ("random_forest_clf", {"n_estimators": 100}),
    ("hist_gradient_boosting_clf", {}),
    ("knn_clf", {}),
)

CHILD = r"""
import json, resource, sys
import numpy as np, pandas as pd
import psutil
sys.path.insert(0, {root!r})
from tests.conftest import make_training_request
from core import run_memory
from core.training import build_model_pipeline, train_one

rows, key, params = {rows}, {key!r}, {params!r}
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(rows, 30)), columns=[f"x{{i}}" for i in range(30)])
frame["a"] = rng.choice(list("abcde"), rows)
frame["b"] = rng.choice([f"v{{i}}" for i in range(6)], rows)
frame["y"] = np.where(frame["x0"] + rng.normal(size=rows) > 0, "yes", "no")
request = make_training_request(frame, "y", models=[(key, params)])
run = next(r for r in request.models if r.key == key)
est = run_memory.estimate(request, workers=1)
model = next(m for m in est.models if m.name == run.name)
width = run_memory.count_features(request.plan, request.roles, request.features,
                                  request.frame.iloc[request.split.train], request.options)
fit = run_memory.fit_rows(request, run)
encoded = fit * width * 8
X, y = request.xy(np.concatenate([request.split.train, request.split.valid]))  # as the chosen model's refit
Xv, yv = request.xy(request.split.valid)
pipeline = build_model_pipeline(request, run)
before = psutil.Process().memory_info().rss
pipeline.fit(X, y)
pipeline.predict(Xv)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"model": run.name, "width": width, "encoded_mb": encoded / 2**20,
    "measured_mb": (peak - before) / 2**20, "estimated_mb": (model.working + model.held) / 2**20}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--models", nargs="*", help="model keys (default: all four)")
    args = parser.parse_args()
    print(f"{'model':<32} {'width':>5} {'encoded MB':>10} {'measured MB':>11} {'×':>5} {'estimated MB':>12} {'×':>5}")
    for key, params in MODELS:
        if args.models and key not in args.models:
            continue
        code = CHILD.format(root=str(ROOT), rows=args.rows, key=key, params=params)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        enc = row["encoded_mb"]
        print(
            f"{row['model']:<32} {row['width']:>5} {enc:>10.1f} {row['measured_mb']:>11.1f} "
            f"{row['measured_mb'] / enc:>5.1f} {row['estimated_mb']:>12.1f} {row['estimated_mb'] / enc:>5.1f}"
        )


if __name__ == "__main__":
    main()
