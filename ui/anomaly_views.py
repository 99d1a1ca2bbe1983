"""Views of the Results page for an anomaly detector: the scores and a threshold slider with the count above it,
the most unusual rows and what makes one unusual, the optional check against a known column, the detectors side
by side. The rules are in :mod:`core.anomaly`; the run's data in :mod:`core.anomaly_results`."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import anomaly, anomaly_results, charts
from core import explain as ce
from core.errors import DashboardError
from core.metrics import format_score
from core.numbers import format_number
from core.target import is_label_name
from core.training import TrainedModel, TrainingRequest, best_model, summary
from ui import charts_view, state
from ui.text import md_code, md_escape

#: Slider steps between the lowest and the highest score.
SLIDER_STEPS = 200
ROWS_KEY = "results_anomaly_rows"
KNOWN_KEY = "results_anomaly_known"
KNOWN_VALUE_KEY = "results_anomaly_known_value"


def chosen_note(model: TrainedModel, request: TrainingRequest, results: list) -> None:
    """Which detector was chosen and by what rule, said plainly: without labels none is known to be right."""
    chosen = best_model(results, request.task)
    if chosen is not None and chosen.name == model.name:
        st.info(md_escape(summary(model, request, results)), icon=":material/rule:")
    else:
        st.caption(md_escape(f"{model.name} is not the chosen detector. {anomaly.NO_LABELS}"))


def _rows(model: TrainedModel, request: TrainingRequest) -> anomaly_results.ScoredRows:
    return state.memo(
        "results_anomaly_scored", (id(state.job()), model.name), lambda: anomaly_results.scored_rows(model, request)
    )


def diagnostics(model: TrainedModel, request: TrainingRequest) -> None:
    """The scores of the validation rows, the threshold slider and its count, the unusual rows, a known answer."""
    rows = _rows(model, request)
    st.caption(
        md_escape(
            f"Scored on the {len(rows.scores):,} validation rows: {model.name} learned what usual rows look like "
            f"from the {len(request.split.train):,} training rows and never saw these. Higher scores are more "
            "unusual."
        )
    )
    at = _threshold(model, request, rows)
    st.markdown(f"**{md_escape(rows.count_words(at))}**")
    charts_view.show(
        charts.anomaly_score_figure(rows.scores, at, rows.threshold, title=f"Anomaly scores of {model.name}"),
        key="results_anomaly_chart",
    )
    st.caption(
        "The slider explores other thresholds here. Predict, the exported model and the served model flag rows "
        "above the model's own threshold, set by the expected share of unusual rows on the Models page: train "
        "again with another share to change it."
    )
    _unusual_rows(model, request, rows, at)
    _known(model, request, rows, at)


def _threshold(model: TrainedModel, request: TrainingRequest, rows: anomaly_results.ScoredRows) -> float:
    """A slider over the scores, starting at the model's threshold (kept per run and model)."""
    low = float(min(rows.scores.min(), rows.threshold)) if len(rows.scores) else rows.threshold - 1
    high = float(max(rows.scores.max(), rows.threshold)) if len(rows.scores) else rows.threshold + 1
    step = (high - low) / SLIDER_STEPS or 1e-6
    names = [r.name for r in request.models]
    key = f"results_anomaly_at_{names.index(model.name) if model.name in names else 0}"  # a slider per detector
    token = (id(state.job()), model.name)
    start = min(max(float(state.kept(key, rows.threshold, token=token)), low), high)
    at = st.slider(
        "Threshold: flag the rows whose anomaly score is above",
        low,
        high,
        start,
        step,
        format="%.4g",
        key=key,
        help=f"Starts at the model's own threshold, {format_number(rows.threshold)}: about the expected share of "
        "unusual rows on the training rows scores above it.",
    )
    state.keep(key, at, token=token)
    return float(at)


def _unusual_rows(model: TrainedModel, request: TrainingRequest, rows: anomaly_results.ScoredRows, at: float) -> None:
    """The rows above the threshold, most unusual first; pick one to see what makes it unusual."""
    st.markdown("**The most unusual rows**")
    table = rows.top(at)
    if table.empty:
        st.info("No validation row scores above this threshold: move the slider left to flag some.")
        return
    above = table.attrs["above"]
    more = f" (the {len(table):,} most unusual of the {above:,} above the threshold)" if above > len(table) else ""
    st.caption(f"Rows above the threshold{more}, most unusual first. Pick a row to see what makes it unusual.")
    picked = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=ROWS_KEY,
        height=260,
        column_config={
            "row": st.column_config.NumberColumn("row", help="The row's number in your file (from 0)."),
            anomaly.SCORE_COLUMN: st.column_config.NumberColumn(anomaly.SCORE_COLUMN, format="%.4f"),
        },
    )
    chosen = picked.selection.rows if picked and picked.selection else []
    position = int(chosen[0]) if chosen and int(chosen[0]) < len(table) else 0
    _why(model, request, rows, table, position)


def _why(model: TrainedModel, request: TrainingRequest, rows: anomaly_results.ScoredRows, table, position: int) -> None:
    """SHAP on the anomaly score of one row: each column's push up or down from the mean score of training rows."""
    label = table["row"].iloc[position]
    row = rows.X.iloc[[int(table.attrs["positions"][position])]]
    X_train, _ = request.xy(request.split.train)
    explainer = state.memo(
        "results_anomaly_explainer",
        (id(state.job()), model.name),
        lambda: ce.what_if_explainer(model, X_train, seed=request.seed),
    )
    try:
        with st.spinner("Explaining the row…"):
            answer = ce.explain_row(model, row, X_train, explainer=explainer)
    except DashboardError as err:
        st.warning(f"The row could not be explained: {md_escape(err.user_message)}")
        return
    st.markdown(f"**What makes row {md_escape(label)} unusual**")
    charts_view.show(charts.waterfall(answer.explanation, 0, label=f"Row {label}"), key="results_anomaly_waterfall")
    st.markdown(ce.summarize_row(answer.explanation, 0))


def _known(model: TrainedModel, request: TrainingRequest, rows: anomaly_results.ScoredRows, at: float) -> None:
    """Optionally, how well the scores find a known answer held in a column that was not a feature."""
    dataset = state.dataset()
    if dataset is None:
        return
    st.markdown("**Check against a known column (optional)**")
    candidates = state.memo(
        "results_anomaly_candidates",
        (id(state.job()), state.version()),
        lambda: anomaly_results.known_candidates(request, dataset.frame),
    )
    leaked = [c for c in request.features if is_label_name(c)]
    if leaked:
        st.warning(
            f"{md_code(leaked[0])} looks like a known answer but is a feature: the detector saw it, so a check "
            "against it would flatter the detector. Untick it on the Target page to check against it fairly.",
            icon=":material/visibility:",
        )
    if not candidates:
        st.caption(
            "No column outside the features holds two values (such as failure 0/1), so there is nothing to check "
            "the scores against. Columns you keep as features are not offered: the detector saw them."
        )
        return
    run = (id(state.job()), state.version())
    options = [None, *candidates]
    first = candidates[0] if is_label_name(candidates[0]) else None
    start = state.kept(KNOWN_KEY, first, token=run, allowed=options)
    column = st.selectbox(
        "Column holding a known answer",
        options,
        index=options.index(start),
        format_func=lambda c: "none" if c is None else str(c),
        key=KNOWN_KEY,
        help="A column that was not a feature and holds two values (such as a recorded failure). Without labels "
        "the app cannot say which detector is right; a known answer, where you have one, can.",
    )
    state.keep(KNOWN_KEY, column, token=run)
    if column is None:
        return
    try:
        values, rarer = state.memo(
            "results_anomaly_known_values",
            (*run, column),
            lambda: anomaly_results.known_options(request, dataset.frame, column),
        )
        positive = _unusual_value(column, values, rarer, run)
        check = state.memo(
            "results_anomaly_known",
            (id(state.job()), model.name, column, positive, at),
            lambda: anomaly_results.check_known(rows, request, dataset.frame, column, at, positive),
        )
    except DashboardError as err:
        st.warning(md_escape(err.user_message))
        return
    cols = st.columns(4)
    cols[0].metric("ROC-AUC", format_score("roc_auc", check.roc_auc), help="Of the score's order, all thresholds.")
    cols[1].metric("PR-AUC", format_score("pr_auc", check.pr_auc), help="Average precision of the score's order.")
    for col, name, value in ((cols[2], "Precision", check.precision), (cols[3], "Recall", check.recall)):
        col.metric(f"{name} at the threshold", f"{value:.0%}" if np.isfinite(value) else "—")
    st.caption(md_escape(f"On the {check.rows:,} validation rows: {check.words()}"))


def _unusual_value(column: str, values: list, rarer, run: tuple):
    """The value of ``column`` the check looks for: the rarer one unless the person picks another."""
    if not values:
        return None
    start = state.kept(KNOWN_VALUE_KEY, rarer, token=(*run, column), allowed=values)
    picked = st.selectbox(
        "Value that marks an unusual row",
        values,
        index=values.index(start) if start in values else 0,
        format_func=str,
        key=KNOWN_VALUE_KEY,
        help=f"Starts at the rarer value ({md_escape(str(rarer))}): anomalies are rare. If your unusual rows are marked by "
        "the other value (in scikit-learn's breast cancer table, 1 is benign), pick it here.",
    )
    state.keep(KNOWN_VALUE_KEY, picked, token=(*run, column))
    return picked


def compare(trained: list[TrainedModel], request: TrainingRequest) -> None:
    """How alike the run's detectors rank the validation rows (rank correlation of every pair)."""
    if len(trained) < 2:
        st.caption("Train two or more detectors to see how alike they rank the rows.")
        return
    table = state.memo(
        "results_anomaly_agreement", id(state.job()), lambda: anomaly_results.agreement_table(trained, request)
    )
    charts_view.show(charts.agreement_figure(table), key="results_anomaly_agreement")
    st.caption(
        md_escape(
            f"{anomaly.NO_LABELS} Where they agree, a row is unusual whichever way it is looked at; where they do not, "
            "each finds another kind of unusual row."
        )
    )
