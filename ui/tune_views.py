"""The tuning section of the Models page: start a search, watch it, use its winner."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core import charts, registry
from core.errors import DashboardError
from core.training import ModelRun
from core.tuning import TuningJob, untunable
from ui import admission_views, charts_view, job_views, state
from ui.text import md_escape


def tune_section(runs: list[ModelRun], make_request) -> None:
    """Pick a model and a budget, start a randomized search, show it live."""
    tunable = [r for r in runs if r.key != "baseline"]
    choice = state.target()
    why = untunable(choice.task) if choice is not None else None
    if why:
        st.caption(md_escape(why))
        return
    if not tunable:
        st.caption("Pick a model above to tune it.")
        return
    names = {r.key: r.name for r in tunable}
    key = st.selectbox("Model to tune", list(names), format_func=names.get, key="tune_model")
    cols = st.columns(3)
    trials = cols[0].number_input("Trials", 2, 500, 20, key="tune_trials", help="How many random settings to try.")
    seconds = cols[1].number_input("Time budget (seconds, 0 = no limit)", 0, 7200, 120, key="tune_seconds")
    folds = cols[2].selectbox(
        "Cross-validation folds",
        [3, 5],
        key="tune_folds",
        help="Each trial is scored by cross-validation on the training split only.",
    )
    if st.button("Start tuning", icon=":material/travel_explore:", key="tune_start"):
        try:
            request = make_request()
        except DashboardError as err:
            st.error(md_escape(err.user_message))
            return
        run = next(r for r in tunable if r.key == key)
        job = TuningJob(
            request, run, trials=int(trials), seconds=float(seconds) or None, folds=int(folds), seed=request.seed
        )
        state.set_tuning_job(job.start())
    job = state.tuning_job()
    if job is not None:
        _live(job)


def _live(job: TuningJob) -> None:
    def view(snap) -> None:
        trials = snap.results
        total = job.budget.get("trials", len(trials)) or 1
        st.progress(
            min(1.0, len(trials) / total),
            text=md_escape(f"{job.run.name}: {len(trials)} of {total} trials ({snap.status})"),
        )
        admission_views.waiting_caption(job)  # a search waits for a free place on the server like a run
        if snap.status == "running":
            job_views.stop_button(
                job, "Stop tuning", "tune_stop", "Stop after the trial in progress; the trials done stay."
            )
        if snap.error:
            st.error(md_escape(snap.error))
        if not trials:
            return
        spec = registry.get_spec(job.run.key)
        metric = job.value.metric if job.value else _metric_label(job)
        higher = job.value.higher_is_better if job.value else True
        charts_view.show(
            charts.tuning_curve([t.score for t in trials], metric, higher_is_better=higher), key="tune_curve"
        )
        table = pd.DataFrame(
            [
                {
                    "trial": t.number,
                    metric: t.score,
                    "seconds": t.seconds,
                    **{k: _show(spec, k, v) for k, v in t.params.items() if k != "layers"},
                    "error": t.error or "",
                }
                for t in trials
            ]
        )
        st.dataframe(table, hide_index=True, height=min(300, 38 + 35 * len(table)))
        finite = [t for t in trials if t.error is None and math.isfinite(t.score)]
        if finite and snap.status != "running":
            best = (max if higher else min)(finite, key=lambda t: t.score)
            st.success(md_escape(f"Best: trial {best.number}, cross-validated {metric} {best.score:.4f}."))
            st.button(
                "Use these settings",
                type="primary",
                key="tune_apply",
                on_click=_apply,
                args=(job.run.key, best.params),
                icon=":material/check:",
            )

    job_views.follow(job, 1.0, view)


def _metric_label(job: TuningJob) -> str:
    return job.request.ranking.label


def _show(spec, name: str, value) -> object:
    param = next((p for p in spec.params if p.name == name), None)
    display = getattr(param, "display", None)
    return str(display(value) if display else value)


def _apply(key: str, params: dict) -> None:
    """Put the winning values into the model's form (runs before the next rerun)."""
    setup = state.train_setup()
    if setup is not None:
        setup.models = [ModelRun(m.key, m.name, dict(params)) if m.key == key else m for m in setup.models]
        state.set_train_setup(setup)
    for name, value in params.items():
        if name != "layers":
            if value is not None:
                st.session_state[f"models_{key}_{name}"] = value
            st.session_state[f"models_{key}_{name}_none"] = value is None
