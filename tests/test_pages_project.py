"""Project files in the app (AppTest): saved on the Models page, opened on the Data page of a fresh session."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui import state

APP = "../app.py"
MODELS = ["logistic_regression", "decision_tree_clf"]


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """File name -> what a download button would give, for the buttons drawn from now on (built when clicked)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made: dict = {}
    real = MediaFileManager.add_deferred

    def recording(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return real(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return made


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def on_models(sample: str) -> AppTest:
    at = fresh()
    at.button(key=f"data_sample_{sample}").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    assert not at.exception
    return at


def saved_buttons(at: AppTest) -> list:
    return [b for b in at.get("download_button") if b.proto.label == "Save as project file"]


def open_project(at: AppTest, data: bytes, name: str = "iris-project.json") -> AppTest:
    at.file_uploader(key="data_project").set_value((name, data, "application/json")).run()
    assert not at.exception, at.exception
    return at


def test_a_saved_project_opens_in_a_fresh_session_on_the_models_page_with_everything_set(downloads):
    teacher = on_models("iris")
    teacher.multiselect(key="models_chosen").set_value([]).run()
    assert not saved_buttons(teacher), "no project file before models are chosen"
    teacher.multiselect(key="models_chosen").set_value(MODELS).run()
    teacher.number_input(key="models_logistic_regression_C").set_value(0.5).run()
    assert saved_buttons(teacher), "the download appears once models are chosen"
    data = downloads["iris-project.json"]()
    taught = {key: teacher.session_state[key] for key in (state.TARGET, state.PLAN, state.TRAIN_SETUP)}

    student = open_project(fresh(), data)
    assert student.title[0].value == "4. Models", "the project lands on the Models page"
    notes = [s.body.replace("\\", "") for s in student.success]  # Markdown-escaped text
    assert any("Opened the project: the target 'species'" in n and "press Train." in n for n in notes), notes
    assert student.multiselect(key="models_chosen").value == MODELS
    assert student.number_input(key="models_logistic_regression_C").value == 0.5
    assert student.session_state[state.TARGET].target == "species"
    assert student.session_state[state.TARGET].features == taught[state.TARGET].features
    assert student.session_state[state.PLAN].to_dict() == taught[state.PLAN].to_dict()
    assert student.session_state[state.TRAIN_SETUP] == taught[state.TRAIN_SETUP], "the page shows the same settings"
    assert student.button(key="models_train").label.startswith("Train 2 models")

    student.switch_page("pages/models.py").run()
    assert not student.success, "the note is shown once"


def test_a_bad_file_is_refused_in_words_and_the_loaded_data_stays():
    at = fresh()
    at.button(key="data_sample_wine").click().run()
    version = at.session_state[state.VERSION]
    open_project(at, b"\x00\x01 this is no project", "evil.json")
    assert any("This project file cannot be opened" in e.body for e in at.error)
    assert any("Nothing you had loaded has changed." in e.body.replace("\\", "") for e in at.error), "data safe"
    # Outside the closed "…or open a project file" box, so it is seen (a walk found it hidden inside).
    (box,) = [e for e in at.expander if "open a project file" in e.label]
    assert not [e for e in box.error], "not only inside the box"
    assert at.title[0].value == "1. Data"
    assert at.session_state[state.VERSION] == version and at.session_state[state.DATASET].name == "wine.csv"
    open_project(at, b'{"format": "nocode-ml-project", "format_version": 1, "version": 1}', "half.json")
    assert any("its data source must be a JSON object" in e.body for e in at.error)
    assert at.session_state[state.DATASET].name == "wine.csv" and at.session_state[state.TARGET] is None


def test_a_project_without_its_table_asks_for_it_then_opens_on_it(monkeypatch):
    """A file over the embedding limit is named only: the person uploads it, and the project opens on it."""
    import numpy as np
    import pandas as pd

    from core import project
    from core.cleaning import CleaningPlan
    from core.loading import load_file
    from core.split import SplitConfig
    from core.target import TargetChoice, Task
    from core.training import ModelRun, TrainSetup

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=80), "z": rng.normal(size=80)})
    frame["y"] = frame["x"] * 2 + rng.normal(size=80)
    csv = frame.to_csv(index=False).encode()
    monkeypatch.setattr(project, "MAX_PROJECT_EMBED_BYTES", 10)
    choice = TargetChoice("y", Task.REGRESSION, "a number", ["x", "z"])
    setup = TrainSetup(SplitConfig(seed=3), [ModelRun("ridge", "Ridge regression", {"alpha": 2.0})])
    data = project.project_json(load_file(csv, "big.csv"), choice, CleaningPlan(), setup, raw=csv)

    at = open_project(fresh(), data, "big-project.json")
    asked = [i.body.replace("\\", "") for i in at.info]  # Markdown-escaped text
    assert any("Upload that file above" in a and "'big.csv'" in a for a in asked), asked
    assert at.session_state[state.DATASET] is None
    at.file_uploader(key="data_upload").set_value(("big.csv", csv, "text/csv")).run()
    assert not at.exception
    assert at.title[0].value == "4. Models"
    assert any("on the table already loaded, 'big.csv'" in s.body.replace("\\", "") for s in at.success)
    assert at.session_state[state.TRAIN_SETUP].models == setup.models
