"""The Present page through AppTest: locked before training; after it, the deck in the page and as a download.

A trained run is made once for the module and kept as the session it left (:func:`tests.conftest.session_of`);
each test opens it in a fresh AppTest (:func:`tests.conftest.opened`).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.metrics import format_score
from core.training import best_model
from tests.conftest import opened, session_of
from tests.page_helpers import trained_app
from ui import state

PRESENT = "pages/present.py"


def deck_in_page(at: AppTest) -> str:
    """The HTML of the deck drawn in the page (an ``st.iframe`` with the deck as its document)."""
    frames = at.get("iframe")
    assert len(frames) == 1, "one deck in the page"
    return frames[0].proto.srcdoc


def test_present_is_locked_with_a_way_forward_before_any_model_is_trained():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(PRESENT).run()
    assert not at.exception
    assert any("Load a dataset first" in i.body for i in at.info)
    assert not at.get("iframe") and not at.get("download_button"), "no deck without a model"


@pytest.fixture(scope="module")
def iris_run() -> dict:
    """Iris with logistic regression (and the baseline), trained once: the session it left."""
    return session_of(trained_app("iris", ["logistic_regression"], PRESENT))


def test_the_deck_of_the_chosen_model_is_shown_and_downloadable(iris_run):
    at = opened(iris_run, PRESENT)
    job = at.session_state[state.JOB]
    trained = [m for m in job.snapshot().results if getattr(m, "scores", None) is not None]
    best = best_model(trained, job.request.task, job.request.metric)
    assert at.selectbox(key="present_model").value == best.name == "Logistic regression"
    deck = deck_in_page(at)
    assert "<title>Logistic regression predicting species</title>" in deck
    metric = job.request.ranking
    assert format_score(metric.key, best.scores[metric.key]) in deck, "the chosen model's validation score"
    assert deck.count("<section class=") == 6
    button = at.get("download_button")[0]
    assert button.proto.label == "Download the deck (HTML)"
    assert button.proto.url.endswith(".html")

    at.selectbox(key="present_model").set_value("Baseline").run()
    assert not at.exception
    assert "<title>Baseline predicting species</title>" in deck_in_page(at), "the deck follows the model picked"


def test_the_results_page_links_to_the_slides(iris_run):
    at = opened(iris_run, "pages/results.py")
    assert any(link.proto.page == "present" for link in at.get("page_link")), "a way to the slides"
