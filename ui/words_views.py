"""The Explain page's Words section: the words that pushed predictions, overall and for one validation row.

Computed by :mod:`core.explain.words` (each word left out in turn, through the whole pipeline).
The overall view runs in this process when its timed estimate is under
:data:`core.explain.words.IN_PROCESS_SECONDS`, else as a :class:`~core.explain.words.WordsJob`
on the cluster with a progress bar; results are kept per session (``state.memo``, ``state.words_job``).
A row's text is shown with :func:`core.explain.words.marked_text` (every character of it escaped).
"""

from __future__ import annotations

import time

import streamlit as st

from core import charts
from core import events as ev
from core.explain import format_time_left
from core.explain import words as cw
from core.limits import MAX_OPTIONS
from core.schema import Role
from core.target import Task
from core.training import TrainedModel, TrainingRequest
from ui import charts_view, job_views, state
from ui.explain_views import _on_cluster  # the model already on a worker, shared with the SHAP explanation
from ui.text import md_escape

EACH_ROW = "each row's predicted class"


def text_columns(request: TrainingRequest) -> list[str]:
    """The model's features whose role (after cleaning) is text."""
    roles = request.plan.roles_after(request.roles)
    return [c for c in request.features if roles.get(c) == Role.TEXT]


def section(model: TrainedModel, request: TrainingRequest) -> None:
    """The Words section, when the model reads a text column: overall words, then one row's words."""
    columns = text_columns(request)
    if not columns:
        return
    st.subheader("Words", anchor=False)
    st.caption(
        "Each word of a text is left out in turn and the model asked again: a word's push is how much the "
        "prediction changes without it (orange up, purple down). Words that stand in for each other look "
        "weak one at a time."
    )
    if not st.toggle("Show the words that pushed the predictions", key="explain_words_on"):
        return
    column = st.selectbox("Text column", columns, key="explain_words_column") if len(columns) > 1 else columns[0]
    class_index = _class_choice(model)
    X_valid, _ = request.xy(request.split.valid)
    options = dict(seed=request.seed, class_index=class_index, positive=request.positive)
    token = (id(state.job()), model.name, column, class_index)
    overall = _overall(model, X_valid, column, options, token)
    if overall is not None:
        _show_overall(overall)
    _one_row(model, X_valid, column, options, token, overall)


def _class_choice(model: TrainedModel) -> int | None:
    """Multiclass: the class whose probability is explained (None: each row's predicted class)."""
    classes = list(getattr(model.pipeline, "classes_", []))
    if model.task != Task.MULTICLASS or not classes:
        return None
    return st.selectbox(
        "Push toward",
        [None, *range(len(classes))],
        format_func=lambda i: EACH_ROW if i is None else str(classes[i]),
        key="explain_words_class",
    )


def _overall(model: TrainedModel, X_valid, column: str, options: dict, token: tuple) -> cw.OverallWords | None:
    """The overall words: in this process when quick, else on the cluster (progress shown); None while running."""
    rows = min(cw.DEFAULT_ROWS, len(X_valid))
    seconds = state.memo("explain_words_time", token, lambda: cw.estimate_seconds(model, X_valid, column, rows))
    if seconds <= cw.IN_PROCESS_SECONDS:
        with st.spinner(f"Leaving each word out in turn on {rows:,} validation rows…"):
            return state.memo(
                "explain_words_overall", token, lambda: cw.overall_words(model, X_valid, column, rows=rows, **options)
            )
    job = state.words_job(token)
    if job is None:
        job = cw.WordsJob(model, X_valid, column, on_cluster=_on_cluster(model), rows=rows, **options).start()
        state.set_words_job(token, job)
    return _progress(job)


def _progress(job: cw.WordsJob) -> cw.OverallWords | None:
    """A progress bar (rows done, time left) and Cancel while the job runs; its result once there is one."""

    def draw(now) -> None:
        if now.status == "running":
            chunks = [e for e in now.events if isinstance(e, ev.RowsExplained)]
            last = chunks[-1] if chunks else None
            if last is None or not last.rows:
                st.progress(0.0, "Setting up on the cluster…")
            else:
                left = None if last.seconds_left is None else max(0.0, last.seconds_left - (time.time() - last.at))
                words = f"Leaving words out… {last.rows:,} of {last.rows_total:,} rows · {format_time_left(left)}"
                st.progress(last.rows / max(1, last.rows_total), words)
            job_views.stop_button(job, "Cancel", "explain_words_cancel", "Stop and keep the rows done.")
        if now.error:
            st.error(md_escape(now.error))

    job_views.follow(job, 0.5, draw)
    snap = job.snapshot()
    return snap.results[0] if snap.results else None


def _show_overall(overall: cw.OverallWords) -> None:
    if overall.partial:
        st.warning(
            f"Stopped after {overall.rows:,} of {overall.rows_requested:,} rows; the chart uses these rows.",
            icon=":material/pause_circle:",
        )
    if overall.words.empty:
        st.info("Leaving words out changed no prediction of these rows: the model does not read this column's words.")
        return
    charts_view.show(
        charts.words_bar(overall.words, overall.column, overall.output_name, rows=overall.rows),
        key="explain_words_overall",
        width="stretch",
    )
    note = (
        f"On {overall.rows:,} validation rows in {overall.seconds:,.1f} s; each bar is a word's average push on the "
        f"{overall.output_name} in the rows that contain it."
    )
    if overall.truncated_rows:
        note += f" {overall.truncated_rows:,} long texts had only their first {cw.MAX_WORDS} distinct words left out."
    st.caption(md_escape(note))


def _one_row(model: TrainedModel, X_valid, column: str, options: dict, token: tuple, overall) -> None:
    """A validation row picked by its text, with its words marked and charted."""
    n = min(len(X_valid), MAX_OPTIONS)
    texts = X_valid[column].astype(object).where(X_valid[column].notna(), "").astype(str)
    position = st.selectbox(
        "Row (validation split)",
        range(n),
        format_func=lambda i: f"row {X_valid.index[i]}: {_snippet(texts.iloc[i])}",
        key="explain_words_row",
        help=f"The first {n:,} validation rows." if n < len(X_valid) else None,
    )
    label = X_valid.index[position]
    done = {r.row: r for r in overall.per_row} if overall is not None else {}
    row = done.get(label)
    if row is None:
        options = {k: v for k, v in options.items() if k != "seed"}
        row = state.memo(
            "explain_words_row",
            (token, label),
            lambda: cw.row_words(model, X_valid.iloc[[position]], column, **options),
        )
    toward = f" ({row.predicted_class})" if row.predicted_class is not None else ""
    st.caption(
        md_escape(
            f"The {row.output_name}{toward}: {row.output:.3f} with this text, {row.without_text:.3f} with no text "
            f"in {column}."
        )
    )
    st.markdown(cw.marked_text(row))
    if row.words.empty:
        st.info("This row's text has no words.")
        return
    charts_view.show(charts.row_words_bar(row.words, row.output_name), key="explain_words_row_chart", width="stretch")
    if row.truncated:
        st.caption(f"Only the first {cw.MAX_WORDS} distinct words of this long text were left out.")


def _snippet(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
