"""Views of the Train page: progress, live curves, the leaderboard."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from core import charts, engine
from core.guards.findings import worst_first
from core.jobs import JobSnapshot
from core.metrics import METRICS
from core.registry import get_spec
from core.results import leaderboard_reasons
from core.target import Task
from core.teaching.glossary import metric_tooltip
from core.training import (
    ModelFailure,
    TrainedModel,
    TrainingJob,
    TrainingRequest,
    best_model,
    budget,
    cv_columns,
    leaderboard,
    leaderboard_formats,
    live_history,
    progress,
    summary,
)
from core.training.choose import choose, ranking_words
from ui import charts_view, guard_views, state
from ui.text import md_escape

#: Marks the captions below the leaderboard that say why a cell is empty (a score that does not exist).
UNDEFINED = "—"
#: The leaderboard's column that marks the best model with a star.
BEST_COLUMN = "best"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_view(job: TrainingJob, snap: JobSnapshot) -> None:
    """Run-level and model-level progress bars with elapsed time and ETA."""
    prog = progress(snap)
    status = {"running": "Training…", "finished": "Finished", "stopped": "Stopped", "failed": "Failed"}[snap.status]
    if job.stopping and snap.status == "running":
        status = "Stopping after the current step…"
    st.progress(
        prog.fraction,
        text=f"{status} {prog.done} of {prog.total} models · elapsed {_clock(prog.elapsed)} · ETA {_clock(prog.eta)}",
    )
    for model in prog.running:  # models of one run train side by side when the cluster has free workers
        st.progress(model.fraction, text=md_escape(f"{model.name}: {model.detail}"))
    if snap.error:
        st.error(md_escape(f"The run stopped with an error: {snap.error}"))
    st.caption(md_escape(engine.info().describe(show_address=state.served_locally())))


def live_view(job: TrainingJob, snap: JobSnapshot) -> None:
    """The live chart of the model being trained (or the last one that reported)."""
    prog = progress(snap)
    name = prog.current or _last_reporting(snap)
    if name is None:
        return
    history = live_history(snap, name)
    if not history:
        return
    run = next((r for r in job.request.models if r.name == name), None)
    spec = get_spec(run.key) if run else None
    finished = {r.name for r in snap.results if isinstance(r, TrainedModel) and r.history}
    if snap.status != "running" and name in finished:
        return  # its final curves are drawn under the leaderboard; once is enough
    color = charts.run_colors(job.request).get(name)  # the model's colour on every chart of the run
    # Built again only when new points came in: the page redraws every second while a run trains.
    points = (name, sum(len(values) for values in history.values()), snap.status)
    if spec is not None and spec.needs_tensorflow:
        epochs = len(history.get("loss", []))
        st.caption(md_escape(f"{name}: epoch {epochs}"))
        monitored = history.get("val_loss") or history.get("loss") or []
        best = min(range(len(monitored)), key=monitored.__getitem__) + 1 if monitored else None
        charts_view.show_built(
            lambda: charts.training_curves(history, best_epoch=best, color=color), "train_live_curves", token=points
        )
    else:
        charts_view.show_built(
            lambda: charts.staged_curve(history, label=name, color=color), "train_live_stages", token=points
        )


def _last_reporting(snap: JobSnapshot) -> str | None:
    for event in reversed(snap.events):
        model = getattr(event, "model", None)
        if model and hasattr(event, "metrics"):
            return model
    return None


def leaderboard_view(job: TrainingJob, snap: JobSnapshot) -> None:
    """Scores of every finished model; the best highlighted; failures with reasons."""
    task = job.request.task
    if not snap.results:
        st.caption("The leaderboard fills in as models finish.")
        return
    metric = job.request.ranking
    table = leaderboard(snap.results, task, metric.key)
    ranked_by = table.attrs.get("ranked_by", metric.label)
    cross_validated = ranked_by != metric.label
    if task != Task.CLUSTERING:
        st.caption(md_escape(ranking_words(job.request, cross_validated)))
    best = (
        table[ranked_by].idxmax()
        if ranked_by in table.columns and metric.higher_is_better
        else (table[ranked_by].idxmin() if ranked_by in table.columns else None)
    )
    if task == Task.ANOMALY:  # no score ranks detectors: the chosen one is the first picked (best_model)
        first = best_model(snap.results, task)
        best = next((i for i, name in table["model"].items() if first is not None and name == first.name), None)
    mean_column, spread_column = cv_columns(metric)
    if best is not None and table[ranked_by].notna().any():
        # The best row marked in a column of its own: a styled table cost ~10 ms per draw, each second of a run.
        table = table.copy()
        table.insert(1, BEST_COLUMN, np.where(table.index == best, "★", ""))
    help_text = {m.label: metric_tooltip(m.key, m.meaning) for m in METRICS.values()}
    help_text[mean_column] = f"Mean {metric.label} over the cross-validation folds of training + validation rows."
    help_text[spread_column] = "How much the score varied between the folds (standard deviation)."
    config: dict[str, Any] = {
        label: st.column_config.NumberColumn(label, help=help_text.get(label), format=how)
        for label, how in leaderboard_formats(metric).items()
        if label in table.columns
    }
    config[BEST_COLUMN] = st.column_config.TextColumn(
        BEST_COLUMN, help="The model the app chooses: the best by the ranking metric.", width="small"
    )
    st.dataframe(table, hide_index=True, column_config=config)
    reasons = state.memo(
        "train_board_reasons", (id(job), len(snap.results)), lambda: leaderboard_reasons(snap.results, job.request)
    )
    for line in reasons:
        st.caption(f"{UNDEFINED} {md_escape(line)}")
    for result in snap.results:
        if isinstance(result, ModelFailure):
            st.warning(md_escape(f"{result.name} could not be trained: {result.message}"), icon=":material/error:")
    trained = [r for r in snap.results if isinstance(r, TrainedModel)]
    if len(trained) > 1 and ranked_by in table.columns:
        spread = spread_column if cross_validated else None
        colors = charts.run_colors(job.request)
        charts_view.show_built(  # drawn again when a model finishes or is refitted (new results)
            lambda: charts.leaderboard_chart(table, ranked_by, spread, colors),
            "train_leaderboard_chart",
            token=(ranked_by, spread),
            owners=tuple(snap.results),
        )
    keras_done = [r for r in trained if r.history]
    if keras_done and snap.status != "running":
        pick = keras_done[-1]
        color = charts.run_colors(job.request).get(pick.name)
        charts_view.show_built(
            lambda: charts.training_curves(pick.history, best_epoch=pick.best_epoch, color=color),
            "train_final_curves",
            token=(pick.name,),
            owners=(pick,),
        )


def choice_view(job: TrainingJob, snap: JobSnapshot) -> None:
    """Which model was chosen, why, and whether it was refitted on training + validation rows (or is being)."""
    request = job.request
    if snap.status == "running":
        return
    choice = choose(snap.results, request)
    if choice is None:
        return
    if job.refitting:
        st.caption(
            md_escape(f"Refitting {choice.model.name} on the {request.split.choice_rows:,} training + validation rows…")
        )
        return
    st.markdown(f"**Chosen: {md_escape(choice.model.name)}.** {md_escape(choice.reason)}")
    if not request.task.has_target:
        return
    words = md_escape(summary(choice.model, request, snap.results))
    if choice.model.refitted:
        st.success(words, icon=":material/verified:")
    else:
        st.warning(words, icon=":material/info:")


def checks_view(job: TrainingJob, snap: JobSnapshot) -> None:
    """What the guards found: the leakage scan of the training rows, then the best model's checks."""
    request = job.request
    findings = list(request.leakage.findings) if request.leakage is not None else []
    best = best_model(snap.results, request.task, request.metric) if snap.status != "running" else None
    if best is not None and best.checks:
        findings = [*best.checks, *findings]
    if not findings and not (best is not None and job.checking):
        return
    st.subheader("Checks", anchor=False)
    if best is not None and job.checking:
        st.caption(md_escape(f"Checking {best.name} for a column that does all the work…"))
    guard_views.findings_list(worst_first(findings), key="train_guard")
    if findings:
        st.page_link("pages/target.py", label="Untick columns on the Target page", icon=":material/ads_click:")


def stale_note(job: TrainingJob) -> None:
    """Say so when the features changed since this run (a guard's "Untick" keeps the run to compare)."""
    choice = state.target()
    if choice is None or set(choice.features) == set(job.request.features):
        return
    left = sorted(set(job.request.features) - set(choice.features))
    added = sorted(set(choice.features) - set(job.request.features))
    changes = "; ".join(
        part
        for part in (
            f"since unticked: {', '.join(map(repr, left))}" if left else "",
            f"since ticked: {', '.join(map(repr, added))}" if added else "",
        )
        if part
    )
    st.info(
        md_escape(f"These models were trained before the features changed ({changes}). Train again to compare."),
        icon=":material/history:",
    )
    st.page_link("pages/models.py", label="Train again on the Models page", icon=":material/tune:")


def baseline_note(results: list, request) -> None:
    """Say so plainly when no model beat the baseline that always predicts the most common answer (or the mean)."""
    best = best_model(results, request.task, request.metric)
    trained = [r for r in results if isinstance(r, TrainedModel) and r.key != "baseline"]
    if best is None or best.key != "baseline" or not trained:
        return
    st.warning(
        md_escape(
            f"No model beat the baseline on {request.ranking.label}: the baseline always predicts the most common "
            "answer (or the mean). These columns may not carry the answer, or the models need other settings or "
            "more rows."
        ),
        icon=":material/trending_flat:",
    )


def budget_note(request: TrainingRequest, trained: list | tuple = ()) -> None:
    """What the time budget changed in this run: the training sample, shrunk, left-out and cut-short models."""
    lines = budget.notes(request) + [f"{m.name} {m.budget_note}." for m in trained if getattr(m, "budget_note", "")]
    if lines:
        st.info(md_escape(" ".join(lines)), icon=":material/timer:")
