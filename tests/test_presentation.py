"""core.presentation: the slides say the run's numbers, charts, summary and caveats; the deck is offline and escaped."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from core import results
from core.metrics import format_score
from core.presentation import NO_WARNINGS, build_slides, deck_html
from core.report import caveats
from core.target import Task
from core.training import ModelRun, best_model, run_training, summary
from tests.conftest import make_training_request

HOSTILE = "<script>alert(1)</script>"
FIGURE_DATA = re.compile(r'<script type="application/json" id="figure-\d+">(.*?)</script>', re.S)


def trained_run(sample, target, models, task=None):
    request = make_training_request(sample, target, task, models=models, seed=3)
    run = run_training(request)
    return request, run, best_model(run, request.task, request.metric)


@pytest.fixture(scope="module")
def binary():
    return trained_run("breast_cancer", "diagnosis", ["logistic_regression"])


@pytest.fixture(scope="module")
def multiclass():
    return trained_run("iris", "species", ["decision_tree_clf"])


@pytest.fixture(scope="module")
def regression():
    return trained_run("diabetes", "disease_progression", ["ridge"])


@pytest.fixture(scope="module")
def clustering():
    return trained_run("iris", None, ["kmeans"], Task.CLUSTERING)


def kinds(slides) -> list[str]:
    return [s.kind for s in slides]


def slide(slides, kind):
    return next(s for s in slides if s.kind == kind)


def check_headline(request, run, chosen, slides) -> None:
    """The first slide's big numbers: the chosen model's and the baseline's validation scores, as every page shows them."""
    metric = request.ranking
    first, baseline = slide(slides, "headline").numbers
    assert (first.value, first.metric, first.model) == (
        format_score(metric.key, chosen.scores[metric.key]),
        metric.label,
        chosen.name,
    )
    assert first.split.startswith(f"validation split · {len(request.split.valid)} rows")
    other = next(m for m in run if m.key == "baseline")
    assert (baseline.value, baseline.model) == (format_score(metric.key, other.scores[metric.key]), "Baseline")
    assert baseline.split.startswith("validation split")


def check_words(request, run, chosen, slides) -> None:
    """The summary and the caveats are core.training.summary's and core.report.caveats' own sentences."""
    assert summary(chosen, request, run) in slide(slides, "summary").bullets
    notes = caveats(request, chosen, run, test_scores=None, test_looks=0)
    assert slide(slides, "caveats").bullets == (notes or [NO_WARNINGS])
    assert any("has not been scored on the held-out test split" in n for n in notes)


def test_binary_slides_show_the_roc_curve_and_the_scores_against_the_baseline(binary):
    request, run, chosen = binary
    slides = build_slides(request, run, chosen, source_name="breast_cancer.csv")
    assert kinds(slides) == ["headline", "leaderboard", "diagnostic", "drivers", "summary", "caveats"]
    check_headline(request, run, chosen, slides)
    check_words(request, run, chosen, slides)
    roc = slide(slides, "diagnostic").figure
    assert roc.layout.title.text.startswith("ROC curve: 'malignant'")
    assert roc.layout.xaxis.title.text.startswith("false positive rate")
    board = slide(slides, "leaderboard").figure
    assert set(board.data[0].y) == {chosen.name, "Baseline"}
    drivers = slide(slides, "drivers")
    assert drivers.figure.layout.title.text.startswith("Permutation importance"), "no explanation: permutation"
    assert set(drivers.figure.data[0].y) <= set(request.features)


def test_multiclass_slides_show_the_confusion_matrix(multiclass):
    request, run, chosen = multiclass
    slides = build_slides(request, run, chosen)
    check_headline(request, run, chosen, slides)
    check_words(request, run, chosen, slides)
    matrix = slide(slides, "diagnostic").figure
    assert matrix.data[0].type == "heatmap"
    assert list(matrix.data[0].x) == ["setosa", "versicolor", "virginica"]
    pred = results.predictions(chosen, request)
    assert np.asarray(matrix.data[0].z).sum() == len(pred.y) == len(request.split.valid), "validation rows"


def test_regression_slides_show_predicted_against_actual(regression):
    request, run, chosen = regression
    slides = build_slides(request, run, chosen)
    check_headline(request, run, chosen, slides)
    check_words(request, run, chosen, slides)
    assert request.ranking.key == "r2"
    figure = slide(slides, "diagnostic").figure
    assert figure.layout.title.text == "Predicted vs actual"


def test_clustering_slides_show_the_clusters_and_no_baseline_or_drivers(clustering):
    request, run, chosen = clustering
    slides = build_slides(request, run, chosen)
    assert kinds(slides) == ["headline", "leaderboard", "diagnostic", "summary", "caveats"]
    silhouette, clusters = slide(slides, "headline").numbers
    assert silhouette.value == format_score("silhouette", chosen.scores["silhouette"])
    assert clusters.value == format_score("clusters", chosen.scores["clusters"]) == "3"
    assert silhouette.split == f"training split · the {len(request.split.train)} rows clustered"
    scatter = slide(slides, "diagnostic").figure
    assert scatter.layout.title.text.startswith("Clusters on the two main directions")
    assert "validation" not in slide(slides, "leaderboard").figure.layout.title.text.lower()
    assert summary(chosen, request, run) in slide(slides, "summary").bullets
    assert slide(slides, "caveats").bullets == (
        caveats(request, chosen, run, test_scores=None, test_looks=0) or [NO_WARNINGS]
    )


def test_a_scored_test_split_leads_the_headline_and_says_so(binary):
    """Catches test numbers shown as validation ones (or the reverse), and a stale "not scored yet" caveat."""
    request, run, chosen = binary
    tested = results.test_scores(chosen, request)
    slides = build_slides(request, run, chosen, test_scores=tested, test_looks=2)
    test, validation, baseline = slide(slides, "headline").numbers
    assert baseline.model == "Baseline" and baseline.split.startswith("validation split"), "its only score"
    key = request.ranking.key
    assert test.value == format_score(key, tested[key])
    assert test.split.startswith(f"test split · {len(request.split.test)} rows")
    assert validation.value == format_score(key, chosen.scores[key]) and validation.split.startswith("validation")
    notes = slide(slides, "caveats").bullets
    assert notes == caveats(request, chosen, run, test_scores=tested, test_looks=2)
    assert not any("has not been scored on the held-out test split" in n for n in notes)
    assert any("scored 2 times" in n for n in notes)


def test_a_finished_explanation_gives_the_mean_shap_importance(regression):
    import core.explain as ce

    request, run, chosen = regression
    X_valid, _ = request.xy(request.split.valid)
    X_train, _ = request.xy(request.split.train)
    explanation = ce.explain(chosen, X_valid, X_train, max_rows=10, target=request.target)
    drivers = slide(build_slides(request, run, chosen, explanation=explanation), "drivers")
    top = ce.importance_frame(explanation)["column"].iloc[0]
    assert drivers.figure.layout.title.text.startswith("What moves the")
    assert drivers.figure.data[0].y[0] == top, "the largest mean |SHAP| first"
    assert drivers.bullets[0].startswith("From SHAP values on 10 rows")


def test_the_deck_is_one_offline_file_with_a_section_per_slide(binary):
    from plotly.offline import get_plotlyjs

    request, run, chosen = binary
    slides = build_slides(request, run, chosen)
    deck = deck_html(slides, "Breast cancer")
    assert deck.count("<section class=") == len(slides) == 6
    assert deck.count(get_plotlyjs()) == 1 and deck.count("* plotly.js v") == 1, "plotly.js inlined once"
    figures = FIGURE_DATA.findall(deck)
    assert len(figures) == sum(s.figure is not None for s in slides) == 3
    assert json.loads(figures[1])["layout"]["title"]["text"].startswith("ROC curve")
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|@import|url\(\s*['\"]?https?:", deck), "nothing loaded"
    assert 'id="counter" aria-live="polite">1 / 6<' in deck
    for key in ("ArrowRight", "ArrowLeft", "PageDown", "PageUp", "Home", "End", "' '"):
        assert key in deck, key
    assert format_score("roc_auc", chosen.scores["roc_auc"]) in deck


def test_names_from_the_data_and_the_person_are_escaped_in_the_deck():
    rng = np.random.default_rng(0)
    x = rng.normal(size=240)
    frame = pd.DataFrame(
        {
            HOSTILE: x,
            "noise": rng.normal(size=240),
            "label": np.where(x + rng.normal(scale=0.7, size=240) > 0, HOSTILE, "no"),
        }
    )
    request = make_training_request(
        frame, "label", Task.BINARY, models=[ModelRun("logistic_regression", HOSTILE, {})], seed=1, positive=HOSTILE
    )
    run = run_training(request)
    chosen = next(m for m in run if m.name == HOSTILE)
    slides = build_slides(request, run, chosen, source_name=HOSTILE)
    deck = deck_html(slides, f"{HOSTILE} deck")
    assert HOSTILE not in deck and "<script>alert" not in deck
    assert html.escape(HOSTILE) in deck, "the name is shown, as text"
    scripts = re.findall(r"<script\b[^>]*>", deck)
    assert all(s == "<script>" or s.startswith('<script type="application/json" id="figure-') for s in scripts)
    assert len(scripts) == 2 + sum(s.figure is not None for s in slides), "plotly.js, the figures' data, navigation"
    for data in FIGURE_DATA.findall(deck):
        assert "<" not in data, "no tag can start inside a figure's data"
        assert HOSTILE not in json.dumps(json.loads(data)), "labels are escaped for plotly too"
