"""Workspaces and restoring the last run after a reload (AppTest): what a person would notice.

A reload is a new session; the workspace id in the address (``?ws=…``) comes with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import experiment_store
from ui import state

APP = "../app.py"


def session(ws: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if ws is not None:
        at.query_params["ws"] = ws
    at.run()
    assert not at.exception
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    return at


def train(at: AppTest, models: list[str]) -> None:
    go(at, "target")
    at.button(key="target_confirm").click().run()
    go(at, "clean")
    go(at, "models")
    at.multiselect(key="models_chosen").set_value(models).run()
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    assert job.wait(120)
    while job.after_run().pending or job.checking:
        job.wait(0.1)
    assert job.after_run().value.ok, job.after_run().value.message


@pytest.fixture
def own_store(tmp_path, monkeypatch):
    """A store of this test's own, so the 'last run' is this test's."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_a_reload_offers_the_last_run_of_the_workspace_and_brings_it_back(own_store):
    first = session()
    ws = first.session_state[state.WORKSPACE]
    assert first.query_params["ws"] == [ws] or first.query_params["ws"] == ws, "the workspace is in the address"
    first.button(key="data_sample_iris").click().run()
    train(first, ["logistic_regression", "decision_tree_clf"])
    trained = {m.name: m.scores for m in first.session_state[state.JOB].snapshot().results}

    again = session(ws)  # the reload: a new session with the same address
    offer = [c.value for c in again.caption if "Your last run" in c.value]
    assert offer and "iris" in offer[0].lower() and "3 models" in offer[0]
    again.button(key="data_restore").click().run()
    assert not again.exception
    assert any("Restored 3 trained models" in s.body for s in again.success)
    job = again.session_state[state.JOB]
    restored = {m.name: m.scores for m in job.snapshot().results}
    assert restored.keys() == trained.keys()
    for name, scores in trained.items():
        for key, value in scores.items():
            assert restored[name][key] == pytest.approx(value, nan_ok=True), (name, key)
    assert again.session_state[state.TARGET].target == "species"
    chosen = [m for m in job.snapshot().results if m.refit is not None]
    assert len(chosen) == 1 and chosen[0].refitted, "the chosen model comes back refitted, and says so"
    go(again, "results")
    assert not again.exception and again.metric, "the Results page reads the restored models"
    assert any(
        "brought back refitted on training + validation rows" in c.value.replace("\\", "") for c in again.caption
    )


def test_an_uploaded_file_is_asked_for_again_and_a_different_file_restores_the_settings_only(own_store):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = np.where(frame["a"] + rng.normal(size=200) > 0, "yes", "no")
    first = session()
    ws = first.session_state[state.WORKSPACE]
    first.file_uploader(key="data_upload").set_value(("mine.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    train(first, ["logistic_regression"])

    again = session(ws)
    again.button(key="data_restore").click().run()
    assert any("upload 'mine.csv' again" in i.body.replace("\\", "") for i in again.info)
    changed = frame.assign(a=frame["a"] + 1)
    again.file_uploader(key="data_upload").set_value(
        ("mine.csv", changed.to_csv(index=False).encode(), "text/csv")
    ).run()
    assert not again.exception
    assert any("differs from the data of the recorded run" in e.body for e in again.error)
    assert again.session_state[state.JOB] is None and again.session_state[state.TARGET].target == "y"


def test_workspaces_see_their_own_runs_when_the_app_is_shared(own_store, monkeypatch):
    monkeypatch.setenv(experiment_store.EXPERIMENTS_SETTING, "workspace")
    mine = session()
    mine.button(key="data_sample_iris").click().run()
    train(mine, ["logistic_regression"])
    go(mine, "experiments")
    assert len(mine.dataframe[0].value) == 2, "my run: the model and the baseline"

    other = session()  # another visitor: a new workspace
    assert other.session_state[state.WORKSPACE] != mine.session_state[state.WORKSPACE]
    assert not [c for c in other.caption if "Your last run" in c.value], "nothing of mine is offered"
    go(other, "experiments")
    assert any("No runs recorded yet" in i.body for i in other.info)


def test_a_shared_server_never_shows_its_paths(own_store, monkeypatch):
    from streamlit import config

    previous = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = session()
        at.button(key="data_sample_iris").click().run()
        train(at, ["logistic_regression"])
        go(at, "experiments")
        shown = " ".join([c.value for c in at.caption] + [c.value for c in at.code] + [m.value for m in at.markdown])
        assert "mlflow.db" not in shown and "/tmp" not in shown and "sqlite" not in shown
        assert any("on the app's server" in c.value for c in at.caption)
        assert any("this browser workspace" in c.value for c in at.caption), "shared on a network: per workspace"
    finally:
        config.set_option("server.address", previous)
