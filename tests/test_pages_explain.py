"""The Explain page through AppTest: budget, run, every view, what-if."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from ui import state


def trained_app(sample: str, models: list[str]) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key=f"data_sample_{sample}").click().run()
    at.switch_page("pages/target.py").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(models).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(120)
    at.switch_page("pages/explain.py").run()
    assert not at.exception
    return at


def explained(at: AppTest) -> AppTest:
    at.slider(key="explain_rows").set_value(40).run()
    assert any(c.value.startswith("Method") for c in at.caption)
    at.button(key="explain_start").click().run()
    name = at.selectbox(key="explain_model").value
    assert state.explain_job.__name__  # the job is kept per model
    job = at.session_state[state.EXPLAIN_JOBS][name][1]
    assert job.wait(120)
    at.run()
    assert not at.exception
    return at


def chart_texts(at: AppTest) -> str:
    return " ".join(c.proto.spec for c in at.get("plotly_chart"))


@pytest.fixture(scope="module")
def maintenance() -> AppTest:
    return explained(trained_app("predictive_maintenance", ["random_forest_clf"]))


def test_importance_is_in_the_persons_columns_with_a_summary(maintenance):
    spec = json.loads(maintenance.get("plotly_chart")[0].proto.spec)
    labels = [str(v) for trace in spec["data"] for v in trace.get("y", [])]
    assert "vibration_mm_s" in labels and "machine_type" in labels
    assert not any("__" in label for label in labels), "no transformed feature names"
    assert any("`" in m.value for m in maintenance.markdown), "a plain-language summary names columns"


@pytest.mark.parametrize("view", ["Beeswarm", "Dependence", "One row", "What-if"])
def test_every_view_renders(maintenance, view):
    maintenance.segmented_control(key="explain_view").set_value(view).run()
    assert not maintenance.exception
    assert maintenance.get("plotly_chart")


def test_what_if_changes_the_prediction(maintenance):
    maintenance.segmented_control(key="explain_view").set_value("What-if").run()
    before = maintenance.metric[0].value if maintenance.metric else None
    maintenance.number_input(key="explain_whatif_vibration_mm_s").set_value(15.0)
    maintenance.number_input(key="explain_whatif_temperature_c").set_value(120.0)
    maintenance.button[-1].click().run()
    assert not maintenance.exception
    assert "vibration_mm_s" in chart_texts(maintenance)
    assert before is not None


def test_explain_is_refused_for_clustering_and_before_training():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/explain.py").run()
    assert any("Load a dataset first" in i.body for i in at.info)


def test_multiclass_lets_the_person_pick_the_class():
    at = explained(trained_app("iris", ["logistic_regression"]))
    assert at.selectbox(key="explain_class").options == ["setosa", "versicolor", "virginica"]
    at.selectbox(key="explain_class").set_value(2).run()
    assert not at.exception
