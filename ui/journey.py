"""The journey's steps: pages, what is done, what is locked and why, guards."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import streamlit as st

from ui import admission_views, big_views, guide_views, leave_guard, state, theme_views
from ui.text import md_escape


@dataclass(frozen=True)
class Step:
    """One page of the journey."""

    key: str
    title: str
    path: str
    icon: str


STEPS: list[Step] = [
    Step("data", "Data", "pages/data.py", ":material/upload_file:"),
    Step("target", "Target", "pages/target.py", ":material/ads_click:"),
    Step("clean", "Clean", "pages/clean.py", ":material/cleaning_services:"),
    Step("models", "Models", "pages/models.py", ":material/tune:"),
    Step("train", "Train", "pages/train.py", ":material/model_training:"),
    Step("results", "Results", "pages/results.py", ":material/query_stats:"),
    Step("explain", "Explain", "pages/explain.py", ":material/lightbulb:"),
    Step("predict", "Predict", "pages/predict.py", ":material/online_prediction:"),
    Step("experiments", "Experiments", "pages/experiments.py", ":material/science:"),
]
#: Pages beside the journey (reference, presentation): always open, listed under the steps.
EXTRAS: list[Step] = [
    Step("present", "Present", "pages/present.py", ":material/co_present:"),
    Step("glossary", "Glossary", "pages/glossary.py", ":material/menu_book:"),
]
STEP = {s.key: s for s in STEPS + EXTRAS}
#: Steps that work without the steps before them (a bundle or a tracked run can be loaded any time).
ALWAYS_OPEN = ("predict", "experiments")


def is_done(key: str) -> bool:
    """Whether a step has been completed in this session."""
    if key == "data":
        return state.dataset() is not None
    if key == "target":
        return state.target() is not None
    if key == "clean":
        return state.plan() is not None
    if key == "models":
        return state.train_setup() is not None
    if key == "train":
        job = state.job()
        return job is not None and job.snapshot().status in ("finished", "stopped")
    if key == "results":
        return bool(state.test_log())
    if key == "explain":  # a job keeps its explanation when it finishes (or is stopped with rows done)
        jobs = [state.explain_job(m.name) for m in state.trained_models()]
        return any(j is not None and j.snapshot().results for j in jobs)
    return False


def locked_reason(key: str) -> str | None:
    """Why a step cannot be opened yet, or ``None`` if it can."""
    if key == "present":  # slides of a finished run need what its Results page needs: a trained model
        return locked_reason("results")
    if key in ALWAYS_OPEN or key in {e.key for e in EXTRAS}:
        return None
    if key != "data" and state.dataset() is None:
        return "Load a dataset first (Data)."
    if key in ("clean", "models", "train", "results", "explain") and state.target() is None:
        return "Choose the target first (Target)."
    if key in ("models", "train", "results", "explain") and state.plan() is None:
        return "Review the cleaning plan first (Clean)."
    if key == "train" and state.train_setup() is None and state.job() is None:
        return "Choose the models first (Models)."
    if key in ("results", "explain") and not state.trained_models():
        return "Train at least one model first (Train)."
    choice = state.target()
    # An anomaly detector has no target either, but its anomaly score is explained (core.anomaly).
    if key == "explain" and choice is not None and choice.target is None and not choice.task.explained:
        return "Explanations need a target; clustering has none."
    return None


def pages() -> list:
    """``st.Page`` objects for ``st.navigation``, in journey order."""
    return [
        st.Page(s.path, title=s.title, icon=s.icon, url_path=s.key, default=(i == 0))
        for i, s in enumerate(STEPS + EXTRAS)
    ]


def sidebar(slot, current: str | None, drawn: Hashable = None) -> Hashable:
    """Draw the journey into ``slot`` (an ``st.sidebar.empty()``): done ✓, current ▸, locked 🔒 with why.

    Drawing again into the same slot replaces what was there. A big file's table becomes the training sample
    for a newly chosen target here, before any page uses it (:func:`ui.big_views.ensure_training_sample`).

    Returns what it showed; given that as ``drawn`` (the same run's first drawing, before the page) it draws
    nothing when nothing in it changed: every element sent costs the one interpreter every session shares
    (the sidebar, drawn twice a run, was a tenth of it with thirty sessions at once).
    """
    big_views.ensure_training_sample()
    marks = []
    for step in STEPS:
        reason = locked_reason(step.key)
        if step.key == current:
            mark = "▸"
        elif reason:
            mark = "🔒"
        elif is_done(step.key):
            mark = "✓"
        else:
            mark = "○"
        marks.append((mark, reason))
    ds, choice = state.dataset(), state.target()
    lines: tuple[str, ...] = ()
    if ds is not None:
        of = f" of {ds.big.rows:,}" if ds.big is not None and ds.big.sample.sampled else ""  # a big file's sample
        lines = (f"{ds.name}\n{ds.n_rows:,}{of} rows × {ds.n_cols:,} columns",)
        if choice is not None:
            lines += (f"Target: {choice.target or '(none)'}\nTask: {choice.task.value}",)
    working = state.work_in_progress()
    shown = (current, tuple(marks), lines, working, admission_views.server_state())
    if shown == drawn:
        return shown
    with slot.container():
        st.markdown("### No-code ML")
        st.caption("Follow the steps from top to bottom.")
        for i, (step, (mark, reason)) in enumerate(zip(STEPS, marks, strict=True), start=1):
            st.page_link(
                step.path, label=f"{mark} {i}. {step.title}", icon=step.icon, disabled=reason is not None, help=reason
            )
        guide_views.sidebar_toggles(slot)  # once per run, below this slot (see its docstring)
        theme_views.sidebar_choice(slot)  # once per run, below the toggles: Light, Dark, High contrast
        if EXTRAS:
            st.divider()
            for extra in EXTRAS:
                st.page_link(extra.path, label=extra.title, icon=extra.icon)
        if lines:
            st.divider()
            st.caption("Current data")
            for line in lines:
                st.text(line)
        admission_views.server_box()  # runs on the server and its limits, when there is something to say
        leave_guard.warn_before_leaving(working)
    return shown


def require(key: str) -> None:
    """Guard at the top of a page: explain what is missing, link to it, stop.

    On a big file it also makes the table the training sample for the chosen target and says, in a
    caption, which rows the page works on (:mod:`ui.big_views`).
    """
    reason = locked_reason(key)
    if reason is None:
        big_views.ensure_training_sample()
        big_views.sample_caption()
        return
    order = [s.key for s in STEPS]
    missing = next((k for k in order[: order.index(key)] if locked_reason(k) is None and not is_done(k)), order[0])
    st.info(md_escape(reason), icon=":material/lock:")
    st.page_link(STEP[missing].path, label=f"Go to {STEP[missing].title}", icon=STEP[missing].icon)
    st.stop()


def next_step(key: str) -> None:
    """A link to the step after ``key``, if there is one."""
    keys = [s.key for s in STEPS]
    index = keys.index(key)
    if index + 1 < len(STEPS) and locked_reason(STEPS[index + 1].key) is None:
        nxt = STEPS[index + 1]
        st.page_link(nxt.path, label=f"Next: {nxt.title} →", icon=nxt.icon)
