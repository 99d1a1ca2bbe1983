"""The Results page's comparison of several models: time against score, and their curves overlaid.

The chosen model is always drawn; the predictions and figures of a run are built once
(:func:`ui.charts_view.show_built`) and come from :mod:`ui.results_views`' per-model helpers.
"""

from __future__ import annotations

import streamlit as st

from core import charts, results
from core.target import Task
from core.training import TrainedModel, TrainingRequest, best_model
from ui import anomaly_views, charts_view, state
from ui.results_views import positive_title, valid_predictions
from ui.text import md_escape


def compare(trained: list[TrainedModel], request: TrainingRequest) -> None:
    """Several models at once: scores, overlaid curves, time vs score."""
    task = request.task
    if task == Task.ANOMALY:  # no score to put detectors side by side: how alike they rank the rows
        return anomaly_views.compare(trained, request)
    metric = request.ranking
    colors = charts.run_colors(request)  # one colour per model on every chart of the run
    everyone = tuple(trained)  # while the run trains, more models join: those drawn are the owners

    def time_vs_score():
        table = results.compare_table(trained, task, request.metric or None)
        return charts.time_vs_score_figure(table, metric.label, colors)

    names_now = tuple(m.name for m in trained)
    charts_view.show_built(time_vs_score, "results_time_score", token=names_now, owners=everyone)
    if task == Task.CLUSTERING or len(trained) < 2:
        return
    names = [m.name for m in trained]
    best = best_model(trained, task, request.metric or None)
    best_name = best.name if best is not None else None
    run = id(state.job())
    default = state.kept("results_overlay", charts.overlay_models(names, best_name), token=run, allowed=names)
    picked = st.multiselect("Overlay these models", names, default=default, key="results_overlay")
    state.keep("results_overlay", picked, token=run)
    shown = charts.overlay_models(names, best_name, picked)
    if best_name is not None and best_name not in picked:
        st.caption(md_escape(f"{best_name} is the chosen model, so it is always drawn for comparison."))
    chosen = [m for m in trained if m.name in shown]
    preds = {m.name: valid_predictions(m, request) for m in chosen}
    drawn, token = tuple(chosen), tuple(preds)
    if task == Task.REGRESSION:

        def residuals():
            frames = {name: results.residuals_frame(p.y, p.y_pred) for name, p in preds.items()}
            return charts.residuals_overlay_figure(frames, colors)

        charts_view.show_built(residuals, "results_overlay_residuals", token=token, owners=drawn)
        return
    if task == Task.BINARY:
        first = next(iter(preds.values()), None)

        def overlay(curves_of, figure, title: str):
            """Builds a figure with a curve per model (each one's positive class), when first drawn."""

            def build():
                curves = {
                    name: next(iter(curves_of(p.y, p.proba, p.classes, p.positive).values()))
                    for name, p in preds.items()
                    if p.proba is not None
                }
                return figure(curves, title=positive_title(title, first) if first else title, colors=colors)

            return build

        left, right = st.columns(2)
        roc = overlay(results.roc_curves, charts.roc_figure, "ROC curves")
        pr = overlay(results.pr_curves, charts.pr_figure, "Precision–recall curves")
        charts_view.show_built(roc, "results_overlay_roc", token=token, owners=drawn, where=left)
        charts_view.show_built(pr, "results_overlay_pr", token=token, owners=drawn, where=right)
