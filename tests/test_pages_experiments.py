"""The Experiments page through AppTest: runs recorded by training, listed, compared, reloaded."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from core import experiment_store, tracking
from ui import state

APP = "../app.py"


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def bodies(at: AppTest, kind: str) -> list[str]:
    return [e.body.replace("\\", "") for e in getattr(at, kind)]


def captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]


def codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


@pytest.fixture
def store_at(tmp_path, monkeypatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_with_no_runs_the_page_is_open_and_says_how_to_get_some(store_at):
    at = go(fresh(), "experiments")
    assert at.title[0].value == "9. Experiments"
    assert not any("Load a dataset first" in b for b in bodies(at, "info")), "never locked"
    assert any("No runs recorded yet" in b for b in bodies(at, "info"))
    assert any("local SQLite file" in c for c in captions(at))
    assert experiment_store.ui_command(store_at) in codes(at)


def test_an_unreadable_store_is_a_clear_message(tmp_path, monkeypatch):
    broken = tmp_path / "mlflow.db"
    broken.write_bytes(b"not a database" * 100)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{broken}")
    at = go(fresh(), "experiments")
    assert any("Could not read the experiment store" in b for b in bodies(at, "error"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """iris trained through the pages (two models + baseline), the run recorded in a fresh store."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    previous = os.environ["MLFLOW_TRACKING_URI"]
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        at = fresh()
        at.button(key="data_sample_iris").click().run()
        go(at, "target")
        at.button(key="target_confirm").click().run()
        go(at, "clean")
        go(at, "models")
        at.multiselect(key="models_chosen").set_value(["logistic_regression", "decision_tree_clf"]).run()
        at.button(key="models_train").click().run()
        job = at.session_state[state.JOB]
        assert job.wait(120)
        go(at, "train")
        yield at, uri, job
    finally:
        os.environ["MLFLOW_TRACKING_URI"] = previous


def test_training_records_the_run_once_and_the_train_page_says_so(trained):
    at, uri, job = trained
    assert job.after_run().status == "done" and job.after_run().value.ok
    assert any("Recorded 3 model runs" in c for c in captions(at))
    assert len(tracking.list_runs(uri)) == 3
    at.run()  # reruns of the page record nothing more
    assert not at.exception
    assert len(tracking.list_runs(uri)) == 3


def test_a_run_still_being_recorded_is_said_and_listed_once_it_is_there(trained, store_at):
    """Catches the page saying "No runs recorded yet" as if this session's run did not exist: a run takes
    seconds to record after it ends (on a worker), and a person who opens Experiments at once must hear
    that it is on its way, then see it without reloading.
    """
    from core.training import TrainingJob
    from tests.conftest import opened, session_of

    at, _, job = trained
    record, gate = tracking.recorder(store_at, "iris.csv"), threading.Event()

    def held_record(*args):
        gate.wait(60)
        return record(*args)

    held = TrainingJob(job.request, after_run=held_record).start()
    deadline = time.monotonic() + 120
    while held.after_run().status != "running":
        assert time.monotonic() < deadline, held.outcome()
        time.sleep(0.05)
    page = opened({**session_of(at), state.JOB: held}, "pages/experiments.py")
    assert any("Your last run is being recorded in the experiment log" in b for b in bodies(page, "info"))
    assert not any("No runs recorded yet" in b for b in bodies(page, "info")), "not told to train the run it has"
    gate.set()
    assert held.wait(120) and held.after_run().value.ok
    page.run()  # the page's own look (every 2 s in the browser) finds the run recorded and runs the page again
    assert not any("being recorded" in b or "No runs recorded yet" in b for b in bodies(page, "info"))
    assert len(page.dataframe[0].value) == 3, "this run's three model runs are listed"


def test_the_page_lists_filters_compares_and_reloads(trained):
    at, uri, _ = trained
    os.environ["MLFLOW_TRACKING_URI"] = uri
    go(at, "experiments")
    table = at.dataframe[0].value
    assert sorted(table["model"]) == ["Baseline", "Decision tree", "Logistic regression"]
    assert set(table["dataset"]) == {"iris.csv"} and set(table["metric"]) == {
        "F1 (macro)"
    }  # the label people read, not the key (several classes rank by macro F1)
    assert set(table["test"]) == {"—"}, "no test score yet: a dash, not None"
    assert at.selectbox(key="experiments_dataset").options == ["All", "iris.csv"]
    at.selectbox(key="experiments_task").set_value("multiclass classification").run()
    assert len(at.dataframe[0].value) == 3
    at.button_group(key="experiments_order").set_value("Best validation score first").run()
    ranked = at.dataframe[0].value
    scores = [float(s) for s in ranked["validation"]]
    assert scores == sorted(scores, reverse=True) and ranked["model"].iloc[-1] == "Baseline"

    picker = at.multiselect(key="experiments_compare")
    assert len(picker.options) == 3
    runs = tracking.list_runs(uri).set_index("model")["run_id"]
    picker.set_value([runs["Logistic regression"], runs["Decision tree"]]).run()
    assert not at.exception
    params = at.dataframe[1].value
    assert params.loc["max_depth", "differs"] and not params.loc["split.seed", "differs"]
    assert any("parameters differ" in c for c in captions(at))
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["barmode"] == "group" and len(spec["data"]) == 2
    assert "Accuracy" in spec["data"][0]["x"] and "Log loss" not in spec["data"][0]["x"], "one scale by default"
    at.toggle(key="experiments_differs_only").set_value(True).run()
    assert at.dataframe[1].value["differs"].all()
    at.segmented_control(key="experiments_split").set_value("training").run()
    assert "Training metrics" in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]

    at.selectbox(key="experiments_reload_run").set_value(runs["Logistic regression"]).run()
    assert any(f"runs:/{runs['Logistic regression']}/model" in c for c in codes(at))
    at.button(key="experiments_reload").click().run()
    assert not at.exception
    loaded = at.session_state[state.LOADED_MODELS]
    assert [m.name for m in loaded] == ["Logistic regression"]
    assert any("is loaded" in b for b in bodies(at, "success"))
    assert any(c.startswith("curl -s -X POST http://127.0.0.1:5001/invocations") for c in codes(at))
    go(at, "predict")
    assert any("Logistic regression (experiment run" in o for o in at.selectbox(key="predict_model").options)


def test_clicks_on_the_page_do_not_query_the_store_again_until_it_changes(trained, monkeypatch):
    at, uri, _ = trained
    os.environ["MLFLOW_TRACKING_URI"] = uri
    calls = []
    list_runs, compare_runs = tracking.list_runs, tracking.compare_runs
    monkeypatch.setattr(tracking, "list_runs", lambda *a, **k: calls.append("list") or list_runs(*a, **k))
    monkeypatch.setattr(tracking, "compare_runs", lambda *a, **k: calls.append("compare") or compare_runs(*a, **k))
    go(at, "experiments")
    runs = list(tracking.list_runs(uri)["run_id"][:2])
    at.multiselect(key="experiments_compare").set_value(runs).run()
    calls.clear()
    at.toggle(key="experiments_differs_only").set_value(True).run()
    at.selectbox(key="experiments_task").set_value("multiclass classification").run()
    assert not at.exception and calls == []
    tracking.log_test_scores(uri, runs[0], {"accuracy": 1.0, "f1_macro": 1.0})  # the store changed: read again
    at.run()
    assert calls == ["list", "compare"]
    assert at.dataframe[0].value.set_index("run")["test"].get(runs[0][:7]) == "1.0000"


def test_a_final_test_score_lands_in_the_models_run(trained):
    at, uri, _ = trained
    os.environ["MLFLOW_TRACKING_URI"] = uri
    go(at, "results")
    model = at.selectbox(key="results_model").value
    at.button(key="results_test").click().run()
    assert not at.exception
    row = tracking.list_runs(uri).set_index("model").loc[model]
    assert 0 <= row["test"] <= 1
