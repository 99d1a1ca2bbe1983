"""Benchmark: the same models trained through the running app and in a plain script.

The app is driven headless with ``streamlit.testing.v1.AppTest`` (the real pages, session
state, the Dask cluster of ``core.engine``): upload a generated CSV, keep the suggested
target and plan, turn cross-validation, the log-target twins and the time budget off (so the
app fits what the script fits), choose one model on the Models page, press Train, then rerun the Train
page every second, as its polling fragment does, until the run has ended. The time is from
the click to the run's end (the app adds the baseline, which trains beside it).

The plain script is a separate Python process that gets the very request the app trained
(pickled by this benchmark), builds the same pipeline (so the preprocessing is identical) and times
``pipeline.fit`` on the training rows and ``predict`` on the validation rows — what a
person would write with scikit-learn, LightGBM or Keras directly.

Interleaved (app, script, script, app, …) ``--repeat`` times per model; the best of each
is compared. Then the same again beside ``--busy`` processes that keep a core busy each
(other users of the machine). Finally ``--sessions`` sessions press Train at once on
the same model, against as many plain scripts started side by side: the wall time of the
whole batch and each session's ratio to its mean.

The table (``--rows`` × about 80 columns) has what a house-price export has: skewed
numbers, 10 % missing cells, categoricals of 2–25 levels, a log-normal price target.

Usage: ``python bench/bench_app_train.py [--rows 2930] [--repeat 3] [--busy 2] [--sessions 5]
[--models hist_gradient_boosting_reg,random_forest_reg,lightgbm_reg,ridge,keras_mlp]``
Goals (issue 10): every model ≤ 1.15× the script, quiet and busy; five sessions at once ≤
1.2× five scripts side by side. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = "sale_price"
MODELS = ["hist_gradient_boosting_reg", "random_forest_reg", "lightgbm_reg", "ridge", "keras_mlp"]
POLL_S = 1.0


def make_table(rows: int, seed: int = 0):
    """A seeded house-price-like table: ~40 numbers, ~30 categoricals, a skewed price."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    signal = np.zeros(rows)
    for i in range(40):
        values = rng.lognormal(mean=3, sigma=0.8, size=rows) if i % 3 == 0 else rng.normal(50, 15, size=rows)
        if i < 8:
            signal += (values - values.mean()) / values.std() * (1.0 / (i + 1))
        values = values.round(2)
        missing = rng.random(rows) < 0.10
        data[f"num_{i:02d}"] = np.where(missing, np.nan, values)
    for i in range(30):
        levels = 2 + (i * 7) % 24
        codes = rng.integers(0, levels, size=rows)
        if i < 6:
            signal += (codes / max(1, levels - 1) - 0.5) * 0.6
        data[f"cat_{i:02d}"] = np.array([f"L{c}" for c in codes], dtype=object)
    for i in range(10):
        data[f"ord_{i}"] = rng.integers(1, 11, size=rows)
    data[TARGET] = np.exp(12 + 0.35 * signal + rng.normal(0, 0.15, size=rows)).round(-2)
    return pd.DataFrame(data)


# --------------------------------------------------------------------------- the plain script


def plain(request_file: str, key: str, start_at: float = 0.0) -> float:
    """In this process: the app's own request (pickled by this benchmark), fit + predict with the library directly.

    With ``start_at`` (a ``time.time()``), the fit waits for that moment, so scripts started side by
    side fit at once, their imports done.
    """
    import pickle

    from core.training import build_model_pipeline

    request = pickle.loads(Path(request_file).read_bytes())  # written by this benchmark a moment ago
    run = next(r for r in request.models if r.key == key)
    X_train, y_train = request.xy(request.split.train)
    X_valid, _ = request.xy(request.split.valid)
    pipeline = build_model_pipeline(request, run)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    pipeline.fit(X_train, y_train)
    pipeline.predict(X_valid)
    return time.perf_counter() - started


def plain_process(request_file: str, key: str, start_at: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--plain", request_file, key, str(start_at)],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def plain_result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate(timeout=3600)
    return json.loads(out.strip().splitlines()[-1])


def plain_seconds(process: subprocess.Popen) -> float:
    return float(plain_result(process)["seconds"])


# --------------------------------------------------------------------------- the app


def on_models(csv: str):
    """A fresh app session with the CSV uploaded, the target confirmed, the plan reviewed: on Models."""
    from streamlit.testing.v1 import AppTest

    from ui import state

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.file_uploader(key="data_upload").set_value((Path(csv).name, Path(csv).read_bytes(), "text/csv")).run()
    at.switch_page("pages/target.py").run()
    assert at.selectbox(key=f"target_column_{at.session_state[state.VERSION]}").value == TARGET
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    # The same fit as the script's: no cross-validation folds, no log-target twins, no time budget.
    at.selectbox(key="models_cv").set_value(0).run()
    log_target = [box for box in at.checkbox if box.key == "models_log_target"]  # shown for skewed targets only
    if log_target and log_target[0].value:
        log_target[0].uncheck().run()
    at.selectbox(key="models_budget").set_value(0).run()
    assert not at.exception, at.exception
    return at


def press(at, key: str):
    """Choose ``key`` alone and press Train; the job."""
    from ui import state

    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value([key]).run()
    at.button(key="models_train").click().run()
    assert not at.exception, at.exception
    return at.session_state[state.JOB]


def app_seconds(at, key: str, request_file: str) -> float:
    """Click → the run's end ("Finished"), the Train page rerun every second meanwhile; the request saved for the script."""
    import pickle

    clicked = time.time()
    job = press(at, key)
    while not job.wait(POLL_S):
        at.run()  # the Train page's polling (until the run's checks and recording are done too)
    snap = job.snapshot()
    took = snap.finished_at - clicked  # when the page can say "Finished"
    failed = [r for r in snap.results if hasattr(r, "message")]
    assert snap.status == "finished" and not failed, (snap.status, snap.error, failed)
    Path(request_file).write_bytes(pickle.dumps(job.request))
    return took


# --------------------------------------------------------------------------- conditions


@contextlib.contextmanager
def busy(count: int):
    """``count`` processes that each keep a core busy (other people using the machine)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def compare(at, request_file: str, models: list[str], repeat: int) -> dict[str, tuple[float, float]]:
    best: dict[str, tuple[float, float]] = {}
    for key in models:
        app = [app_seconds(at, key, request_file)]
        script = [plain_seconds(plain_process(request_file, key))]
        for turn in range(1, repeat):
            if turn % 2 == 1:
                script.append(plain_seconds(plain_process(request_file, key)))
                app.append(app_seconds(at, key, request_file))
            else:
                app.append(app_seconds(at, key, request_file))
                script.append(plain_seconds(plain_process(request_file, key)))
        best[key] = (min(app), min(script))
        print(f"  {key:28s} app {min(app):7.2f} s   script {min(script):7.2f} s   {min(app) / min(script):5.2f}x")
    return best


def sessions_at_once(csv: str, request_file: str, key: str, count: int) -> None:
    sessions = [on_models(csv) for _ in range(count)]
    started = time.time()
    jobs = [(press(at, key), time.time()) for at in sessions]
    while not all(job.wait(0) for job, _ in jobs):
        for at in sessions:
            at.run()
        time.sleep(0.2)
    ends = [job.snapshot().finished_at for job, _ in jobs]
    app_wall = max(ends) - started
    each = [end - click for end, (_, click) in zip(ends, jobs, strict=True)]

    start_at = time.time() + 20  # every script has imported its libraries by then
    processes = [plain_process(request_file, key, start_at) for _ in range(count)]
    script_wall = max(plain_result(process)["end"] for process in processes) - start_at
    print(f"{count} sessions at once, {key}:")
    print(f"  app: all done in {app_wall:.1f} s (each {', '.join(f'{s:.1f}' for s in each)} s)")
    print(f"  {count} plain scripts side by side (fits started together): all done in {script_wall:.1f} s")
    print(
        f"  ratio {app_wall / script_wall:.2f}x (goal <= 1.2x); the slowest session {max(each) / statistics.mean(each):.2f}x the mean"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2930)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--plain", nargs=3, metavar=("REQUEST", "MODEL", "START_AT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        request_file, key, start_at = args.plain
        seconds = plain(request_file, key, float(start_at))
        print(json.dumps({"seconds": seconds, "end": time.time()}))
        return 0
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    from core import engine

    with tempfile.TemporaryDirectory() as folder:
        csv = str(Path(folder) / "houses.csv")
        request_file = str(Path(folder) / "request.pickle")
        make_table(args.rows).to_csv(csv, index=False)
        print(f"table: {args.rows:,} rows × {make_table(5).shape[1]} columns; target {TARGET}; {os.cpu_count()} cores")
        at = on_models(csv)
        app_seconds(at, "ridge", request_file)  # warm-up: the cluster starts, its workers import the libraries
        print(engine.info().describe())
        print("quiet machine (best of", args.repeat, "):")
        compare(at, request_file, models, args.repeat)
        if args.busy:
            with busy(args.busy):
                print(f"beside {args.busy} busy processes:")
                compare(at, request_file, models, args.repeat)
        if args.sessions:
            app_seconds(at, models[0], request_file)  # the script's request: that model's
            sessions_at_once(csv, request_file, models[0], args.sessions)
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
