"""core.report: the stakeholder HTML page is complete, offline, honest and escaped."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.cleaning import CleaningPlan
from core.report import caveats, run_report
from core.schema import effective_roles, infer_roles
from core.split import SplitConfig
from core.target import Task, default_features
from core.training import ModelRun, TrainSetup, make_request, run_training

HOSTILE = "</script><script>alert('x')</script><b>"


def run(frame: pd.DataFrame, target, task, models, positive=None):
    roles = effective_roles(infer_roles(frame), {})
    features = [c for c, (use, _) in default_features(list(frame.columns), roles, target).items() if use]
    setup = TrainSetup(SplitConfig(seed=5), [ModelRun(k, k, p) for k, p in models])
    request = make_request(frame, target, task, features, roles, CleaningPlan(), setup, positive=positive)
    results = run_training(request)
    return request, results


def hostile_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            HOSTILE: x,
            "noise": rng.normal(size=n),
            "label": np.where(x + rng.normal(scale=0.5, size=n) > 0, "<yes>", "no"),
        }
    )


def test_report_has_every_section_and_embeds_plotly_for_offline_reading():
    request, results = run(hostile_frame(), "label", Task.BINARY, [("logistic_regression", {})])
    chosen = results[-1]
    page = run_report(request, results, chosen, "evil<file>.csv", test_scores={"accuracy": 0.9}, test_looks=1)
    for heading in (
        "Data",
        "Models compared",
        "The chosen model: logistic_regression",
        "What drives the predictions",
        "Caveats",
    ):
        assert f"<h2>{heading}</h2>" in page, heading
    assert "Test scores" in page and "300 rows after cleaning" in page
    assert "https://" not in page.split("<script>", 1)[0], "no external resources in the head"
    assert "Plotly.newPlot" in page and len(page) > 3_000_000, "plotly.js is inline"
    assert page.count("Plotly.newPlot(") >= 4  # leaderboard, confusion matrix, ROC, drivers


def test_user_text_never_becomes_markup():
    request, results = run(hostile_frame(), "label", Task.BINARY, [("logistic_regression", {})])
    page = run_report(request, results, results[-1], "evil<file>.csv")
    body = page.split("</head>", 1)[1]
    assert HOSTILE not in body and "<script>alert(" not in body
    assert "evil&lt;file&gt;.csv" in body and "&lt;/script&gt;&lt;script&gt;alert" in body
    assert "&lt;yes&gt;" in body or "\\u003cyes" in body


def test_the_report_names_the_positive_class_and_draws_its_roc_curve():
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"x": x, "label": np.where(x + rng.normal(scale=0.5, size=200) > 1, "fraud", "ok")})
    request, results = run(frame, "label", Task.BINARY, [("logistic_regression", {})])
    assert request.positive == "fraud"  # the minority, though it sorts first
    page = run_report(request, results, results[-1], "f.csv")
    assert "Positive class: <b>fraud</b>" in page
    assert "ROC curve: 'fraud' as the positive class" in page and '"name":"fraud (AUC' in page
    request, results = run(hostile_frame(), "label", Task.BINARY, [("logistic_regression", {})], positive="<yes>")
    body = run_report(request, results, results[-1], "h.csv").split("</head>", 1)[1]
    assert "Positive class: <b>&lt;yes&gt;</b>" in body and "<yes>" not in body


def test_caveats_speak_plainly_about_untested_overfit_and_baseline_like_models():
    frame = hostile_frame()
    frame["noise_label"] = np.random.default_rng(1).choice(["a", "b"], size=len(frame), p=[0.9, 0.1])
    request, results = run(frame.drop(columns=["label"]), "noise_label", Task.BINARY, [("decision_tree_clf", {})])
    tree = next(r for r in results if r.key == "decision_tree_clf")
    notes = " ".join(caveats(request, tree, results, test_scores=None, test_looks=3))
    assert "not been scored on the held-out test split" in notes
    assert "imbalanced" in notes and "scored 3 times" in notes
    assert "memorised" in notes or "barely beats the baseline" in notes


def test_regression_and_clustering_reports_render():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = 3 * frame["a"] + rng.normal(size=200)
    request, results = run(frame, "y", Task.REGRESSION, [("ridge", {})])
    page = run_report(request, results, results[-1], "r.csv")
    assert "Predicted vs actual" in page or "predicted" in page.lower()
    request, results = run(frame, None, Task.CLUSTERING, [("kmeans", {})])
    page = run_report(request, results, results[-1], "c.csv")
    assert "clustering the rows" in page and "What drives" not in page


def test_every_dash_in_the_report_says_why_the_metric_is_undefined():
    n = 200
    rng = np.random.default_rng(4)
    late = np.arange(n) >= 0.6 * n  # by date, the newest rows hold only 'a' and 'b'
    grade = np.where(late, rng.choice(["a", "b"], n), rng.choice(["a", "b", "c", "d", "e"], n))
    frame = pd.DataFrame(
        {"when": pd.date_range("2010-01-01", periods=n, freq="MS"), "x": rng.normal(size=n), "grade": grade}
    )
    roles = effective_roles(infer_roles(frame), {})
    setup = TrainSetup(SplitConfig(time_column="when"), [ModelRun("logistic_regression", "LR", {})])
    request = make_request(frame, "grade", Task.MULTICLASS, ["when", "x"], roles, CleaningPlan(), setup)
    results = run_training(request)
    chosen = results[-1]
    assert not np.isfinite(chosen.scores["roc_auc"])
    from core.results import test_scores

    page = run_report(request, results, chosen, "drift.csv", test_scores=test_scores(chosen, request))
    reason = (
        "These rows hold 2 of the 5 classes the model knows (&#x27;c&#x27;, &#x27;d&#x27;, &#x27;e&#x27; have none)"
    )
    assert page.count(reason) >= 3, "the leaderboard, the validation and the test tables each say why"
    assert "ROC-AUC (every model): " + reason in page


def test_the_report_says_how_the_model_was_chosen_and_that_it_was_refitted():
    request, results = run(hostile_frame(), "label", Task.BINARY, [("logistic_regression", {})])
    chosen = next(r for r in results if r.refit is not None)
    rows = len(request.split.train) + len(request.split.valid)
    page = run_report(request, results, chosen, "f.csv").split("</head>", 1)[1]
    assert f"Ranked by ROC-AUC in 5-fold cross-validation on the {rows:,} training + validation rows" in page
    assert (
        f"The chosen model, {chosen.name}, was chosen by 5-fold cross-validation and then refitted on training + "
        f"validation rows ({rows:,} rows) before the test score."
    ) in page
    assert "Validation scores (of the fit on the training rows, before the refit" in page
    assert "<th>CV ROC-AUC</th>" in page and "<th>CV ±</th>" in page
