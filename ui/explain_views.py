"""Views of the Explain page: budget and run, then importance, beeswarm,
dependence, one row, what-if — each with a plain-language summary."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, engine
from core import events as ev
from core import explain as ce
from core.errors import DashboardError
from core.limits import MAX_OPTIONS
from core.numbers import format_number
from core.schema import Role
from core.training import TrainedModel, TrainingRequest
from ui import charts_view, job_views, pickers, state, time_views
from ui.text import md_escape, md_label


def budget_and_run(model: TrainedModel, request: TrainingRequest, prefix: str = "explain") -> None:
    """Show what the explanation will cost (timed on this model), then start it as a job.

    The rows offered by default are those the timed estimate fits in the budget.
    """
    X_valid, _ = request.xy(request.split.valid)
    X_train, y_train = request.xy(request.split.train)
    most = max(1, len(X_valid))

    def timed() -> ce.Estimate:
        with st.spinner("Timing the explanation on a few rows…"):
            start = engine.job_seconds()  # the explanation runs as a task on the cluster (timed before warming it)
            ce.warm_workers(model)  # the workers import shap while this process times it
            _on_cluster(model)  # and the model goes to one of them (the job then finds it there)
            return ce.estimate(
                model,
                min(ce.DEFAULT_ROWS, most),
                background_frame=X_train,
                rows_frame=X_valid,
                seed=request.seed,
                background_y=y_train,
                positive=request.positive,
                start=start,
            )

    first = state.memo("explain_estimate", (id(state.job()), model.name), timed)
    rows = st.slider(
        "Rows to explain (from the validation split)",
        1,
        most,
        min(first.rows_in_budget, most),
        key="explain_rows",
        help=f"The default is what fits in about {ce.BUDGET_SECONDS:g} s, timed on this model.",
    )
    est = ce.estimate(model, rows, timing=first.timing)
    approximate = None
    if est.approximate_available:
        approximate = st.toggle(
            "Approximate TreeSHAP (much faster on deep forests)", value=est.approximate, key="explain_approx"
        )
        est = ce.estimate(model, rows, approximate, timing=first.timing)
    st.caption(
        md_escape(
            f"Method: {est.method} · {est.rows:,} rows · about {ce.format_duration(est.seconds_estimate)}. "
            f"{est.note or ''}"
        )
    )
    if st.button("Explain this model", type="primary", key=f"{prefix}_start", icon=":material/lightbulb:"):
        start_job(model, request, rows, est, approximate)


def start_job(model: TrainedModel, request: TrainingRequest, rows: int, est, approximate: bool | None) -> None:
    """Start explaining ``rows`` validation rows of ``model`` on the cluster, kept as the model's job.

    The Explain page's button and the one-click demo start their explanations here, so both are set up alike.
    """
    X_valid, _ = request.xy(request.split.valid)
    X_train, y_train = request.xy(request.split.train)
    job = ce.ExplainJob(
        model,
        X_valid,
        X_train,
        on_cluster=_on_cluster(model),
        approximate=approximate,
        max_rows=rows,
        estimate=est,
        **_shared(request, y_train),
    )
    state.set_explain_job(model.name, job.start())


def _on_cluster(model: TrainedModel):
    """The model on a worker, for the explanation's task: where its run still holds it (the chosen model),
    else sent there once per session and model (:func:`core.engine.place`), not at every click."""
    job = state.job()
    held = job.on_cluster(model.name) if hasattr(job, "on_cluster") else None
    if held is not None:
        return held
    return state.memo(
        "explain_model", (id(job), model.name), lambda: engine.place(model), lambda f: f.status == "finished"
    )


def _shared(request: TrainingRequest, y_train) -> dict:
    """Settings the main explanation and the what-if view share, so one row is explained alike in both."""
    return dict(seed=request.seed, target=request.target, background_y=y_train, positive=request.positive)


def progress(job) -> bool:
    """Progress (rows done, time left) and a cancel button while the job runs; True when a result exists."""

    def draw(now) -> None:
        if now.status == "running":
            st.progress(*_progress_bar(now.events))
            job_views.stop_button(job, "Cancel", "explain_cancel", "Stop and keep the rows explained so far.")
        if now.error:
            st.error(md_escape(now.error))

    job_views.follow(job, 0.5, draw)
    return bool(job.snapshot().results)


def _progress_bar(events: list) -> tuple[float, str]:
    """The bar's share done and its words: rows done of all, and the time left counted down since the last chunk."""
    chunks = [e for e in events if isinstance(e, ev.RowsExplained)]
    if not chunks:
        return 0.0, "Setting up the explanation…"
    last = chunks[-1]
    left = last.seconds_left
    if left is not None:
        left = max(0.0, left - (time.time() - last.at))
    done = last.rows / max(1, last.rows_total)
    return done, f"Explaining… {last.rows:,} of {last.rows_total:,} rows · {ce.format_time_left(left)}"


VIEWS = ["Importance", "Beeswarm", "Dependence", "One row", "What-if"]
ALL_CLASSES = "All classes (each row: its predicted class)"


def show(expl: ce.Explanation, model: TrainedModel, request: TrainingRequest) -> None:
    """The explanation's views, in the person's columns."""
    if expl.partial:
        more = " The charts below use these rows." if expl.rows else ""
        st.warning(ce.cancelled_note(expl) + more, icon=":material/pause_circle:")
        if not expl.rows:
            return
    st.caption(md_escape(ce.describe_method(expl)))
    with st.expander("Technical details of the method", icon=":material/science:"):
        st.caption(
            md_escape(
                f"{expl.method} on {expl.rows:,} rows in {expl.seconds:,.1f} s; contributions to the {expl.output_name}."
                + (f" {expl.note}" if expl.note else "")
            )
        )
    if expl.all_classes:
        classes = list(expl.classes)
        index = st.selectbox(
            "Explain the class",
            [None, *range(len(classes))],
            format_func=lambda i: ALL_CLASSES if i is None else str(classes[i]),
            key="explain_class",
            help="All classes: importance is averaged over every class, and each row is explained for the class "
            "the model predicted for it. Pick a class to see everything from its side.",
        )
    else:
        index = None
    # The charts of this explanation (and class) are built once per session and drawn again on reruns.
    drawn = Drawn(owners=(expl, model), token=(model.name, index))
    if index is not None:
        expl = expl.for_class(index)
    view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="explain_view")
    if view == "Importance":
        _importance(expl, model, request, drawn)
    elif view == "Beeswarm":
        charts_view.show_built(
            lambda: charts.beeswarm(expl, categorical=_categorical(request)),
            "explain_beeswarm",
            token=drawn.token,
            owners=drawn.owners,
            width="stretch",
        )
        st.markdown(drawn.text("importance", lambda: ce.summarize_importance(expl)))
    elif view == "Dependence":
        _dependence(expl, request, drawn)
    elif view == "One row":
        _one_row(expl, model, drawn)
    elif view == "What-if":
        _what_if(expl, model, request)


@dataclass(frozen=True)
class Drawn:
    """What an explanation's charts are built from (``owners``) and the choices they depend on (``token``).

    A figure or text is kept in the session's run memo (:func:`ui.state.run_memo`): a new explanation
    or model (new objects) builds it again, even under the same model name.
    """

    owners: tuple
    token: tuple

    def text(self, what: str, compute: Callable[[], str], *choices: Hashable) -> str:
        return state.run_memo("explain_text", (what, *self.token, *choices), compute, self.owners)


def _categorical(request: TrainingRequest) -> set[str]:
    """Columns whose values are categories or text after cleaning (no low-to-high colour for them)."""
    roles = request.plan.roles_after(request.roles)
    return {c for c, role in roles.items() if role in (Role.CATEGORICAL, Role.TEXT)}


def _importance(expl: ce.Explanation, model: TrainedModel, request: TrainingRequest, drawn: Drawn) -> None:
    charts_view.show_built(
        lambda: charts.importance_bar(expl),
        "explain_importance",
        token=drawn.token,
        owners=drawn.owners,
        width="stretch",
    )
    st.markdown(drawn.text("importance", lambda: ce.summarize_importance(expl)))
    time_views.explain_view(expl.raw_names, expl.raw_for_class(), model.pipeline)  # lags etc., when the model has them
    if request.target is None:  # an anomaly detector: its score is explained, and there is no answer to score
        st.caption(
            "This is how much each column moves the anomaly score. Permutation importance, the usual cross-check, "
            "measures how much a score against the right answers drops, and anomaly detection has no right answers."
        )
    elif st.toggle(
        "Cross-check with permutation importance",
        key="explain_perm_on",
        help="Shuffles each column on validation rows and measures how much the score drops. Model-agnostic; takes a few seconds.",
    ):
        X, y = request.xy(request.split.valid)
        frame = state.memo(
            "explain_perm",
            (id(state.job()), model.name),
            lambda: ce.permutation_importance_frame(
                model, X, y, request.task, seed=request.seed, metric_key=request.metric
            ),
        )
        charts_view.show_built(
            lambda: charts.permutation_bar(frame), "explain_perm", token=(model.name,), owners=(frame,), width="stretch"
        )
    text_columns = [c for c in expl.columns if request.roles.get(c) == Role.TEXT]
    if text_columns and st.toggle("Show the words that matter in text columns", key="explain_tokens_on"):
        column = st.selectbox("Text column", text_columns, key="explain_token_column")
        tokens = ce.top_tokens(expl, column)
        if tokens.empty:
            st.info("This method explains the text column as a whole, not word by word.")
        else:
            charts_view.show(charts.token_bar(tokens, column, expl.output_name), key="explain_tokens")


def _dependence(expl: ce.Explanation, request: TrainingRequest, drawn: Drawn) -> None:
    ranked = state.run_memo(  # most important first
        "explain_ranked", drawn.token, lambda: list(ce.importance_frame(expl)["column"]), drawn.owners
    )
    column = st.selectbox("Column", pickers.bounded(ranked, key="explain_dep_column"), key="explain_dep_column")
    partner = ce.strongest_interaction(expl, column)
    others = [c for c in ranked if c != column]
    if len(others) >= MAX_OPTIONS:  # the most important columns, and the strongest partner
        others = list(dict.fromkeys([*others[: MAX_OPTIONS - 2], *([partner] if partner else [])]))
    options = [None, *others]
    color = st.selectbox(
        "Colour by",
        options,
        index=options.index(partner) if partner in options else 0,
        format_func=lambda c: "none" if c is None else c,
        key=f"explain_dep_color_{column}",
    )
    charts_view.show_built(
        lambda: charts.dependence(expl, column, color_by=color, categorical=_categorical(request)),
        "explain_dependence",
        token=(*drawn.token, column, color),
        owners=drawn.owners,
        width="stretch",
    )
    st.markdown(drawn.text("dependence", lambda: ce.summarize_dependence(expl, column), column))


def _row_choices(expl: ce.Explanation, model: TrainedModel) -> pd.DataFrame:
    """A table of explained rows with their prediction, to pick one from."""
    preds = expl.predictions
    table = pd.DataFrame({"row": expl.data.index, "model output": np.round(preds, 4)})
    if expl.all_classes and expl.predicted_index is not None:
        table["predicted class"] = [str(expl.classes[k]) for k in expl.predicted_index]
    elif model.task.is_classification:
        table["how sure"] = np.round(np.abs(preds - (0.5 if expl.output == "probability" else 0.0)), 4)
    return table


def _one_row(expl: ce.Explanation, model: TrainedModel, drawn: Drawn) -> None:
    table = _row_choices(expl, model)
    order = st.radio(
        "Pick from", ["highest output", "lowest output", "by row number"], horizontal=True, key="explain_row_order"
    )
    if order == "by row number":
        number = st.number_input(
            "Row number (as in the data file, from 0)",
            int(table["row"].min()),
            int(table["row"].max()),
            int(table["row"].iloc[0]),
            key="explain_row_number",
        )
        matches = np.flatnonzero(table["row"].to_numpy() == number)
        if not len(matches):
            st.info("That row is not among the explained rows; pick another or explain more rows.")
            return
        position = int(matches[0])
    else:
        ordered = table.sort_values("model output", ascending=order == "lowest output").head(50)
        pick = st.dataframe(
            ordered,
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key="explain_row_table",
            height=220,
        )
        chosen = pick.selection.rows if pick and pick.selection else []
        position = int(ordered.index[chosen[0]]) if chosen else int(ordered.index[0])
    charts_view.show_built(
        lambda: charts.waterfall(expl, position),
        "explain_waterfall",
        token=(*drawn.token, position),
        owners=drawn.owners,
    )
    st.markdown(drawn.text("row", lambda: ce.summarize_row(expl, position), position))


def _what_if(expl: ce.Explanation, model: TrainedModel, request: TrainingRequest) -> None:
    """Edit one row's values and see the prediction and its waterfall change.

    The row starts exactly as it is (missing values stay missing) and is explained
    with the main explanation's background and settings, so before any edit it shows
    the same prediction, base value and contributions as the "One row" view.
    """
    base = expl.data.iloc[[0]]
    st.caption(
        "Change any value and press Update. Ranges come from the training rows. "
        "An empty box is a missing value: the model fills it in as it did in training."
    )
    X_train, y_train = request.xy(request.split.train)
    with st.form("explain_whatif"):
        edited = {}
        cols = st.columns(3)
        for i, column in enumerate(expl.columns):
            with cols[i % 3]:
                edited[column] = _value_input(column, base[column].iloc[0], X_train[column])
        submitted = st.form_submit_button("Update", icon=":material/refresh:")
    row = ce.edit_row(base, edited)
    explainer = state.memo(
        "explain_whatif",
        (id(state.job()), model.name, expl.approximate),
        lambda: ce.what_if_explainer(model, X_train, approximate=expl.approximate, **_shared(request, y_train)),
    )
    try:
        answer = ce.explain_row(model, row, X_train, explainer=explainer)
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        return
    one_row = answer.explanation
    if expl.class_index is not None and one_row.class_index != expl.class_index:
        one_row = one_row.for_class(expl.class_index)  # the class chosen above (else: the predicted one)
    if answer.probabilities:
        shares = md_escape(" · ".join(f"{k}: {v:.1%}" for k, v in answer.probabilities.items()))
        st.metric("Prediction", md_escape(answer.prediction), help="Probabilities: " + shares)
        st.caption(shares)
    else:
        name = "Anomaly score" if one_row.output == "anomaly score" else "Prediction"
        st.metric(name, format_number(float(answer.prediction)))
    charts_view.show(charts.waterfall(one_row, 0), key=f"explain_whatif_waterfall_{int(submitted)}", width="stretch")
    st.markdown(ce.summarize_row(one_row, 0))


MISSING_HELP = "Leave it empty for a missing value: the model fills it in as it did in training."


def _value_input(column: str, value, training: pd.Series):
    """One what-if field, starting at the row's value; None when the person leaves it empty (missing)."""
    key = f"explain_whatif_{column}"
    label = md_label(column)
    missing = ce.is_missing(value)
    if pd.api.types.is_numeric_dtype(training.dtype) and not pd.api.types.is_bool_dtype(training.dtype):
        low, high = float(np.nanmin(training)), float(np.nanmax(training))
        return st.number_input(
            label,
            value=None if missing else float(value),
            key=key,
            placeholder="missing",
            help=md_escape(f"Training range {low:,.4g} to {high:,.4g}.") + " " + MISSING_HELP,
            format="%.6g",
        )
    if pd.api.types.is_datetime64_any_dtype(training.dtype):
        start = None if missing else pd.Timestamp(value)
        dates = training.dropna()
        known = ([dates.min(), dates.max()] if len(dates) else []) + ([start] if start is not None else [])
        picked = st.date_input(
            label,
            value=None if start is None else start.date(),
            min_value=(min(known) - pd.DateOffset(years=10)).date() if known else None,
            max_value=(max(known) + pd.DateOffset(years=10)).date() if known else None,
            key=key,
            help=MISSING_HELP,
        )
        if picked is None:
            return None
        if start is not None and picked == start.date():
            return start  # the same day: keep the time of day the row had
        return pd.Timestamp(picked)
    present = training.dropna()
    labels = present.astype(str)
    options = [str(v) for v in labels.value_counts().index[:200]]
    originals = dict(zip(labels, present, strict=True))  # "True" → True: the value the model saw in training
    current = None if missing else str(value)
    if len(options) <= 50 and (current is None or current in options):
        picked = st.selectbox(
            label,
            options,
            index=None if current is None else options.index(current),
            placeholder="missing",
            key=key,
            help=MISSING_HELP,
        )
        return None if picked is None else originals.get(picked, picked)
    text = st.text_input(label, value=current, key=key, placeholder="missing", help=MISSING_HELP)
    return text or None
