"""Views of the Present page: the slide deck of a finished run, built once per model and shown in the page."""

from __future__ import annotations

import streamlit as st

from core.training import TrainedModel, TrainingRequest
from ui import state

#: Height of the deck inside the page (px): a 16:9 slide at the width of the page's main column.
DECK_HEIGHT = 720


def finished_explanation(model_name: str):
    """The explanation of ``model_name`` when its job has finished, else ``None`` (as the report takes it)."""
    job = state.explain_job(model_name)
    snapshot = job.snapshot() if job is not None else None
    if snapshot is None or snapshot.status != "finished" or not snapshot.results:
        return None
    return snapshot.results[0]


def deck(model: TrainedModel, request: TrainingRequest) -> tuple[str, str]:
    """The deck of ``model`` as HTML and its file name; built again only when what it shows changes."""
    from core.export import file_stem
    from core.presentation import build_slides, deck_html, presented_title

    job = state.job()
    assert job is not None, "the Present page is locked until a run exists"
    tested = state.test_scores(model.name)
    explanation = finished_explanation(model.name)
    looks = len(state.test_log())
    source = state.source()
    name = source.name if source is not None else "data"
    snapshot = job.snapshot()  # while the run goes on, more models (and the chosen one's refit) arrive
    token = (
        id(job),
        len(snapshot.results),
        snapshot.status,
        id(model),
        tested is not None,
        looks,
        id(explanation),
        name,
    )

    def build() -> str:
        with st.spinner("Preparing the slides…"):
            slides = build_slides(
                request,
                snapshot.results,
                model,
                explanation=explanation,
                test_scores=tested,
                test_looks=looks,
                source_name=name,
            )
            return deck_html(slides, presented_title(request, model))

    return state.memo("present_deck", token, build), f"slides-{file_stem(model.name)}.html"


def notes(tested: bool, explained: bool) -> None:
    """What the deck holds and how to move through it, in a caption."""
    numbers = (
        "test and validation numbers" if tested else "validation numbers (score the test split on Results to add it)"
    )
    drivers = "SHAP importance from the finished explanation" if explained else "permutation importance"
    st.caption(
        f"Slides about the selected model: {numbers}, the leaderboard, its main chart, {drivers}, the summary "
        "and the caveats. Click the slides, then use ← → (or PageUp/PageDown, Space, Home, End); "
        "the downloaded file opens offline in any browser, full screen with F11."
    )
