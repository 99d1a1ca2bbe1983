"""core.tracking: runs recorded in MLflow, found again (across processes), compared, reloaded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import charts, experiment_store, serving, tracking
from core.cleaning import CleaningPlan
from core.predict import check_batch, predict_frame, usable_from_training
from core.samples import load_sample
from core.schema import effective_roles, infer_roles
from core.split import SplitConfig
from core.target import Task, default_features
from core.training import ModelFailure, ModelRun, TrainedModel, TrainingJob, TrainSetup, make_request, run_training

ROOT = Path(__file__).resolve().parents[1]


def request_for(sample: str, target: str, task: Task, models: list[ModelRun], split: SplitConfig | None = None):
    ds = load_sample(sample)
    roles = effective_roles(infer_roles(ds.frame), {})
    features = [c for c, (use, _) in default_features(list(ds.frame.columns), roles, target).items() if use]
    setup = TrainSetup(split or SplitConfig(seed=3), models)
    return make_request(ds.frame, target, task, features, roles, CleaningPlan(), setup)


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """An initialised, empty SQLite store to copy (creating one runs MLflow's migrations: seconds)."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    client(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def fresh_uri(empty_store, tmp_path) -> str:
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture(scope="module")
def store(tmp_path_factory, empty_store):
    """Two iris runs (forests of 5 and 10 trees, CV on) and one diabetes run in one SQLite store."""
    folder = tmp_path_factory.mktemp("mlflow")
    shutil.copy(empty_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    iris = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [
            ModelRun("logistic_regression", "Logistic regression"),
            ModelRun("random_forest_clf", "Forest", {"n_estimators": 5}),
        ],
        SplitConfig(seed=3, cv_folds=3),
    )
    iris_results = run_training(iris)
    first = tracking.record_training(uri, iris, iris_results, "iris.csv", seconds=1.5)
    iris2 = request_for(  # cross-validation switched off (automatic would cross-validate 150 rows)
        "iris",
        "species",
        Task.MULTICLASS,
        [ModelRun("random_forest_clf", "Forest", {"n_estimators": 10})],
        SplitConfig(seed=3, cv_folds=0),
    )
    second = tracking.record_training(uri, iris2, run_training(iris2), "iris.csv")
    diabetes = request_for("diabetes", "disease_progression", Task.REGRESSION, [ModelRun("ridge", "Ridge")])
    third = tracking.record_training(uri, diabetes, run_training(diabetes), "diabetes.csv")
    assert first.ok and second.ok and third.ok, (first.message, second.message, third.message)
    return {
        "uri": uri,
        "folder": folder,
        "iris": (iris, iris_results, first),
        "iris2": second,
        "diabetes": third,
    }


def client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(uri)


def test_default_store_is_sqlite_in_the_data_folder_unless_the_environment_says_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert experiment_store.default_tracking_uri() == f"sqlite:///{ROOT / 'data' / 'mlflow.db'}"
    assert experiment_store.artifact_root(f"sqlite:///{tmp_path / 'x.db'}") == (tmp_path / "mlartifacts").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert experiment_store.default_tracking_uri() == "http://tracking.example:5000"
    assert experiment_store.artifact_root("http://tracking.example:5000") is None
    assert "data/" in (ROOT / ".gitignore").read_text().splitlines()


def test_importing_tracking_does_not_import_mlflow():
    code = "import sys, core.tracking, core.training; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_training_run_is_a_parent_run_with_one_child_per_model(store):
    report = store["iris"][2]
    c = client(store["uri"])
    parent = c.get_run(report.training_run_id)
    assert parent.data.tags[tracking.KIND] == "training"
    assert parent.data.tags[tracking.DATASET] == "iris.csv"
    assert parent.data.tags[tracking.TASK] == Task.MULTICLASS.value
    assert parent.data.params["target"] == "species" and parent.data.params["split.seed"] == "3"
    assert parent.data.metrics["duration_seconds"] == 1.5 and parent.data.metrics["models_trained"] == 3
    assert len(parent.data.tags[tracking.FINGERPRINT]) == 64
    assert set(report.model_runs) == {"Baseline", "Logistic regression", "Forest"}
    for run_id in report.model_runs.values():
        assert c.get_run(run_id).data.tags["mlflow.parentRunId"] == report.training_run_id
    # The chosen model is logged as refitted on training + validation rows, and its card says how it was chosen.
    tags = {name: c.get_run(run_id).data.tags for name, run_id in report.model_runs.items()}
    chosen = [name for name, t in tags.items() if t.get(tracking.CHOSEN) == "true"]
    assert len(chosen) == 1 and tags[chosen[0]][tracking.REFITTED] == "true"
    request = store["iris"][0]
    card = tracking.read_json(c, report.model_runs[chosen[0]], tracking.CARD_FILE)
    rows = len(request.split.train) + len(request.split.valid)
    assert card["choice"]["refitted"] and card["choice"]["refit_rows"] == rows
    assert "was chosen by 3-fold cross-validation and then refitted" in card["choice"]["summary"]


def test_a_model_run_has_params_metrics_per_split_tags_and_artefacts(store):
    request, results, report = store["iris"]
    forest = next(r for r in results if r.name == "Forest")
    run = client(store["uri"]).get_run(report.model_runs["Forest"])
    data = run.data
    assert data.params["n_estimators"] == "5" and data.params["split.cv_folds"] == "3"
    assert data.metrics["valid_accuracy"] == pytest.approx(forest.scores["accuracy"])
    assert data.metrics["train_accuracy"] == pytest.approx(forest.train_scores["accuracy"])
    assert data.metrics["cv_f1_macro_mean"] == pytest.approx(forest.cv_scores["cv_f1_macro_mean"])
    assert data.metrics["duration_seconds"] == pytest.approx(forest.seconds)
    assert not any(k.startswith("test_") for k in data.metrics), "test scores only once the person asks"
    assert data.tags[tracking.MODEL] == "Forest" and data.tags[tracking.MODEL_KEY] == "random_forest_clf"
    assert (
        data.tags[tracking.FINGERPRINT]
        == client(store["uri"]).get_run(report.training_run_id).data.tags[tracking.FINGERPRINT]
    )
    folder = Path(run.info.artifact_uri.removeprefix("file://"))
    assert folder.is_relative_to(store["folder"] / "mlartifacts"), "artefacts sit next to the SQLite file"
    assert json.loads((folder / tracking.PLAN_FILE).read_text()) == request.plan.to_dict()
    assert json.loads((folder / tracking.SPLIT_FILE).read_text())["rows"] == request.split.sizes()
    assert (folder / tracking.BUNDLE_DIR / serving.BUNDLE_FILE).stat().st_size > 0
    assert (folder / "model" / "MLmodel").exists()
    assert [p.name for p in (folder / "model" / "code").iterdir()] == [serving.CODE_ARCHIVE], "the code as one file"
    assert not list((folder / "model").rglob("*.pkl")), "the served model is code + bundle, no pickle"
    assert len(list(folder.rglob("*"))) < 30, "a model run stores a handful of files, not a copy of every module"


def test_a_recorded_model_predicts_where_the_app_is_not_installed(store, tmp_path):
    """MLflow loads the served model in a process whose only copy of the app's code is the model's own zip."""
    run = next(
        r for r in tracking.model_runs_of(store["uri"], store["iris"][2].training_run_id) if r["name"] == "Forest"
    )
    folder = Path(client(store["uri"]).get_run(run["run_id"]).info.artifact_uri.removeprefix("file://")) / "model"
    rows = load_sample("iris").frame.drop(columns="species").head(5)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code = (
        "import sys, json, mlflow.pyfunc, pandas as pd;"
        "model = mlflow.pyfunc.load_model(sys.argv[1]);"
        "import core;"
        "out = model.predict(pd.read_csv(sys.argv[2]));"
        "print(json.dumps({'core': core.__file__, 'labels': list(out.iloc[:, 0].astype(str))}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(tmp_path / "rows.csv")],
        cwd=tmp_path,  # not the project folder: `import core` finds only the zip
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert serving.CODE_ARCHIVE in answer["core"], "the code came from the model's zip"
    usable = tracking.load_run_model(store["uri"], run["run_id"])
    expected = predict_frame(usable, check_batch(rows, usable.schema)[0])
    assert answer["labels"] == list(expected.iloc[:, 0].astype(str))


def test_runs_persist_across_a_new_process(store):
    code = (
        "import json, sys; from core import tracking;"
        "table = tracking.list_runs(sys.argv[1]);"
        "print(json.dumps(sorted(table['run_id'])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, store["uri"]], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == sorted(tracking.list_runs(store["uri"])["run_id"])


def test_list_runs_newest_first_with_main_metrics_and_filters(store):
    table = tracking.list_runs(store["uri"])
    assert len(table) == 7  # (2 + 1 + 1) models and 3 baselines; training runs are not listed
    assert table["date"].is_monotonic_decreasing
    assert list(table.columns) == tracking.RUN_COLUMNS
    iris = tracking.list_runs(store["uri"], dataset="iris.csv")
    assert set(iris["dataset"]) == {"iris.csv"} and len(iris) == 5
    regression = tracking.list_runs(store["uri"], task=Task.REGRESSION)
    assert list(regression["model"]) == ["Ridge", "Baseline"] and regression.loc[0, "metric"] == "r2"
    assert np.isfinite(regression.loc[0, "validation"]) and np.isnan(regression.loc[0, "test"])
    assert tracking.list_runs(store["uri"], dataset="iris.csv", task="regression").empty


def test_an_empty_store_lists_no_runs(tmp_path, fresh_uri):
    missing = f"sqlite:///{tmp_path / 'never' / 'mlflow.db'}"
    assert tracking.list_runs(missing).empty and not (tmp_path / "never").exists(), "listing creates nothing"
    table = tracking.list_runs(fresh_uri)
    assert table.empty and list(table.columns) == tracking.RUN_COLUMNS


def test_compare_flags_the_parameters_that_differ(store):
    a = store["iris"][2].model_runs["Forest"]
    b = store["iris2"].model_runs["Forest"]
    params, metrics = tracking.compare_runs(store["uri"], [a, b])
    assert params.loc["n_estimators", "differs"]
    assert list(params.loc["n_estimators", params.columns[:2]]) == ["5", "10"]
    assert params.loc["split.cv_folds", "differs"]  # the first run cross-validated
    assert not params.loc["split.seed", "differs"] and not params.loc["max_depth", "differs"]
    assert "valid_accuracy" in metrics.index and list(metrics.columns) == list(params.columns[:2])
    assert np.isnan(metrics.loc["cv_f1_macro_mean", metrics.columns[1]])


def test_compare_marks_a_setting_only_one_model_has(store):
    runs = store["iris"][2].model_runs
    params, _ = tracking.compare_runs(store["uri"], [runs["Logistic regression"], runs["Forest"]])
    assert params.loc["C", "differs"] and params.loc["n_estimators", "differs"]
    assert not params.loc["imbalance", "differs"]


def test_metrics_chart_groups_runs_by_metric(store):
    a = store["iris"][2].model_runs["Forest"]
    b = store["iris2"].model_runs["Forest"]
    _, metrics = tracking.compare_runs(store["uri"], [a, b])
    valid = metrics.loc[[m for m in metrics.index if m.startswith("valid_")]]
    fig = charts.run_metrics_chart(valid)
    assert fig.layout.barmode == "group" and len(fig.data) == 2
    assert list(fig.data[0].x) == list(valid.index)
    assert [t.name for t in fig.data] == list(valid.columns)


def test_one_splits_metrics_and_those_on_one_scale():
    metrics = pd.DataFrame(
        {"a": [0.9, 0.5, 120.0, 0.3, 0.8], "b": [0.8, float("nan"), 100.0, 0.4, 0.7]},
        index=["valid_accuracy", "valid_roc_auc", "valid_mae", "valid_r2", "train_accuracy"],
    )
    valid = tracking.split_metrics(metrics, "valid_")
    assert list(valid.index) == ["accuracy", "roc_auc", "mae", "r2"]
    assert tracking.same_scale(valid) == ["accuracy", "r2"]  # roc_auc: one run lacks it; mae: another scale


def test_metrics_chart_escapes_labels_and_leaves_gaps():
    frame = pd.DataFrame({"<b>run</b>": [1.0, float("nan")]}, index=["valid_r2", "cv_r2_mean"])
    fig = charts.run_metrics_chart(frame)
    assert fig.data[0].name == "&lt;b&gt;run&lt;/b&gt;" and fig.data[0].y[1] is None


def test_reloaded_model_predicts_exactly_like_the_trained_one(store):
    request, results, report = store["iris"]
    forest = next(r for r in results if r.name == "Forest")
    original = usable_from_training(forest, request, "iris.csv")
    reloaded = tracking.load_run_model(store["uri"], report.model_runs["Forest"])
    assert reloaded.name == "Forest" and "experiment run" in reloaded.origin
    assert reloaded.card["tracking"]["model_uri"] == serving.model_uri(report.model_runs["Forest"])
    rows = request.frame.iloc[request.split.test][request.features].reset_index(drop=True)
    pd.testing.assert_frame_equal(predict_frame(reloaded, rows), predict_frame(original, rows))


def test_test_scores_are_added_to_the_model_run(fresh_uri):
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])
    uri = fresh_uri
    _, runs = tracking.log_training(uri, request, run_training(request), "iris.csv")
    tracking.log_test_scores(uri, runs["Logistic regression"], {"accuracy": 0.9, "roc_auc": float("nan")})
    tracking.log_test_scores(uri, runs["Logistic regression"], {"accuracy": 0.91, "f1_macro": 0.9})
    metrics = client(uri).get_run(runs["Logistic regression"]).data.metrics
    assert metrics["test_accuracy"] == 0.91 and metrics["test_looks"] == 2 and "test_roc_auc" not in metrics
    table = tracking.list_runs(uri)
    assert table.set_index("model").loc["Logistic regression", "test"] == 0.9  # macro F1: several classes


def test_the_store_version_changes_with_every_write(fresh_uri, tmp_path):
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])
    empty = experiment_store.store_version(fresh_uri)
    _, runs = tracking.log_training(fresh_uri, request, run_training(request), "iris.csv")
    recorded = experiment_store.store_version(fresh_uri)
    tracking.list_runs(fresh_uri)
    assert experiment_store.store_version(fresh_uri) == recorded != empty, "reading changes nothing"
    tracking.log_test_scores(fresh_uri, runs["Logistic regression"], {"accuracy": 0.9})
    assert experiment_store.store_version(fresh_uri) != recorded
    assert experiment_store.store_version(f"sqlite:///{tmp_path / 'never' / 'mlflow.db'}") == ()
    assert experiment_store.store_version("http://tracking.example:5000") is None, "a server cannot tell without asking"


def test_a_failed_model_is_a_failed_run_with_its_reason(fresh_uri):
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])
    results = [*run_training(request), ModelFailure("Broken", "svm_clf", "It broke.")]
    uri = fresh_uri
    _, runs = tracking.log_training(uri, request, results, "iris.csv")
    assert "Broken" not in runs
    table = tracking.list_runs(uri).set_index("model")
    assert table.loc["Broken", "status"] == "failed" and table.loc["Baseline", "status"] == "finished"


def unwritable(tmp_path: Path) -> str:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    return f"sqlite:///{blocker / 'mlflow.db'}"


def test_a_failing_store_is_reported_not_raised(tmp_path):
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])
    results = run_training(request)
    report = tracking.record_training(unwritable(tmp_path), request, results, "iris.csv")
    assert not report.ok and "not recorded" in report.message and "kept" in report.message
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(tracking.TrackingError, match="Could not read the experiment store"):
        tracking.list_runs(f"sqlite:///{corrupt}")


def test_the_training_job_records_once_after_the_run_and_keeps_models_when_the_store_fails(tmp_path):
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])
    calls = []

    def hook(req, results, seconds, outcome):
        calls.append((req, len(results), seconds, outcome))
        return tracking.record_training(unwritable(tmp_path), req, results, "iris.csv", seconds, outcome)

    job = TrainingJob(request, after_run=hook)
    assert job.after_run().status == "pending"
    job.start()
    assert job.wait(120)
    assert len(calls) == 1 and calls[0][0] is request and calls[0][1] == 2 and calls[0][2] > 0
    assert calls[0][3] == "finished"
    after = job.after_run()
    assert after.status == "done" and not after.value.ok
    assert job.snapshot().status == "finished"
    assert [type(r) for r in job.snapshot().results] == [TrainedModel, TrainedModel]


def test_a_hook_that_raises_is_kept_as_a_failure(tmp_path):
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])

    def hook(req, results, seconds, outcome):
        raise RuntimeError("store on fire")

    job = TrainingJob(request, after_run=hook).start()
    assert job.wait(120)
    assert job.after_run().status == "failed" and "store on fire" in job.after_run().error
    assert job.snapshot().status == "finished" and len(job.snapshot().results) == 2
    assert TrainingJob(request).after_run().status == "none"


def test_a_test_score_asked_while_the_run_is_recorded_reaches_the_models_run(fresh_uri):
    """Catches a test score lost (or a page held up) when it is scored before the run's recording has ended.

    The recording is held at a gate, as a slow store would hold it; the score waits on the job and
    its thread writes it right after the recording, before the job stops saying it is recording.
    """
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])
    record, gate, seen = tracking.recorder(fresh_uri, "iris.csv"), threading.Event(), []

    def held_record(*args):
        gate.wait(60)
        return record(*args)

    job = TrainingJob(request, after_run=held_record).start()
    deadline = time.monotonic() + 120
    while job.after_run().status != "running":
        assert time.monotonic() < deadline, job.outcome()
        time.sleep(0.05)
    assert tracking.log_test_scores_when_recorded(job, "Logistic regression", {"accuracy": 0.9}) == "queued"
    assert job.when_after_run(seen.append)
    assert job.after_run().pending and not seen, "nothing runs before the recording"
    gate.set()
    assert job.wait(120)
    after = job.after_run()
    assert after.status == "done" and after.value.ok and seen == [after], "queued calls get the recording's result"
    run_id = after.value.model_runs["Logistic regression"]
    metrics = client(fresh_uri).get_run(run_id).data.metrics
    assert metrics["test_accuracy"] == 0.9 and metrics["test_looks"] == 1
    # once recorded, a score is written at once, and nothing is queued any more
    assert not job.when_after_run(seen.append) and len(seen) == 1
    assert tracking.log_test_scores_when_recorded(job, "Logistic regression", {"accuracy": 0.8}) == "logged"
    assert client(fresh_uri).get_run(run_id).data.metrics["test_looks"] == 2
    assert tracking.log_test_scores_when_recorded(job, "Another model", {"accuracy": 0.8}) == "not recorded"


class WhereRecorded(tracking.Recorder):
    """The app's recorder, saying which process ran it."""

    def __call__(self, *args):
        return os.getpid(), super().__call__(*args)


def test_a_run_is_recorded_on_the_cluster_with_the_models_as_the_session_has_them(fresh_uri):
    """Catches recording in the app's process (seconds of its one interpreter per run, which every page
    waited for under a class's load) and, on the cluster, a model recorded other than the session holds
    it (the chosen model's refit lost on the way, a pipeline swapped between models).
    """
    request = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [ModelRun("logistic_regression", "Logistic regression"), ModelRun("random_forest_clf", "Forest")],
    )
    job = TrainingJob(request, after_run=WhereRecorded(fresh_uri, "iris.csv")).start()
    assert job.wait(180)
    after = job.after_run()
    assert after.status == "done", after.error
    pid, report = after.value
    assert pid != os.getpid(), "recorded in the app's process"
    assert report.ok, report.message
    trained = [r for r in job.snapshot().results if isinstance(r, TrainedModel)]
    assert len(trained) == 3 and sum(r.refitted for r in trained) == 1
    rows = request.frame.iloc[request.split.test][request.features].reset_index(drop=True)
    for model in trained:
        reloaded = tracking.load_run_model(fresh_uri, report.model_runs[model.name])
        original = usable_from_training(model, request, "iris.csv")
        pd.testing.assert_frame_equal(predict_frame(reloaded, rows), predict_frame(original, rows))
    tags = {m.name: client(fresh_uri).get_run(report.model_runs[m.name]).data.tags for m in trained}
    assert [name for name, t in tags.items() if t.get(tracking.REFITTED) == "true"] == [
        next(m.name for m in trained if m.refitted)
    ]


def test_a_run_is_recorded_on_workers_that_reach_the_store():
    """Catches a classroom worker on another machine asked to write to this machine's file or loopback server."""
    from core.training.run import ANY_MACHINE, THIS_MACHINE

    here = [f"sqlite:///{ROOT}/data/mlflow.db", "http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:5000"]
    assert [tracking.recorder(uri, "x.csv").runs_on_cluster for uri in here] == [THIS_MACHINE] * 4
    assert tracking.recorder("https://mlflow.school.lan", "x.csv").runs_on_cluster == ANY_MACHINE
    # a path relative to the app's working folder may name another file in a worker's: the app records
    for uri in ("sqlite:///mlflow.db", "./mlruns", "postgresql://db.school.lan/mlflow"):
        assert tracking.recorder(uri, "x.csv").runs_on_cluster is None, uri


def test_queued_calls_hear_of_a_hook_that_failed_and_a_job_without_hook_queues_nothing(monkeypatch):
    from core.tracking import record as recording

    written = []
    monkeypatch.setattr(recording, "log_test_scores", lambda uri, run, scores: written.append((uri, run, scores)))
    request = request_for("iris", "species", Task.MULTICLASS, [ModelRun("logistic_regression", "Logistic regression")])
    gate, seen = threading.Event(), []

    def broken(*args):
        gate.wait(60)
        raise RuntimeError("store on fire")

    job = TrainingJob(request, after_run=broken).start()
    assert job.when_after_run(lambda after: 1 / 0), "queued before the run even ended"
    assert job.when_after_run(seen.append)
    assert tracking.log_test_scores_when_recorded(job, "Logistic regression", {"accuracy": 0.9}) == "queued"
    gate.set()
    assert job.wait(120)
    assert [a.status for a in seen] == ["failed"], "a queued call that raises does not stop the next"
    assert job.after_run().status == "failed" and not written, "no run, no score written"

    restored = TrainingJob.restored(
        request, [], tracking.TrackingReport(True, "recorded", "sqlite:///x.db", "parent", {"Ridge": "run-7"})
    )
    assert not restored.when_after_run(seen.append) and len(seen) == 1
    assert tracking.log_test_scores_when_recorded(restored, "Ridge", {"r2": 0.8}) == "logged"
    assert written == [("sqlite:///x.db", "run-7", {"r2": 0.8})]
    assert tracking.log_test_scores_when_recorded(restored, "Another model", {"r2": 0.8}) == "not recorded"
    assert tracking.log_test_scores_when_recorded(TrainingJob(request), "Ridge", {"r2": 0.8}) == "not recorded"


def test_serve_command_and_curl_example(store):
    run_id = store["iris"][2].model_runs["Forest"]
    uri = store["uri"]
    command = serving.serve_command(serving.model_uri(run_id), port=5123, tracking_uri=uri)
    assert command == f"MLFLOW_TRACKING_URI={uri} python -m core.serving --model-uri runs:/{run_id}/model --port 5123"
    assert serving.serve_command("/tmp/model dir", 5001) == (
        "python -m core.serving --model-uri '/tmp/model dir' --port 5001"
    )
    usable = tracking.load_run_model(uri, run_id)
    curl = serving.curl_example(usable.schema, 5123)
    assert curl.startswith("curl -s -X POST http://127.0.0.1:5123/invocations")
    body = json.loads(curl.split("-d ", 1)[1].strip("'"))
    assert body["dataframe_split"]["columns"] == usable.schema.names
    assert len(body["dataframe_split"]["data"]) == 1
    assert experiment_store.ui_command(uri).startswith(f"mlflow ui --backend-store-uri {uri}")


def test_curl_example_quotes_awkward_column_names():
    from core.usable import ColumnSchema, FeatureSchema

    schema = FeatureSchema((ColumnSchema("it's <b>", "categorical", "category", "str", categories=("a'b",)),))
    curl = serving.curl_example(schema, 5001)
    import shlex

    body = json.loads(shlex.split(curl.replace("\\\n", " "))[-1])
    assert body == {"dataframe_split": {"columns": ["it's <b>"], "data": [["a'b"]]}}


def test_a_run_stopped_because_new_data_was_loaded_is_recorded_as_stopped(fresh_uri):
    request = request_for(
        "iris",
        "species",
        Task.MULTICLASS,
        [ModelRun("random_forest_clf", f"Forest {i}", {"n_estimators": 300}) for i in range(4)],
    )

    def record(req, results, seconds, outcome):
        return tracking.record_training(fresh_uri, req, results, "iris.csv", seconds, outcome)

    job = TrainingJob(request, after_run=record).start()
    deadline = time.time() + 60
    while not job.snapshot().results and time.time() < deadline:
        time.sleep(0.02)
    job.stop("other data was loaded")
    job.stop("stopped by you")  # the first reason is kept
    assert job.wait(120)
    while job.after_run().pending:
        time.sleep(0.05)
    report = job.after_run().value
    assert job.outcome() == "stopped: other data was loaded"
    assert report.ok and "recorded as stopped: other data was loaded" in report.message
    parent = client(fresh_uri).get_run(report.training_run_id)
    assert parent.info.status == "KILLED"
    assert parent.data.tags[tracking.OUTCOME] == "stopped: other data was loaded"
    assert len(report.model_runs) < 5, "the models not trained are not pretended"


def test_best_first_orders_each_metric_in_its_direction_and_unscored_runs_last():
    runs = pd.DataFrame(
        {
            "run_id": list("abcdef"),
            "metric": ["rmse", "accuracy", "rmse", "accuracy", "accuracy", "rmse"],
            "validation": [3.0, 0.7, 1.5, float("nan"), 0.9, 2.0],
        }
    )
    ordered = tracking.best_first(runs)
    assert list(ordered["run_id"]) == ["e", "b", "d", "c", "f", "a"]  # accuracy high first, rmse low first
