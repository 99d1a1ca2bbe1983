"""A tracked or exported model served as a REST API by MLflow's model server answers like the app.

Starts ``python -m core.serving --model-uri runs:/…`` for a logged model, or
``python -m core.serving bundle.zip`` for an exported bundle (the commands the
app shows, run by the venv's python, bound to 127.0.0.1 on a free port), waits
for ``/ping``, posts rows as ``dataframe_split`` (and ``dataframe_records``), and
compares the answers with :func:`core.predict.predict_frame`. The server is
always stopped. Bad requests: ``tests/test_serve_guard.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import serving, tracking
from core.cleaning import CleaningPlan
from core.export import export_bundle
from core.predict import check_batch, predict_frame, usable_from_training
from core.samples import load_sample
from core.schema import effective_roles, infer_roles
from core.split import SplitConfig
from core.target import Task, default_features
from core.training import ModelRun, TrainedModel, TrainSetup, make_request, run_training

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 120.0

CASES = [
    # mixed numbers, categories (yes/no, neighbourhoods) and a date column
    ("house_prices", "price", Task.REGRESSION, ModelRun("ridge", "Ridge")),
    # free text, categories and numbers; class probabilities in the answer
    ("spam", "label", Task.BINARY, ModelRun("logistic_regression", "Logistic regression")),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, body: dict) -> dict:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def wait_for_ping(process: subprocess.Popen, port: int, log: Path) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            pytest.fail(f"the model server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the model server did not answer /ping within {STARTUP_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server's whole process group (the server, MLflow's CLI, uvicorn)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def assert_same_predictions(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[column]):
            np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-9)
        else:
            assert got[column].astype(str).tolist() == expected[column].astype(str).tolist()


def train(sample: str, target: str, task: Task, run: ModelRun):
    ds = load_sample(sample)
    roles = effective_roles(infer_roles(ds.frame), {})
    features = [c for c, (use, _) in default_features(list(ds.frame.columns), roles, target).items() if use]
    request = make_request(
        ds.frame, target, task, features, roles, CleaningPlan(), TrainSetup(SplitConfig(seed=5), [run])
    )
    return ds, features, request, run_training(request)


@pytest.mark.slow
@pytest.mark.parametrize(("sample", "target", "task", "run"), CASES, ids=[c[0] for c in CASES])
def test_served_model_answers_like_the_app(tmp_path, sample, target, task, run):
    ds, features, request, results = train(sample, target, task, run)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _, runs = tracking.log_training(uri, request, results, f"{sample}.csv")
    usable = tracking.load_run_model(uri, runs[run.name])

    rows = ds.frame.iloc[request.split.test[:8]][features].reset_index(drop=True)
    expected = predict_frame(usable, check_batch(rows, usable.schema)[0])

    command = serving.serve_command(serving.model_uri(runs[run.name]), port=free_port(), tracking_uri=uri)
    assert "python -m core.serving --model-uri runs:/" in command
    port = int(command.rsplit("--port ", 1)[1])
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1"}
    # run the very command the app shows, with the venv's python, from the project folder
    tokens = shlex.split(command)
    assert tokens[0] == f"MLFLOW_TRACKING_URI={uri}" and tokens[1] == "python"
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, *tokens[2:]],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        seconds = wait_for_ping(process, port, log)
        print(f"\nmodel server for {sample} answered /ping after {seconds:.1f} s")
        split_body = serving.request_body(usable.schema, rows)
        answer = pd.DataFrame(post(port, split_body)["predictions"])
        records = json.loads(rows.to_json(orient="records", date_format="iso"))
        by_records = pd.DataFrame(post(port, {"dataframe_records": records})["predictions"])
        example = json.loads(serving.curl_example(usable.schema, port).split("-d ", 1)[1].strip("'"))
        assert len(post(port, example)["predictions"]) == 1
        with pytest.raises(urllib.error.HTTPError) as refused:  # the request guard is on this path too
            post(port, {"dataframe_split": {"columns": usable.schema.names, "data": []}})
        assert refused.value.code == 400
        assert json.loads(refused.value.read()) == {
            "error_code": "BAD_REQUEST",
            "message": "The file has no rows to predict. Upload a file with at least one data row.",
        }
    finally:
        stop(process)

    for got in (answer, by_records):
        assert_same_predictions(got, expected)


# --------------------------------------------------------------------------- an exported bundle


@pytest.mark.slow
def test_an_exported_bundle_is_served_by_one_command(tmp_path):
    run = ModelRun("logistic_regression", "Logistic regression")
    ds, features, request, results = train("iris", "species", Task.MULTICLASS, run)
    model = next(r for r in results if isinstance(r, TrainedModel) and r.name == run.name)
    usable = usable_from_training(model, request, "iris.csv")
    (tmp_path / "bundle.zip").write_bytes(export_bundle(usable))
    rows = ds.frame.iloc[request.split.test[:10]][features].reset_index(drop=True)
    expected = predict_frame(usable, check_batch(rows, usable.schema)[0])

    port = free_port()
    # the very command the Predict page shows (with the bundle's full path), run by the venv's python
    tokens = shlex.split(serving.bundle_serve_command(str(tmp_path / "bundle.zip"), port))
    assert tokens[0] == "python"
    scratch = tmp_path / "scratch"  # the command's temporary model folder goes here: checked after the stop
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, *tokens[1:]],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        seconds = wait_for_ping(process, port, log)
        print(f"\nbundle server answered /ping after {seconds:.1f} s")
        answer = pd.DataFrame(post(port, serving.request_body(usable.schema, rows))["predictions"])
        hint = next(line for line in log.read_text().splitlines() if line.startswith("Try: curl"))
        example = json.loads(shlex.split(hint.removeprefix("Try: "))[-1])
        assert len(post(port, example)["predictions"]) == 1
    finally:
        stop(process)

    assert_same_predictions(answer, expected)
    printed = log.read_text()
    assert f"http://127.0.0.1:{port}/invocations" in printed
    assert "Traceback" not in printed
    assert not list(scratch.glob("nocode-serve-*")), "the temporary model folder is removed when the server stops"


def test_a_pickle_renamed_as_a_bundle_is_refused(tmp_path):
    import pickle

    (tmp_path / "evil.zip").write_bytes(pickle.dumps({"x": 1}))
    done = subprocess.run(
        [sys.executable, "-m", "core.serving", str(tmp_path / "evil.zip"), "--port", str(free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == serving.REFUSED == 2
    assert "not a model bundle" in done.stderr and "pickle and joblib files are never opened" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_bundle_serve_command_quotes_the_file_name():
    assert serving.bundle_serve_command("iris-bundle.zip") == "python -m core.serving iris-bundle.zip --port 5001"
    assert serving.bundle_serve_command("my model's bundle.zip", 5123) == (
        "python -m core.serving 'my model'\"'\"'s bundle.zip' --port 5123"
    )
    assert shlex.split(serving.bundle_serve_command("a b;rm -rf ~.zip"))[3] == "a b;rm -rf ~.zip"


def test_the_served_script_builds_the_bundle_model_of_core_served_model():
    """The script MLflow runs names a class that exists, and the scripts of earlier versions are still accepted."""
    from core.served_model import BundleModel

    namespace: dict = {}
    exec(serving.SERVED_MODEL_SCRIPT.replace("mlflow.models.set_model(BundleModel())", ""), namespace)
    assert namespace["BundleModel"] is BundleModel
    earlier = "from core.tracking import BundleModel"
    assert any(earlier in script for script in serving.SERVED_MODEL_SCRIPTS)


def test_request_columns_are_typed_from_the_training_dtypes():
    from core.usable import ColumnSchema

    def typed(kind: str, dtype: str) -> str:
        return serving._column_type(ColumnSchema("c", "r", kind, dtype))

    assert typed("number", "int64") == typed("number", "object") == "double"
    assert [typed("category", d) for d in ("Int64", "uint8", "float32", "bool", "boolean")] == [
        "long",
        "long",
        "double",
        "boolean",
        "boolean",
    ]
    assert {typed("category", d) for d in ("object", "str", "category", "interval", "no such dtype")} == {"string"}
    assert typed("text", "int64") == typed("date", "datetime64[ns]") == "string"
