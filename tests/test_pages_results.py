"""The Results page through AppTest: metrics, charts, threshold, final test."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.page_helpers import trained_app as journey_to
from ui import state


def trained_app(sample: str, models: list[str]) -> AppTest:
    return journey_to(sample, models, "pages/results.py")


def labels(at: AppTest) -> list[str]:
    return [m.label for m in at.metric]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_results_is_locked_before_training():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/results.py").run()
    assert any("Load a dataset first" in i.body for i in at.info)


@pytest.fixture(scope="module")
def binary() -> AppTest:
    return trained_app("breast_cancer", ["logistic_regression", "decision_tree_clf"])


def test_best_model_is_preselected_with_validation_metrics(binary):
    assert binary.selectbox(key="results_model").value == "Logistic regression"
    assert "ROC-AUC" in labels(binary)
    assert not [label for label in labels(binary) if "(" in label and "validation" in label], "short labels"
    assert sum("**Validation split**" in c for c in captions(binary)) == 1, "the split is named once"
    assert all(m.help for m in binary.metric), "each metric explains itself on hover"


def test_the_page_says_the_chosen_model_was_refitted_before_the_test_score(binary):
    request = binary.session_state[state.JOB].request
    rows = len(request.split.train) + len(request.split.valid)
    said = [s.body.replace("\\", "") for s in binary.success]
    assert (
        f"The chosen model, Logistic regression, was chosen by 5-fold cross-validation and then refitted on "
        f"training + validation rows ({rows:,} rows) before the test score." in said
    )
    assert any("scored before the refit" in c for c in captions(binary)), "its validation numbers are labelled"
    assert any("5 folds of the" in c and "training + validation rows" in c for c in captions(binary))
    model = next(m for m in binary.session_state[state.JOB].snapshot().results if m.name == "Logistic regression")
    assert model.refitted, "the model the test button scores, exports and serves is the refitted one"

    binary.selectbox(key="results_model").set_value("Decision tree").run()
    assert any("Decision tree is not the chosen model, so it was not refitted" in c for c in captions(binary))
    binary.selectbox(key="results_model").set_value("Logistic regression").run()


def test_threshold_slider_moves_the_confusion_matrix(binary):
    binary.segmented_control(key="results_view").set_value("Threshold").run()

    def matrix():
        chart = next(
            c
            for c in binary.get("plotly_chart")
            if "results_threshold_confusion" in c.proto.id or "Confusion" in c.proto.spec
        )
        return json.loads(chart.proto.spec)["data"][0]["z"]

    at_half = matrix()
    binary.slider(key="results_threshold").set_value(0.95).run()
    assert not binary.exception
    assert matrix() != at_half


def test_every_classification_chart_renders(binary):
    for view in binary.segmented_control(key="results_view").options:
        binary.segmented_control(key="results_view").set_value(view).run()
        assert not binary.exception, view


def test_final_test_score_is_labelled_and_repeated_looks_warn(binary):
    binary.button(key="results_test").click().run()
    assert labels(binary).count("ROC-AUC") == 2  # validation and test rows
    assert any("**TEST split**" in c for c in captions(binary))
    assert any("Test numbers" in m.value for m in binary.markdown)
    binary.selectbox(key="results_model").set_value("Decision tree").run()
    binary.button(key="results_test").click().run()
    assert any("scored the test split 2 times" in w.body for w in binary.warning)


def test_view_choices_survive_a_visit_to_another_page(binary):
    binary.selectbox(key="results_model").set_value("Decision tree").run()
    binary.segmented_control(key="results_view").set_value("Confusion matrix").run()
    binary.toggle(key="results_normalized").set_value(True).run()
    binary.multiselect(key="results_overlay").set_value(["Decision tree"]).run()
    binary.switch_page("pages/data.py").run()
    assert not binary.exception
    binary.switch_page("pages/results.py").run()
    assert not binary.exception
    assert binary.selectbox(key="results_model").value == "Decision tree"
    assert binary.segmented_control(key="results_view").value == "Confusion matrix"
    assert binary.toggle(key="results_normalized").value is True
    assert binary.multiselect(key="results_overlay").value == ["Decision tree"]

    binary.segmented_control(key="results_view").set_value("Threshold").run()
    binary.slider(key="results_threshold").set_value(0.7).run()
    binary.switch_page("pages/train.py").run()
    binary.switch_page("pages/results.py").run()
    assert not binary.exception
    assert binary.selectbox(key="results_model").value == "Decision tree"
    assert binary.segmented_control(key="results_view").value == "Threshold"
    assert binary.slider(key="results_threshold").value == pytest.approx(0.7)


def test_regression_results_and_comparison():
    at = trained_app("diabetes", ["ridge", "decision_tree_reg"])
    assert "R²" in labels(at) and any("**Validation split**" in c for c in captions(at))
    for view in at.segmented_control(key="results_view").options:
        at.segmented_control(key="results_view").set_value(view).run()
        assert not at.exception, view
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(len(s["data"]) >= 2 for s in specs), "residuals of several models are overlaid"


def test_clustering_results():
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key="data_sample_iris").click().run()
    at.switch_page("pages/target.py").run()
    column = at.selectbox(key=f"target_column_{at.session_state[state.VERSION]}")
    column.set_value(column.options[0]).run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(["kmeans"]).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(60)
    at.switch_page("pages/results.py").run()
    assert not at.exception
    assert "Silhouette" in labels(at) and any("**Training split**" in c for c in captions(at))
    for view in at.segmented_control(key="results_cluster_view").options:
        at.segmented_control(key="results_cluster_view").set_value(view).run()
        assert not at.exception, view


def _metrics_with_undefined_precision():
    import numpy as np

    from core.evaluation import classification_scores, undefined_reasons
    from core.target import Task
    from ui import results_views

    y, y_pred = np.array(["a", "a", "b", "b"]), np.array(["a", "a", "a", "a"])  # 'b' never predicted
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3]])
    scores = classification_scores(y, y_pred, proba, ["a", "b"])
    reasons = undefined_reasons(scores, Task.BINARY, y, y_pred, proba, ["a", "b"])
    results_views.metrics_row(scores, Task.BINARY, rows=40, reasons=reasons)


def test_undefined_precision_shows_a_dash_with_the_reason():
    at = AppTest.from_function(_metrics_with_undefined_precision).run()
    assert not at.exception
    shown = {m.label: m for m in at.metric}
    assert shown["Precision (macro)"].value == "—"
    assert "never predicted" in shown["Precision (macro)"].help
    assert shown["Accuracy"].value == "0.5000"
    assert any("40 rows" in c for c in captions(at))
    assert any(
        c.replace("\\", "").startswith("— Precision (macro), Precision (weighted): The model never predicted 'b'")
        for c in captions(at)
    )


def test_per_class_table_shows_a_dash_for_undefined_precision_and_stays_numeric():
    import numpy as np

    from core.evaluation import classification_report_frame
    from ui.results_views import per_class_styler

    table = classification_report_frame(np.array(["a", "a", "b", "b"]), np.array(["a", "a", "a", "a"]), ["a", "b"])
    styled = per_class_styler(table)
    assert styled.data["precision"].dtype == float  # sortable numbers underneath
    html = styled.to_html()
    assert "—" in html and "0.5000" in html and "nan" not in html.lower()


def test_the_stakeholder_report_is_offered(binary):
    buttons = [b for b in binary.get("download_button") if "report" in b.proto.label.lower()]
    assert [b.proto.label for b in buttons] == ["Download the report (HTML)"]
    assert any("opens offline" in c for c in captions(binary))


@pytest.fixture(scope="module")
def time_ordered() -> AppTest:
    """The drifting five-class table trained in time order: validation and test rows hold two classes."""
    from tests.page_helpers import drifting_on_models

    at = drifting_on_models()
    at.button(key="models_time_suggested").click().run()
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(120)
    return at


WHY = "These rows hold 2 of the 5 classes the model knows ('c', 'd', 'e' have none)"


def test_the_leaderboard_says_why_a_cell_is_empty(time_ordered):
    at = time_ordered
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.dataframe[0].value["ROC-AUC"].isna().all()
    assert any(c.replace("\\", "").startswith(f"— ROC-AUC (every model): {WHY}") for c in captions(at))


def test_time_ordered_run_says_why_roc_auc_is_undefined_on_validation_and_test(time_ordered):
    at = time_ordered
    at.switch_page("pages/results.py").run()
    assert not at.exception
    roc = next(m for m in at.metric if m.label == "ROC-AUC")
    assert roc.value == "—" and WHY in roc.help.replace("\\", "")
    assert any(c.replace("\\", "").startswith(f"— ROC-AUC: {WHY}") for c in captions(at))

    at.button(key="results_test").click().run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "ROC-AUC"] == ["—", "—"]
    assert sum(c.replace("\\", "").startswith(f"— ROC-AUC: {WHY}") for c in captions(at)) == 2


def _overfitting_with_an_undefined_validation_score():
    from types import SimpleNamespace

    from core.target import Task
    from ui import results_views

    model = SimpleNamespace(train_scores={"roc_auc": 0.97}, scores={"roc_auc": float("nan")}, task=Task.BINARY)
    results_views.overfitting(model)


def test_no_memorising_verdict_is_given_on_an_undefined_validation_score():
    at = AppTest.from_function(_overfitting_with_an_undefined_validation_score).run()
    assert not at.exception
    assert not [c for c in captions(at) if "no sign of memorising" in c or "nan" in c]


def test_the_chosen_positive_class_names_the_curves_and_the_threshold():
    """'benign' sorts first (scikit-learn's classes_[0]): every binary view still speaks of it."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key="data_sample_breast_cancer").click().run()
    at.switch_page("pages/target.py").run()
    at.selectbox(key=f"target_positive_{at.session_state[state.VERSION]}_diagnosis").set_value("benign").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(120)
    at.switch_page("pages/results.py").run()
    assert at.session_state[state.JOB].request.positive == "benign"
    at.segmented_control(key="results_view").set_value("ROC").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "'benign' as the positive class" in spec["layout"]["title"]["text"]
    assert spec["data"][1]["name"].startswith("benign (AUC")
    at.segmented_control(key="results_view").set_value("Threshold").run()
    assert not at.exception
    assert "'benign'" in at.slider(key="results_threshold").label
    assert any("`benign` as the positive class" in c for c in captions(at))
    at.segmented_control(key="results_view").set_value("Calibration").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "predicted probability of 'benign'"
