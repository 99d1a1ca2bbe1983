"""The one-click demo on the Data page: a sample, one button, and the app walks the journey by itself.

Each step makes the object its page makes, with the core function that page calls, and stores it
through the page's own setter (``ui.state``), so afterwards every page shows the run as if the
person had clicked through it. One step is done per script run, then the script reruns, so
``app.py`` redraws the sidebar with the step ticked; steps that wait for work on the cluster
(training, the refit, the explanation) poll it in a fragment and rerun the app when it is done.
What the demo chooses (target, plan, preset, budget) is :mod:`core.demo`.

This module is imported by the first page: pandas, scikit-learn and the Train page's views load
when the demo runs, not before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, NoReturn

import streamlit as st

from core import demo as recipe
from core.errors import DashboardError
from core.jobs import explain_failure
from core.load_options import LoadOptions
from core.samples import list_samples, load_sample
from ui import journey, state
from ui.text import md_escape

#: How often a waiting step looks at its work (seconds): the steps tick without a second's lag.
POLL_S = 0.5
#: Pages the end of the demo links to, when the app has them (the presentation page is optional).
LOOK_AT = ("results", "explain", "present")

Outcome = tuple[str, dict[str, Any]] | None  # (what the step did, changes to the progress), or None: not yet


def demo_box() -> None:
    """The demo's box: choose a sample and run it; while it runs, its steps; at the end, where to look.

    While the demo runs, the rest of the page is not drawn (``st.stop``): redrawing the table, its
    profile and charts at every step cost the browser seconds on two cores; they appear at the end.
    """
    progress = state.demo()
    with st.container(border=True, key="data_demo"):
        st.markdown("**One-click demo**")
        if progress is not None and progress.running:
            _drive(progress)
            st.stop()
        st.caption(
            "Pick a sample and press the button: the app chooses the target, makes the cleaning plan, trains a "
            "fast set of models with live curves, scores the chosen one on the test split and explains it, in "
            f"within about {recipe.GOAL_SECONDS} seconds on two free cores (longer when the computer is busy). "
            "Then every page shows the run as if you had clicked through it."
        )
        samples = {s.key: s.title for s in list_samples()}
        keys = list(samples)
        start = keys.index(progress.sample) if progress is not None and progress.sample in keys else 0
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        left.selectbox("Sample", keys, index=start, format_func=samples.get, key="data_demo_sample")
        busy = state.running_work()
        right.button(
            "Run the demo",
            type="primary",
            key="data_demo_run",
            icon=":material/play_circle:",
            on_click=_start,
            disabled=busy is not None,
            help=md_escape(f"Wait until {busy} has ended.")
            if busy
            else "Loads the sample in place of the current data and goes through every step.",
        )
        if progress is not None:
            _ended(progress)


def _start() -> None:
    """The button: a new demo of the sample picked beside it; its steps follow on the next runs."""
    entry = recipe.sample(st.session_state["data_demo_sample"])  # the box's value now, not when it was drawn
    state.set_demo(recipe.DemoProgress(entry.key, entry.title))


def _stop() -> None:
    """The Stop button: end the demo now; the work running is stopped and keeps what it has done."""
    progress = state.demo()
    if progress is None or not progress.running:
        return
    job = state.job()
    if job is not None and job.snapshot().status == "running":
        job.stop("the demo was stopped")
    model = _chosen()
    explaining = state.explain_job(model.name) if model is not None else None
    if explaining is not None and explaining.snapshot().status == "running":
        explaining.stop()
    state.set_demo(progress.ended("stopped"))


# --------------------------------------------------------------------------- the running demo


def _drive(progress: recipe.DemoProgress) -> None:
    """Draw the steps, then do the current one: done, store it and rerun; not yet, poll until it is."""
    if progress.version is not None and state.version() != progress.version:
        state.set_demo(progress.ended("stopped", "other data was loaded"))
        st.rerun()
    step = progress.current
    assert step is not None  # a running demo has a step to do
    _checklist(progress)
    st.button(
        "Stop the demo",
        key="data_demo_stop",
        on_click=_stop,
        icon=":material/stop_circle:",
        help="Stop now and keep what is done: every page shows it.",
    )
    try:
        outcome = STEP_WORK[step.key](progress)
    except DashboardError as err:
        _fail(progress, err.user_message)
    except Exception as exc:  # never BaseException: Streamlit's rerun and stop signals are those
        _fail(progress, explain_failure(exc))
    if outcome is None:
        _waiting(step.key)
        return
    note, changes = outcome
    state.set_demo(progress.advanced(note, **changes))
    st.rerun()  # the sidebar is drawn again, with this step ticked


def _fail(progress: recipe.DemoProgress, message: str) -> NoReturn:
    state.set_demo(progress.ended("failed", message))
    st.rerun()


def _checklist(progress: recipe.DemoProgress) -> None:
    """The steps: done ones ticked with what they did, the current one running, the rest to come."""
    st.progress(
        progress.step / len(recipe.STEPS),
        text=md_escape(f"{progress.title}: step {progress.step + 1} of {len(recipe.STEPS)}"),
    )
    st.markdown("\n".join(_lines(progress)))
    st.caption("Stay on this page while the demo runs; the sidebar ticks each step as it is done.")


def _lines(progress: recipe.DemoProgress) -> list[str]:
    lines = []
    for index, step in enumerate(recipe.STEPS):
        note = progress.note(step.key)
        if note is not None:
            lines.append(f"- ✓ {step.done}: {md_escape(note)}")
        elif index == progress.step and progress.running:
            lines.append(f"- ▸ **{step.doing}** (done when {step.meaning})")
        else:
            lines.append(f"- ○ {step.doing.rstrip('…')}")
    return lines


def _waiting(key: str) -> None:
    """Poll the work the current step waits for; rerun the whole app once it is done."""
    from ui import admission_views

    first = state.job()
    queued = key == "train" and first is not None and first.waiting() is not None  # looked at less often

    @st.fragment(run_every=admission_views.QUEUE_EVERY_S if queued else POLL_S)
    def poll() -> None:
        progress = state.demo()
        if progress is None or not progress.running or progress.current is None or progress.current.key != key:
            st.rerun()
        if _ready(key):
            st.rerun()
        job = state.job()
        if queued and (job is not first or job.waiting() is None):
            st.rerun()  # admitted: the whole page once, then the usual looks while it trains
        st.caption(md_escape(f"{progress.seconds():.0f} s so far"))
        if key == "train" and job is not None:
            from ui import train_views  # the Train page's own views: the same bars and live curves

            if admission_views.queue_view(job, leave_key=None):  # waiting for a free place (Stop the demo leaves)
                return
            snap = job.snapshot()
            train_views.progress_view(job, snap)
            train_views.live_view(job, snap)
        elif key == "results" and job is not None and job.refitting:
            st.caption(md_escape(f"Refitting {job.refitting} on the training + validation rows before its test score…"))
        elif key == "explain":
            st.caption(f"Explaining the chosen model on {recipe.EXPLAIN_ROWS} validation rows at most…")

    poll()


def _ready(key: str) -> bool:
    """Whether the work step ``key`` waits for is done (drawn nothing, changed nothing)."""
    job = state.job()
    if key == "train":
        return job is None or job.snapshot().status != "running"
    if key == "results":
        return job is None or not job.checking
    if key == "explain":
        explaining = _explaining_job()
        return explaining is None or explaining.snapshot().status != "running"
    return True


# --------------------------------------------------------------------------- the steps


def _data(progress: recipe.DemoProgress) -> Outcome:
    """Load the sample as the sample picker does, and start the cluster's workers meanwhile."""
    entry = recipe.sample(progress.sample)
    recipe.prewarm()
    ds = load_sample(entry.key)
    src = state.Source(entry.title, "sample", f"sample:{entry.key}")
    state.set_dataset(ds, entry.path.read_bytes(), src, LoadOptions())
    return f"{entry.title}, {ds.n_rows:,} rows × {ds.n_cols:,} columns", {"version": state.version()}


def _target(progress: recipe.DemoProgress) -> Outcome:
    """What the Target page saves for the sample's documented target, left at its defaults."""
    ds = state.dataset()
    choice = recipe.choose_target(ds.frame, recipe.sample(progress.sample), state.roles(), state.role_guesses())
    state.set_target(choice)
    return f"{choice.target} ({choice.task.value}, {len(choice.features)} features)", {}


def _clean(progress: recipe.DemoProgress) -> Outcome:
    """The Clean page's plan at its defaults; a plan that drops many rows is left to the person."""
    from core.plan_defaults import default_plan  # pandas: loaded once the demo has a table

    choice = state.target()
    plan = default_plan(choice.features, state.roles())
    _, report = _rows(plan)
    recipe.check_row_loss(report)
    state.set_plan(plan)
    dropped = report.duplicates_dropped
    return f"{dropped:,} duplicate row{'' if dropped == 1 else 's'} dropped, gaps filled by each column's role", {}


def _models(progress: recipe.DemoProgress) -> Outcome:
    """The Models page's suggested setup with the fast preset and a small time budget."""
    choice = state.target()
    rows, _ = _rows(state.plan())
    setup = recipe.train_setup(choice.task, rows[choice.target])
    state.set_train_setup(setup)
    names = ", ".join(m.name for m in setup.models)
    return f"{names}; time budget {setup.budget:g} s", {}


def _train(progress: recipe.DemoProgress) -> Outcome:
    """Start the run as the Models page's Train button does (recorded in the experiment log); wait for its end."""
    job = state.job()
    if job is None:
        _start_training()
        return None
    snap = job.snapshot()
    if snap.status == "running":
        return None
    if snap.status == "failed":
        raise DashboardError(f"The training run failed: {snap.error}")
    trained = state.trained_models()
    if not trained:
        raise DashboardError("No model could be trained; the Train page says why for each.")
    from core import explain as ce

    ce.warm_workers(_chosen())  # shap on the workers while the chosen model is refitted (the Explain page does it too)
    took = (snap.finished_at or snap.started_at) - snap.started_at
    return f"{len(trained)} models in {took:.1f} s", {}


def _start_training() -> None:
    from core import run_memory
    from core.training import TrainingJob, make_request
    from ui import experiments_views

    ds, choice, plan, setup = state.dataset(), state.target(), state.plan(), state.train_setup()
    request = make_request(
        ds.frame, choice.target, choice.task, choice.features, state.roles(), plan, setup, positive=choice.positive
    )
    job = TrainingJob(request, after_run=experiments_views.recorder())
    run_memory.check(request)  # over the session's memory limit: the demo stops with the estimate and a fix
    state.set_job(job.start(instead_of=state.job()))  # a run of this session still queued: its place is kept


def _results(progress: recipe.DemoProgress) -> Outcome:
    """The Results page's final evaluation of the chosen model, once it is refitted: scored and logged."""
    from core import results, tracking
    from core.metrics import format_score

    job = state.job()
    if job.checking:
        return None
    model = _chosen()
    request = job.request
    scores = state.test_scores(model.name)
    if scores is None:
        scores = state.log_test((id(job), model.name), model.name, results.test_scores(model, request))["scores"]
        # Onto the model's tracked run: now, or by the job's thread right after it records the run. A store
        # that cannot be written leaves the score in the session (as on the Results page).
        with contextlib.suppress(DashboardError):
            tracking.log_test_scores_when_recorded(job, model.name, scores)
    metric = request.ranking
    return f"{model.name}, {metric.label} {format_score(metric.key, scores.get(metric.key))} on the test rows", {}


def _explain(progress: recipe.DemoProgress) -> Outcome:
    """The Explain page's explanation of the chosen model, on a few validation rows."""
    explaining = _explaining_job()
    if explaining is None:
        _start_explanation()
        return None
    snap = explaining.snapshot()
    if snap.status == "running":
        return None
    if not snap.results:
        raise DashboardError(f"The explanation failed: {snap.error or 'it returned nothing'}.")
    expl = snap.results[0]
    return f"{_chosen().name}, {expl.rows:,} rows by {expl.method}", {}


def _start_explanation() -> None:
    from core import explain as ce
    from ui.explain_views import start_job  # the Explain page's own set-up of its job

    request, model = state.job().request, _chosen()
    rows = max(1, min(recipe.EXPLAIN_ROWS, len(request.split.valid)))
    # Rules of thumb, not the page's timed probe (a second in this process): the rows are already few.
    est = ce.estimate(model, rows)
    start_job(model, request, rows, est, est.approximate if est.approximate_available else None)


STEP_WORK: dict[str, Callable[[recipe.DemoProgress], Outcome]] = {
    "data": _data,
    "target": _target,
    "clean": _clean,
    "models": _models,
    "train": _train,
    "results": _results,
    "explain": _explain,
}


def _rows(plan):
    """The rows after the plan's row steps and what they did (kept for the demo's next step)."""
    from core.cleaning import apply_row_steps

    ds, choice = state.dataset(), state.target()
    token = (state.version(), plan.to_json(), choice.target, tuple(choice.features))
    return state.memo("demo_rows", token, lambda: apply_row_steps(ds.frame, plan, choice.target, choice.features))


def _chosen():
    """The model the Results and Explain pages open on: the run's best (refitted once the run is done)."""
    job = state.job()
    trained = state.trained_models()
    if job is None or not trained:
        return None
    from core.training import best_model

    return best_model(trained, job.request.task, job.request.metric) or trained[0]


def _explaining_job():
    model = _chosen()
    return state.explain_job(model.name) if model is not None else None


# --------------------------------------------------------------------------- the end


def _ended(progress: recipe.DemoProgress) -> None:
    """How the last demo ended, what it did, and where to look next."""
    words = md_escape(progress.summary())
    if progress.status == "finished":
        st.success(words, icon=":material/check_circle:")
        st.markdown(f"**Test score:** {md_escape(progress.note('results'))}")
        job = state.job()
        if job is not None and job.after_run().pending:
            st.caption(
                "The run is still being written to the experiment log (Experiments page); its test score follows."
            )
    elif progress.status == "stopped":
        st.info(words, icon=":material/stop_circle:")
    else:
        st.error(words, icon=":material/error:")
    with st.expander("What the demo did", expanded=False):
        st.markdown("\n".join(_lines(progress)))
    links = [journey.STEP[key] for key in LOOK_AT if key in journey.STEP and journey.locked_reason(key) is None]
    for column, step in zip(st.columns(max(1, len(links))), links, strict=False):
        column.page_link(step.path, label=f"Look at {step.title}", icon=step.icon)
