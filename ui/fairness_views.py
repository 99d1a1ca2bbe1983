"""The Results page's "Fairness across groups": pick a column, see each group's scores, the gaps and what to do."""

from __future__ import annotations

import streamlit as st

from core.charts.fairness import fairness_figure
from core.errors import DashboardError
from core.fairness import NOT_APPLICABLE, FairnessReport, fairness_report
from core.guards.thresholds import THRESHOLDS
from core.training import TrainedModel, TrainingRequest
from ui import charts_view, guard_views, results_views, state
from ui.pickers import bounded
from ui.text import md_escape

COLUMN_KEY = "results_fairness_column"
SPLIT_KEY = "results_fairness_split"
#: The split picker's options and the part of the rows each scores.
PARTS = {"Validation rows": "valid", "Test rows": "test"}


def section(model: TrainedModel, request: TrainingRequest) -> None:
    """Pick a column of the loaded table (any but the target); compare the model's scores between its groups."""
    if not model.task.has_target:
        st.caption(md_escape(NOT_APPLICABLE[model.task]))
        return
    dataset = state.dataset()
    if dataset is None:
        return
    st.caption(
        "Does the model do as well for every group of rows? Pick a column, even one the model does not use "
        "(such as sex, age or region): its values split the rows into groups, each scored on its own."
    )
    features = set(request.features)
    columns = [c for c in dataset.frame.columns if c != request.target]
    run = id(state.job())
    options = bounded(columns, key=COLUMN_KEY)
    chosen = state.kept(COLUMN_KEY, None, token=run, allowed=options)
    column = st.selectbox(
        "Compare groups of",
        options,
        index=options.index(chosen) if chosen in options else None,
        format_func=lambda c: c if c in features else f"{c} (not a feature)",
        placeholder="Choose a column",
        key=COLUMN_KEY,
        help="Numbers and dates with many values are cut into a few bins of about equal rows.",
    )
    state.keep(COLUMN_KEY, column, token=run)
    part = _part(model)
    if column is None:
        return
    report = state.fairness_report(model.name, column)
    if report is None or report.split != ("validation" if part == "valid" else "test"):
        report = _compute(model, request, dataset.frame, column, part)
        if report is None:
            return
        state.set_fairness_report(model.name, column, report)
    show(report)


def _part(model: TrainedModel) -> str:
    """The rows to compare on: validation, or the test rows once this model was scored on them."""
    if state.test_scores(model.name) is None:
        st.caption(
            "On the validation rows. The test rows stay unseen until you score this model on them "
            "(Final evaluation, below); then you can compare groups there too."
        )
        return "valid"
    picked = st.segmented_control(
        "Rows",
        list(PARTS),
        default=state.kept(SPLIT_KEY, "Validation rows", allowed=list(PARTS)),
        key=SPLIT_KEY,
        help="The test split was scored for this model: its groups can be compared too (report, do not choose).",
    )
    state.keep(SPLIT_KEY, picked or "Validation rows")
    return PARTS.get(picked or "", "valid")


def _compute(model: TrainedModel, request: TrainingRequest, source, column: str, part: str) -> FairnessReport | None:
    pred = None
    if part == "valid":  # the page's own validation predictions, made once per model
        pred = results_views.valid_predictions(model, request)
    try:
        with st.spinner("Scoring the model within each group…"):
            return fairness_report(
                model,
                request,
                source,
                column,
                part=part,
                test_scored=state.test_scores(model.name) is not None,
                pred=pred,
            )
    except DashboardError as err:
        st.error(md_escape(err.user_message), icon=":material/error:")
        return None


def show(report: FairnessReport) -> None:
    """The table (scores as every page shows them), the chart, the findings with their fix, and the notes."""
    st.dataframe(  # the note says why a group is not judged: wide enough to read
        report.formatted(), hide_index=True, column_config={"Note": st.column_config.TextColumn("Note", width="large")}
    )
    charts_view.show_built(  # built once per report (a new model, column or split is a new report)
        lambda: fairness_figure(
            report.table, report.charted(), report.overall, column=report.column, split=report.split
        ),
        "results_fairness_chart",
        token=(report.column, report.split),
        owners=(report,),
    )
    if report.findings:
        guard_views.findings_list(report.findings, key="results_fairness_guard")
    elif len(report.gaps):
        rule = (
            f"no group's MAE is {THRESHOLDS.group_error_ratio:g} times another's"
            if report.main == "mae"
            else f"no score is {THRESHOLDS.group_score_gap:.2f} apart between groups beyond what chance makes"
        )
        st.success(
            md_escape(f"No gap between the groups of '{report.column}' passes the thresholds: {rule}."),
            icon=":material/balance:",
        )
    for note in report.notes:
        st.caption(md_escape(note))
