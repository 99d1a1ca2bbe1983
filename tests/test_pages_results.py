"""The Results page through AppTest: metrics, charts, threshold, final test.

A trained run is costly, so each is made once per module and kept as the session it left
(:func:`tests.conftest.session_of`); every test opens it in a fresh AppTest
(:func:`tests.conftest.opened`) and may click freely: no test sees another's clicks.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from core import results
from core.metrics import METRICS, TASK_METRICS, format_score
from tests.conftest import opened, session_of
from tests.page_helpers import trained_app as journey_to
from ui import state

RESULTS = "pages/results.py"


def trained_app(sample: str, models: list[str]) -> AppTest:
    return journey_to(sample, models, RESULTS)


def labels(at: AppTest) -> list[str]:
    return [m.label for m in at.metric]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def first_metrics(at: AppTest) -> dict[str, str]:
    """The first metrics row the person reads (validation, or the rows clustered): label -> value shown."""
    shown: dict[str, str] = {}
    for m in at.metric:
        shown.setdefault(m.label, m.value)
    return shown


def expected_metrics(model) -> dict[str, str]:
    """The model's validation scores as the metrics row should show them (as every page shows a score)."""
    return {METRICS[k].label: format_score(k, model.scores[k]) for k in TASK_METRICS[model.task] if k in model.scores}


def model_named(at: AppTest, name: str):
    return next(m for m in at.session_state[state.JOB].snapshot().results if m.name == name)


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def test_results_is_locked_before_training():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(RESULTS).run()
    assert any("Load a dataset first" in i.body for i in at.info)


@pytest.fixture(scope="module")
def binary_run() -> dict:
    """Breast cancer with logistic regression and a decision tree, trained once: the session it left."""
    return session_of(trained_app("breast_cancer", ["logistic_regression", "decision_tree_clf"]))


@pytest.fixture
def binary(binary_run) -> AppTest:
    """That run in a fresh session, on the Results page."""
    return opened(binary_run, RESULTS)


def test_best_model_is_preselected_with_validation_metrics(binary):
    """Catches another model preselected, or other numbers (training scores, another model's) shown as its own."""
    trained = [m for m in binary.session_state[state.JOB].snapshot().results if getattr(m, "cv_scores", None)]
    best = max(trained, key=lambda m: m.cv_scores["cv_roc_auc_mean"])
    assert binary.selectbox(key="results_model").value == best.name == "Logistic regression"
    assert first_metrics(binary) == expected_metrics(best)
    assert not [label for label in labels(binary) if "(" in label and "validation" in label], "short labels"
    assert sum("**Validation split**" in c for c in captions(binary)) == 1, "the split is named once"
    assert all(m.help for m in binary.metric), "each metric explains itself on hover"

    binary.selectbox(key="results_model").set_value("Decision tree").run()
    assert first_metrics(binary) == expected_metrics(model_named(binary, "Decision tree")), "its own numbers"


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
    assert model_named(binary, "Logistic regression").refitted, "the model the test button scores is the refitted one"

    binary.selectbox(key="results_model").set_value("Decision tree").run()
    assert any("Decision tree is not the chosen model, so it was not refitted" in c for c in captions(binary))


def threshold_caption(at: AppTest) -> str:
    return next(c for c in captions(at) if c.startswith("At "))


def expected_counts(at: AppTest, threshold: float) -> str:
    """The threshold caption the logistic regression's validation probabilities give at ``threshold``."""
    request = at.session_state[state.JOB].request
    pred = results.predictions(model_named(at, "Logistic regression"), request, "valid")
    column = results.positive_column(pred)
    called, positive = pred.proba[:, column] >= threshold, pred.y == pred.classes[column]
    counts = [
        (called & positive).sum(),
        (called & ~positive).sum(),
        (~called & positive).sum(),
        (~called & ~positive).sum(),
    ]
    return (
        f"At {threshold:.2f}, with `malignant` as the positive class: {counts[0]} true positives, "
        f"{counts[1]} false alarms, {counts[2]} missed, {counts[3]} true negatives."
    )


def test_threshold_slider_moves_the_confusion_matrix(binary):
    """Catches a threshold that changes nothing, or counts not of the rows at the chosen threshold."""
    binary.segmented_control(key="results_view").set_value("Threshold").run()
    assert threshold_caption(binary) == expected_counts(binary, 0.5)
    half = json.loads(binary.get("plotly_chart")[0].proto.spec)["data"][0]["z"]
    binary.slider(key="results_threshold").set_value(0.95).run()
    assert not binary.exception
    assert threshold_caption(binary) == expected_counts(binary, 0.95) != expected_counts(binary, 0.5)
    assert json.loads(binary.get("plotly_chart")[0].proto.spec)["data"][0]["z"] != half, "the matrix is redrawn"


def test_every_classification_chart_shows_what_it_is_named_after(binary):
    """Catches a view that draws nothing, or the wrong chart (each is named, for 'malignant' where it has one side)."""
    rows = len(binary.session_state[state.JOB].request.split.valid)
    comparison = [
        "Score against training time",
        *(f"{c} curves: 'malignant' as the positive class" for c in ("ROC", "Precision–recall")),
    ]
    expected = {
        "Confusion matrix": ["Confusion matrix (rows)"],
        "Threshold": ["Confusion matrix (rows)"],
        "ROC": ["ROC curve: 'malignant' as the positive class"],
        "Precision–recall": ["Precision–recall curve: 'malignant' as the positive class"],
        "Calibration": ["Calibration: do predicted probabilities match reality?"],
        "Per class": [],
        "Learning curve": [],
    }
    assert binary.segmented_control(key="results_view").options == list(expected)
    for view, charts in expected.items():
        binary.segmented_control(key="results_view").set_value(view).run()
        assert not binary.exception, view
        assert chart_titles(binary) == [*charts, *comparison], view
    binary.segmented_control(key="results_view").set_value("Per class").run()
    table = binary.dataframe[0].value
    assert table["class"].tolist()[:2] == ["benign", "malignant"] and table["support"].iloc[:2].sum() == rows
    binary.segmented_control(key="results_view").set_value("Learning curve").run()
    assert [t.label for t in binary.toggle] == [
        "Compute the learning curve (refits the model 15 times on parts of the training rows)"
    ], "offered, not computed unasked"


def test_final_test_score_is_labelled_and_repeated_looks_warn(binary):
    """Catches validation numbers shown as test numbers, and a second look at the test rows going unmentioned."""
    request = binary.session_state[state.JOB].request
    binary.button(key="results_test").click().run()
    tested = results.test_scores(model_named(binary, "Logistic regression"), request)
    shown = [m.value for m in binary.metric if m.label == "ROC-AUC"]
    assert shown == [first_metrics(binary)["ROC-AUC"], f"{tested['roc_auc']:.4f}"], "validation, then test"
    assert any(c.startswith(f"**TEST split** · {len(request.split.test)} rows") for c in captions(binary))
    assert any("Test numbers" in m.value for m in binary.markdown)
    assert not binary.warning, "one look: no warning yet"
    binary.selectbox(key="results_model").set_value("Decision tree").run()
    binary.button(key="results_test").click().run()
    assert any("scored the test split 2 times" in w.body for w in binary.warning)


def test_a_test_score_scored_while_the_run_is_recorded_reaches_its_tracked_run(binary_run):
    """Catches the page waiting for the recording, or a score scored before it ended missing from the log.

    The same run again, its recording held at a gate (a slow store): the button answers at once,
    and the job writes the score onto the model's run right after the recording.
    """
    from mlflow import MlflowClient

    from core import tracking
    from core.training import TrainingJob
    from ui import experiments_views

    request, gate = binary_run[state.JOB].request, threading.Event()
    record = tracking.recorder(experiments_views.tracking_uri(), "breast_cancer.csv")

    def held_record(*args):
        gate.wait(60)
        return record(*args)

    job = TrainingJob(request, after_run=held_record).start()
    deadline = time.monotonic() + 120
    while job.after_run().status != "running":
        assert time.monotonic() < deadline, job.outcome()
        time.sleep(0.05)
    at = opened({**binary_run, state.JOB: job}, RESULTS)
    at.button(key="results_test").click().run()
    assert not at.exception and any("Test numbers" in m.value for m in at.markdown)
    assert job.after_run().pending, "the page did not wait for the recording"
    gate.set()
    assert job.wait(120) and job.after_run().value.ok
    report = job.after_run().value
    metrics = MlflowClient(report.tracking_uri).get_run(report.model_runs["Logistic regression"]).data.metrics
    tested = results.test_scores(model_named(at, "Logistic regression"), request)
    assert metrics["test_roc_auc"] == pytest.approx(tested["roc_auc"]) and metrics["test_looks"] == 1


def test_view_choices_survive_a_visit_to_another_page(binary):
    binary.selectbox(key="results_model").set_value("Decision tree").run()
    binary.segmented_control(key="results_view").set_value("Confusion matrix").run()
    binary.toggle(key="results_normalized").set_value(True).run()
    binary.multiselect(key="results_overlay").set_value(["Decision tree"]).run()
    binary.switch_page("pages/data.py").run()
    assert not binary.exception
    binary.switch_page(RESULTS).run()
    assert not binary.exception
    assert binary.selectbox(key="results_model").value == "Decision tree"
    assert binary.segmented_control(key="results_view").value == "Confusion matrix"
    assert binary.toggle(key="results_normalized").value is True
    assert binary.multiselect(key="results_overlay").value == ["Decision tree"]

    binary.segmented_control(key="results_view").set_value("Threshold").run()
    binary.slider(key="results_threshold").set_value(0.7).run()
    binary.switch_page("pages/train.py").run()
    binary.switch_page(RESULTS).run()
    assert not binary.exception
    assert binary.selectbox(key="results_model").value == "Decision tree"
    assert binary.segmented_control(key="results_view").value == "Threshold"
    assert binary.slider(key="results_threshold").value == pytest.approx(0.7)


def test_regression_results_and_comparison():
    """Catches a model shown with another's numbers, a view without its chart, a model left off the overlay."""
    at = trained_app("diabetes", ["ridge", "decision_tree_reg"])
    chosen = model_named(at, at.selectbox(key="results_model").value)
    assert chosen.name == "Ridge regression"
    assert first_metrics(at) == expected_metrics(chosen)
    assert any("**Validation split**" in c for c in captions(at))
    comparison = ["Score against training time", "Errors by model"]
    expected = {"Residuals": ["Errors against predictions"], "Predicted vs actual": ["Predicted vs actual"]}
    for view, charts in {**expected, "Learning curve": []}.items():
        at.segmented_control(key="results_view").set_value(view).run()
        assert not at.exception, view
        assert chart_titles(at) == [*charts, *comparison], view
    overlay = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Errors by model" in c.proto.spec)
    assert [t["name"] for t in overlay["data"]] == ["Baseline", "Ridge regression", "Decision tree"]


def test_clustering_results():
    """Catches cluster scores not of the chosen model, and cluster views without their chart or table."""
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
    at.switch_page(RESULTS).run()
    assert not at.exception
    kmeans, request = model_named(at, "K-means"), at.session_state[state.JOB].request
    shown = first_metrics(at)
    assert shown["Silhouette"] == f"{kmeans.scores['silhouette']:.4f}"
    assert shown["Davies-Bouldin"] == f"{kmeans.scores['davies_bouldin']:.4f}"
    assert any(c.startswith(f"**Training split** · {len(request.split.train)} rows") for c in captions(at))
    expected = {
        "Clusters (PCA)": ["Clusters on the two main directions of the data"],
        "Cluster profiles": ["What sets each cluster apart"],
    }
    for view, charts in {**expected, "Cluster sizes": []}.items():
        at.segmented_control(key="results_cluster_view").set_value(view).run()
        assert not at.exception, view
        assert chart_titles(at) == [*charts, "Score against training time"], view
    sizes = at.dataframe[0].value
    assert len(sizes) == int(kmeans.scores["clusters"]) and sizes["rows"].sum() == len(request.split.train)
    assert shown["Clusters"] == str(int(kmeans.scores["clusters"]))  # a count reads 3, not 3.0000
    # The cluster views name the rows they are computed on, and the report does not ask for a test score.
    assert f"Computed on the {len(request.split.train):,} training rows the clusters were found on." in captions(at)
    assert not any("Score the test split first" in c for c in captions(at))
    assert any("Clustering has no test score: the report describes" in c for c in captions(at))


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


def test_the_stakeholder_report_is_offered(downloads, binary):
    """Catches a report of another model, or one that leaves out the test scores once they exist."""
    buttons = [b for b in binary.get("download_button") if "report" in b.proto.label.lower()]
    assert [b.proto.label for b in buttons] == ["Download the report (HTML)"]
    assert any("opens offline" in c and "Score the test split first" in c for c in captions(binary))
    binary.button(key="results_test").click().run()
    assert any("It includes the test scores." in c for c in captions(binary))
    tested = results.test_scores(model_named(binary, "Logistic regression"), binary.session_state[state.JOB].request)
    page = downloads["report-logistic-regression.html"]()  # what the person downloads: built on the click
    assert "<h1>Logistic regression predicting diagnosis</h1>" in page
    assert "<b>Test scores</b>" in page, "the report includes the test scores once they exist"
    test_table = page.split("<b>Test scores</b>", 1)[1].split("</table>", 1)[0]
    assert f'<tr><td>ROC-AUC</td><td class="num">{tested["roc_auc"]:.4g}</td>' in test_table
    binary.selectbox(key="results_model").set_value("Decision tree").run()
    assert "report-decision-tree.html" in downloads, "the button offers the report of the model on show"


@pytest.fixture(scope="module")
def time_ordered_run() -> dict:
    """The drifting five-class table trained once in time order: validation and test rows hold two classes."""
    from tests.page_helpers import drifting_on_models

    at = drifting_on_models()
    at.button(key="models_time_suggested").click().run()
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(120)
    return session_of(at)


WHY = "These rows hold 2 of the 5 classes the model knows ('c', 'd', 'e' have none)"


def test_the_leaderboard_says_why_a_cell_is_empty(time_ordered_run):
    at = opened(time_ordered_run, "pages/train.py")
    assert at.dataframe[0].value["ROC-AUC"].isna().all()
    assert any(c.replace("\\", "").startswith(f"— ROC-AUC (every model): {WHY}") for c in captions(at))


def test_time_ordered_run_says_why_roc_auc_is_undefined_on_validation_and_test(time_ordered_run):
    at = opened(time_ordered_run, RESULTS)
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
    at.switch_page(RESULTS).run()
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


def per_class_shown(at: AppTest):
    """The per-class table the page shows (the "Per class" view), as numbers."""
    return next(d.value for d in at.dataframe if "precision" in d.value.columns).reset_index(drop=True)


def test_a_new_run_shows_its_own_numbers_not_the_earlier_runs():
    """Catches a table or chart kept from an earlier run of the session (the page keeps what it drew, per run)."""
    from core.evaluation import classification_report_frame

    at = trained_app("wine", ["decision_tree_clf"])
    at.segmented_control(key="results_view").set_value("Per class").run()
    first = per_class_shown(at)

    at.switch_page("pages/models.py").run()
    at.number_input(key="models_seed").set_value(7).run()  # another split: other validation rows, another tree
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    assert job.wait(120)
    at.switch_page(RESULTS).run()
    assert not at.exception
    assert at.segmented_control(key="results_view").value == "Per class"
    shown = per_class_shown(at)

    pred = results.predictions(model_named(at, "Decision tree"), job.request, "valid")
    expected = classification_report_frame(pred.y, pred.y_pred, pred.classes).reset_index(drop=True)
    assert not first.equals(shown)  # the two runs differ, so an earlier run's table would be noticed
    assert shown[["precision", "recall"]].round(4).equals(expected[["precision", "recall"]].round(4))
