"""core.report: the stakeholder HTML page is complete, offline, honest and escaped."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from core.metrics import format_score
from core.report import caveats, run_report
from core.split import SplitConfig
from core.target import Task
from core.training import ModelRun, run_training
from tests.conftest import make_training_request

HOSTILE = "</script><script>alert('x')</script><b>"


def run(frame: pd.DataFrame, target, task, models, positive=None):
    request = make_training_request(frame, target, task, models=models, seed=5, positive=positive)
    results = run_training(request)
    return request, results


def figure_titles(page: str) -> list[str]:
    """The title of each chart drawn in the page, in order."""
    figures = re.findall(r"\(function\(\)\{var f=(\{.*?\});Plotly\.newPlot\(", page, flags=re.S)
    return [json.loads(f)["layout"].get("title", {}).get("text", "") for f in figures]


def table_after(page: str, where: str) -> str:
    """The first table after ``where`` in the page."""
    return page.split(where, 1)[1].split("</table>", 1)[0]


def row(label: str, value: str) -> str:
    """A metrics table's row as the page writes it."""
    return f'<tr><td>{label}</td><td class="num">{value}</td>'


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
    """Catches a missing section or chart, the wrong numbers in a table, and a page that needs the network."""
    from plotly.offline import get_plotlyjs

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
    sizes = request.split.sizes()
    assert "<p>300 rows after cleaning, 2 input columns, predicting <b>label</b>.</p>" in page
    assert (
        f"{sizes['train']} training rows, {sizes['validation']} validation rows, {sizes['test']} test rows kept aside"
        in page
    )
    validation = table_after(page, "<p>Validation scores")
    assert row("ROC-AUC", format_score("roc_auc", chosen.scores["roc_auc"])) in validation, (
        "the chosen model's validation score"
    )
    test = table_after(page, '<div class="test"><b>Test scores</b>')
    assert row("Accuracy", "0.9000") in test, "the test scores given, in their own table"
    assert figure_titles(page) == [
        "CV ROC-AUC by model",
        "Confusion matrix (rows)",
        "ROC curve: 'no' as the positive class",
        "Permutation importance (model-agnostic cross-check)",
    ]
    assert page.count(f"<script>{get_plotlyjs()}</script>") == 1, "plotly.js is inline, once"
    outside = page.replace(get_plotlyjs(), "")
    assert not re.search(r"\b(src|href)\s*=", outside), "nothing is loaded from elsewhere: it reads offline"


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
    notes = caveats(request, tree, results, test_scores=None, test_looks=3)
    train, valid = tree.train_scores["roc_auc"], tree.scores["roc_auc"]
    rare = int((request.frame["noise_label"] == "b").sum())
    assert notes == [
        f"The model scores {train:.2f} (ROC-AUC) on data it learned from and {valid:.2f} on data it has not seen: "
        "it may have memorised the training rows. Try a simpler model or stronger regularisation.",
        f"Classes are imbalanced: the rarest class, 'b', is {rare / len(request.frame):.1%} of rows ({rare}). "
        "Accuracy can look good while that class is missed, so models will be ranked by balanced accuracy with "
        "class weights on (you can change both on the Models page).",
        "The model has not been scored on the held-out test split yet: every number here is a validation number, "
        "used to choose the model, and may be slightly optimistic.",
        "The test split was scored 3 times in this session; each look makes it a little less honest.",
    ]


def test_regression_and_clustering_reports_show_their_own_scores_and_charts():
    """Catches a regression or clustering report drawn with another task's charts or without its scores."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = 3 * frame["a"] + rng.normal(size=200)
    request, results = run(frame, "y", Task.REGRESSION, [("ridge", {})])
    ridge = results[-1]
    page = run_report(request, results, ridge, "r.csv")
    assert "<h1>ridge predicting y</h1>" in page
    assert row("R²", format_score("r2", ridge.scores["r2"])) in table_after(page, "<p>Validation scores")
    assert figure_titles(page) == [
        "CV R² by model",
        "Predicted vs actual",
        "Errors against predictions",
        "Permutation importance (model-agnostic cross-check)",
    ]
    request, results = run(frame, None, Task.CLUSTERING, [("kmeans", {})])
    kmeans = results[-1]
    page = run_report(request, results, kmeans, "c.csv")
    assert "<h1>kmeans clustering the rows</h1>" in page
    assert row("Silhouette", format_score("silhouette", kmeans.scores["silhouette"])) in table_after(
        page, "<p>Validation scores"
    )
    assert figure_titles(page) == ["Clusters on the two main directions of the data"]
    assert "What drives" not in page and "Positive class" not in page, "nothing about predictions or classes"


def test_every_dash_in_the_report_says_why_the_metric_is_undefined():
    n = 200
    rng = np.random.default_rng(4)
    late = np.arange(n) >= 0.6 * n  # by date, the newest rows hold only 'a' and 'b'
    grade = np.where(late, rng.choice(["a", "b"], n), rng.choice(["a", "b", "c", "d", "e"], n))
    frame = pd.DataFrame(
        {"when": pd.date_range("2010-01-01", periods=n, freq="MS"), "x": rng.normal(size=n), "grade": grade}
    )
    request = make_training_request(
        frame,
        "grade",
        Task.MULTICLASS,
        models=[ModelRun("logistic_regression", "LR")],
        features=["when", "x"],
        split=SplitConfig(time_column="when"),
    )
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
