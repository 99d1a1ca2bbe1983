"""The one-click demo on the Data page (AppTest): one button, every step ticked, every page showing the run."""

from __future__ import annotations

import math
import time

import pytest
from streamlit.testing.v1 import AppTest

from core import demo
from core.errors import DashboardError
from core.plan_defaults import default_plan
from core.samples import list_samples, load_sample
from core.schema import effective_roles, infer_roles
from tests.conftest import opened, session_of
from ui import state

#: The demo must end within this (the goal is 30 s in a browser; AppTest on busy shared cores is slower).
DEADLINE_S = 240
SAMPLE = "iris"  # the smallest sample
JOURNEY = ["Data", "Target", "Clean", "Models", "Train", "Results", "Explain"]


def press_run(sample: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.selectbox(key="data_demo_sample").set_value(sample)
    at.button(key="data_demo_run").click().run()
    assert not at.exception, at.exception
    return at


def run_until(at: AppTest, done, deadline_s: float = DEADLINE_S) -> None:
    """Rerun the page (as the demo's polling does in a browser) until ``done(progress)``, time-boxed."""
    deadline = time.monotonic() + deadline_s
    while not done(at.session_state[state.DEMO]):
        assert time.monotonic() < deadline, f"not done after {deadline_s} s: {at.session_state[state.DEMO]}"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception


def plain(markdown: str) -> str:
    """Markdown as read: without the escapes that keep user text literal."""
    return markdown.replace("\\", "")


def steps_done(session: dict, monkeypatch) -> dict[str, bool]:
    """What the sidebar ticks (``ui.journey.is_done``) for a session's state.

    AppTest leaves the sidebar out of its element tree once a table is loaded, so the ticks are read
    from the rule the sidebar draws them with (the browser journey sees the ✓ themselves).
    """
    import streamlit as st

    from ui import journey

    monkeypatch.setattr(st, "session_state", dict(session))
    return {step.title: journey.is_done(step.key) for step in journey.STEPS if step.title in JOURNEY}


def logged_test_metrics(report, model: str) -> set[str]:
    """The ``test_…`` metrics of a model's run in the experiment log."""
    from core.tracking.store import mlflow_client

    run = mlflow_client(report.tracking_uri).get_run(report.model_runs[model])
    return {key for key in run.data.metrics if key.startswith("test_") and key != "test_looks"}


def test_the_demo_steps_are_the_journeys_steps():
    from ui import journey

    assert [s.key for s in demo.STEPS] == [s.key for s in journey.STEPS][: len(demo.STEPS)]
    assert [s.title for s in journey.STEPS][: len(demo.STEPS)] == JOURNEY


@pytest.fixture(scope="module")
def finished():
    """The demo of the smallest sample, run to its end once; (the AppTest, what its session held)."""
    at = press_run(SAMPLE)
    run_until(at, lambda progress: not progress.running)
    return at, session_of(at)


def test_the_demo_goes_through_every_step_by_itself(finished, monkeypatch):
    at, _ = finished
    progress = at.session_state[state.DEMO]
    assert progress.status == "finished", progress
    assert [key for key, _ in progress.notes] == [s.key for s in demo.STEPS]
    assert progress.elapsed is not None and progress.elapsed > 0
    assert any(f"Demo finished in {progress.elapsed:.1f} s" in plain(s.value) for s in at.success)
    # what the pages would have stored, through their setters
    choice = at.session_state[state.TARGET]
    assert choice.target == "species" and choice.task.value == "multiclass classification"
    assert at.session_state[state.PLAN] is not None
    setup = at.session_state[state.TRAIN_SETUP]
    assert [m.name for m in setup.models] == [m.name for m in demo.preset(choice.task)]
    job = at.session_state[state.JOB]
    assert job.snapshot().status == "finished" and not job.checking
    log = at.session_state[state.TEST_LOG]
    assert len(log) == 1 and log[0]["key"][0] == id(job)
    chosen = log[0]["model"]
    explaining = at.session_state[state.EXPLAIN_JOBS][chosen][1]
    assert explaining.snapshot().status == "finished" and explaining.snapshot().results
    assert chosen in progress.note("results") and chosen in progress.note("explain")
    # the sidebar ticks every step
    assert steps_done(session_of(at), monkeypatch) == dict.fromkeys(JOURNEY, True)
    # the run and the chosen model's test score are in the experiment log, as after the Results page's button
    assert job.wait(120) and job.after_run().status == "done" and job.after_run().value.ok
    report = job.after_run().value
    deadline = time.monotonic() + 60
    while not logged_test_metrics(report, chosen):
        assert time.monotonic() < deadline, "the test score never reached the experiment log"
        time.sleep(0.5)
    assert logged_test_metrics(report, chosen) >= {
        f"test_{key}" for key, value in log[0]["scores"].items() if math.isfinite(value)
    }


@pytest.mark.parametrize(
    "page", ["target", "clean", "models", "train", "results", "explain"], ids=lambda p: f"pages/{p}.py"
)
def test_every_page_shows_the_demo_run(finished, page):
    _, session = finished
    at = opened(session, f"pages/{page}.py")
    job, plan = session[state.JOB], session[state.PLAN]
    assert at.session_state[state.JOB] is job, "visiting the page kept the demo's run"
    assert at.session_state[state.PLAN].to_dict() == plan.to_dict(), "the page kept the demo's plan"
    assert at.session_state[state.TEST_LOG] == session[state.TEST_LOG], "no page scored the test split again"
    chosen = session[state.TEST_LOG][0]["model"]
    if page == "results":
        assert at.selectbox(key="results_model").value == chosen
        assert any(f"**Test numbers** for {chosen}" in plain(m.value) for m in at.markdown)
    if page == "explain":
        assert at.selectbox(key="explain_model").value == chosen
        assert "explain_start" not in {b.key for b in at.button}, "no need to start it: it is there"
        assert at.get("plotly_chart"), "the explanation's charts are drawn"
    if page == "models":
        assert not at.button(key="models_train").disabled


@pytest.mark.parametrize("key", [s.key for s in list_samples()])
def test_the_clean_page_keeps_the_demo_plan(key):
    """The demo's plan is the one the Clean page makes untouched: visiting the page changes nothing (nor clears the run)."""
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.button(key=f"data_sample_{key}").click().run()
    frame = load_sample(key).frame
    guesses = infer_roles(frame)
    roles = effective_roles(guesses, {})
    choice = demo.choose_target(frame, demo.sample(key), roles, guesses)
    plan = default_plan(choice.features, roles)
    at.session_state[state.TARGET] = choice
    at.session_state[state.PLAN] = plan
    at.switch_page("pages/clean.py").run()
    assert not at.exception, at.exception
    assert at.session_state[state.PLAN].to_dict() == plan.to_dict()


def test_stop_keeps_what_was_done():
    at = press_run(SAMPLE)
    training = [s.key for s in demo.STEPS].index("train")
    run_until(at, lambda progress: progress.step >= training or not progress.running)
    at.button(key="data_demo_stop").click().run()
    assert not at.exception, at.exception
    progress = at.session_state[state.DEMO]
    assert progress.status == "stopped"
    assert any("Demo stopped after" in plain(i.value) for i in at.info)
    assert at.session_state[state.TARGET].target == "species"
    assert at.session_state[state.PLAN] is not None and at.session_state[state.TRAIN_SETUP] is not None
    job = at.session_state[state.JOB]
    assert job is not None and job.wait(120)
    assert job.snapshot().status in ("stopped", "finished")
    assert at.button(key="data_demo_run"), "the demo can be run again"


def test_a_step_that_fails_says_why_and_keeps_what_was_done(monkeypatch):
    def broken(*args, **kwargs):
        raise DashboardError("The sample's target column is broken.")

    monkeypatch.setattr(demo, "choose_target", broken)
    at = press_run(SAMPLE)
    run_until(at, lambda progress: not progress.running, deadline_s=60)
    progress = at.session_state[state.DEMO]
    assert progress.status == "failed" and progress.step == 1
    assert any("The sample's target column is broken." in plain(e.value) for e in at.error)
    assert at.session_state[state.DATASET] is not None, "the loaded sample is kept"
    assert at.session_state[state.TARGET] is None
