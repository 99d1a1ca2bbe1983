"""Views of the Predict page: pick a model, one row by form, a whole file, export, code, serve."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from core import anomaly, charts, serving
from core import explain as ce
from core.errors import DashboardError
from core.export import BundleError, bundle_name, export_bundle, file_stem, load_bundle
from core.loading import load_file
from core.metrics import format_score, metric_label
from core.model_card import card_markdown, with_fairness, with_portable, with_test_scores
from core.numbers import format_number
from core.predict import PREDICTION, check_batch, predict_frame, scored_frame, to_safe_csv
from core.target import Task
from core.usable import ColumnSchema, UsableModel
from ui import charts_view, portable_views, state, stream_views
from ui.experiments_views import serve_commands, tracked_run
from ui.text import md_code, md_escape, md_label

MISSING = "(missing)"
PREVIEW_ROWS = 200


# --------------------------------------------------------------------------- choosing a model


def bundle_uploader() -> None:
    """Restore a model from a bundle exported earlier (never a pickle)."""
    upload = st.file_uploader(
        "Load a model bundle (.zip exported from this app)",
        type=["zip"],
        key="predict_bundle",
        help="Bundles are read safely: only known model types are rebuilt; pickle and joblib files are refused.",
    )
    if upload is None or (state.bundle_upload() or (None,))[0] == upload.file_id:
        return
    try:
        with st.spinner("Checking and loading the bundle…"):
            usable = load_bundle(upload.getvalue(), file_name=upload.name)
    except BundleError as err:
        state.set_bundle_upload(upload.file_id, err.user_message)
        return
    state.set_bundle_upload(upload.file_id, None)
    state.add_loaded_model(usable)
    label = f"{usable.name} ({usable.origin})"
    st.session_state["predict_model"] = label  # the picker (drawn after this) shows the restored model
    state.keep("predict_model", label)


def bundle_error() -> None:
    """Why the last bundle upload was refused, if it was."""
    message = (state.bundle_upload() or (None, None))[1]
    if message:
        st.error(md_escape(message), icon=":material/gpp_bad:")


def default_label(models: dict[str, UsableModel]) -> str:
    """The best model of the current run on validation, else the last one restored."""
    from core.training import best_model

    current = state.job()
    best = (
        best_model(state.trained_models(), current.request.task, current.request.metric)
        if current is not None
        else None
    )
    label = f"{best.name} (trained now)" if best is not None else None
    return label if label in models else list(models)[-1]


def model_picker(models: dict[str, UsableModel]) -> str:
    """The model select box; it starts on the last choice, a just-restored bundle, or the best model.

    Its value is set through session state only (never also ``index=``), which is how
    :func:`bundle_uploader` can switch it to a restored model.
    """
    labels = list(models)
    if st.session_state.get("predict_model") not in labels:  # first visit, back from another page, or models changed
        st.session_state["predict_model"] = state.kept("predict_model", default_label(models), allowed=labels)
    label = st.selectbox("Model", labels, key="predict_model", help="The best model on validation is selected first.")
    state.keep("predict_model", label)
    return label


#: What a model without a target does with a row, in words.
_UNSUPERVISED = {Task.CLUSTERING: "assigns rows to clusters", Task.ANOMALY: "scores how unusual each row is"}


def describe(usable: UsableModel) -> None:
    """One line on what the model predicts and how good it was."""
    card = usable.card or {}
    what = f"predicts {md_code(usable.target)}" if usable.target else _UNSUPERVISED.get(usable.task, "")
    metrics = (card.get("metrics") or {}).get("validation") or {}
    shown = ", ".join(
        f"{md_escape(metric_label(k))} {md_escape(format_score(k, v))}"
        for k, v in list(metrics.items())[:3]
        if isinstance(v, float)
    )
    dataset = (card.get("dataset") or {}).get("name")
    parts = [f"**{md_escape(usable.name)}** {what} ({usable.task.value})"]
    if dataset:
        parts.append(f"trained on {md_escape(dataset)}")
    if shown:
        parts.append(f"validation {shown}")
    st.markdown(" · ".join(parts))


# --------------------------------------------------------------------------- one row


def row_form(usable: UsableModel, label: str) -> pd.DataFrame | None:
    """A form generated from the training schema; the row once submitted."""
    schema = usable.schema
    token = hashlib.sha1(label.encode()).hexdigest()[:8]
    st.caption(
        "Defaults are typical training values (the median, the most frequent category). Ranges come from the training split."
    )
    with st.form(f"predict_form_{token}"):
        values = {}
        cols = st.columns(3)
        for i, column in enumerate(schema.columns):
            with cols[i % 3]:
                values[column.name] = _input(column, f"predict_{token}_{i}")
        submitted = st.form_submit_button("Predict", type="primary", icon=":material/play_arrow:")
    if submitted:
        state.set_form_row(label, values)
    held = state.form_row(label)
    return None if held is None else pd.DataFrame([held], columns=schema.names)


def _input(column: ColumnSchema, key: str):
    name = md_label(column.name)  # widget labels render Markdown (links, images): show the name literally
    if column.kind == "number":
        low, high = column.minimum, column.maximum
        span = f"Training range {format_number(low)} to {format_number(high)}." if low is not None else ""
        start = column.median if column.median is not None else None
        if column.integer and start is not None:
            start = float(round(start))
        value = st.number_input(
            name, value=start, key=key, help=f"{span} Leave empty for a missing value.", format="%.6g", step=None
        )
        return np.nan if value is None else float(value)
    if column.kind == "date":
        start = dt.date.fromisoformat(column.latest) if column.latest else None
        picked = st.date_input(
            name,
            value=start,
            key=key,
            help=f"Training dates {column.earliest} to {column.latest}.",
            format="YYYY-MM-DD",
        )
        if picked is None:
            return None
        return pd.Timestamp(picked) if "datetime" in column.dtype else picked.isoformat()
    if column.kind == "category" and column.categories:
        options = [*column.categories, MISSING]
        choice = st.selectbox(name, options, index=0, key=key, accept_new_options=not column.complete)
        return None if choice in (MISSING, None) else choice  # check_batch gives it the training type
    text = st.text_area(name, value="", key=key, height=80) if column.kind == "text" else st.text_input(name, key=key)
    return text if text else (None if column.kind != "text" else "")


def show_row_answer(usable: UsableModel, row: pd.DataFrame, label: str) -> None:
    """Prediction, probabilities, and the row's waterfall."""
    try:
        aligned, _ = check_batch(row, usable.schema)
        out = predict_frame(usable, aligned)
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        return
    if usable.task == Task.ANOMALY:
        _anomaly_answer(usable, out)
        _why(usable, aligned, label)
        return
    prediction = out[PREDICTION].iloc[0]
    probabilities = {c.removeprefix("probability of "): float(out[c].iloc[0]) for c in out.columns[1:]}
    left, right = st.columns([1, 2])
    with left:
        shown = format_number(float(prediction)) if usable.task == Task.REGRESSION else md_escape(prediction)
        st.metric(f"Predicted {md_escape(usable.target or 'cluster')}", shown)
    with right:
        if probabilities:
            charts_view.show(charts.probability_bars(probabilities), key="predict_probabilities")
    _why(usable, aligned, label)


def _anomaly_answer(usable: UsableModel, out: pd.DataFrame) -> None:
    """An anomaly detector's answer: the row's score and whether it is above the model's threshold."""
    at = anomaly.threshold(usable.pipeline)
    score, flagged = float(out[anomaly.SCORE_COLUMN].iloc[0]), out[anomaly.FLAG_COLUMN].iloc[0] == anomaly.FLAGGED
    left, right = st.columns(2)
    left.metric("Anomaly score", format_number(score), help="Higher is more unusual.")
    right.metric("Unusual", "yes" if flagged else "no", help=f"Yes above the model's threshold, {format_number(at)}.")
    st.caption(
        f"The model flags rows scoring above {format_number(at)}: about the expected share of unusual rows it was "
        "trained with scored above it among the training rows."
    )


def _why(usable: UsableModel, aligned: pd.DataFrame, label: str) -> None:
    """The row's waterfall: each column's push on the prediction (or anomaly score) and a sentence."""
    if usable.background is None or usable.task == Task.CLUSTERING:
        if usable.task != Task.CLUSTERING:
            st.caption("This bundle carries no training rows, so the prediction cannot be explained here.")
        return
    try:
        explainer = state.memo(
            "predict_explainer",
            (label, id(usable.pipeline)),
            lambda: ce.what_if_explainer(usable, usable.background, target=usable.target, positive=usable.positive),
        )
        answer = ce.explain_row(usable, aligned, usable.background, explainer=explainer)
    except DashboardError as err:
        st.warning(f"The prediction could not be explained: {md_escape(err.user_message)}")
        return
    explanation = answer.explanation  # a multiclass row is shown for the class the model predicted
    what = "anomaly score" if explanation.output == "anomaly score" else "prediction"
    st.markdown(f"**Why:** each bar is how much one of your columns moved this {what} away from the average one.")
    charts_view.show(charts.waterfall(explanation, 0, label="This row"), key="predict_waterfall")
    st.markdown(ce.summarize_row(explanation, 0))


# --------------------------------------------------------------------------- a whole file


def batch(usable: UsableModel, label: str) -> None:
    """Upload a file, check it against the schema, predict, preview, download."""
    upload = st.file_uploader(
        "A CSV, TSV or Excel file with the same columns as the training data",
        type=["csv", "tsv", "txt", "xlsx"],
        key="predict_batch_file",
    )
    if stream_views.whole_file(usable, label, upload) or upload is None:  # big files are scored in chunks
        return
    held = state.predicted_batch()
    if held is None or held[0] != (label, upload.file_id):
        try:
            with st.spinner(f"Reading {md_escape(upload.name)} and predicting…"):
                data = load_file(upload.getvalue(), upload.name)
                aligned, report = check_batch(data.frame, usable.schema)
                scored = scored_frame(data.frame, predict_frame(usable, aligned))
                added = list(scored.columns[data.frame.shape[1] :])  # the model's columns, after the person's
        except DashboardError as err:
            st.error(md_escape(err.user_message), icon=":material/error:")
            return
        held = ((label, upload.file_id), upload.name, scored, report, added)
        state.set_predicted_batch(held)
    _, name, scored, report, added = held
    if report.ok and not report.extra_columns:
        st.success(f"All {report.rows:,} rows match the model's inputs.", icon=":material/check_circle:")
    for line in report.problems():
        st.warning(md_escape(line), icon=":material/warning:")
    st.markdown(
        f"**{len(scored):,} rows scored.** The predictions come first here; the download adds them after your columns."
    )
    preview = scored.head(PREVIEW_ROWS)
    st.dataframe(preview[added + [c for c in preview.columns if c not in added]], key="predict_batch_preview")
    if len(scored) > PREVIEW_ROWS:
        st.caption(f"Showing the first {PREVIEW_ROWS} rows; the download has all of them.")
    stem = name.rsplit(".", 1)[0] or "predictions"
    st.download_button(
        "Download the scored file (CSV)",
        data=lambda: to_safe_csv(scored),
        file_name=f"{stem}-scored.csv",
        mime="text/csv",
        icon=":material/download:",
        key="predict_batch_download",
        on_click="ignore",
        help="Opens in Excel, LibreOffice or Google Sheets. Cells that a spreadsheet would run as formulas are prefixed with ' .",
    )


# --------------------------------------------------------------------------- export


def export(usable: UsableModel) -> None:
    """The bundle, its model card, and (for models trained now) the code that reproduces them."""
    include = st.checkbox(
        "Include up to 200 training rows in the bundle (needed to explain predictions after reloading)",
        value=True,
        key="predict_export_rows",
    )
    card_model = usable
    scores = state.test_scores(usable.name) if usable.origin == "this session" else None
    if scores:
        card_model = dataclasses.replace(usable, card=with_test_scores(usable.card, scores))
    fairness = state.fairness_reports(usable.name) if usable.origin == "this session" else []
    if fairness:  # the scores across groups the person compared on the Results page
        card_model = dataclasses.replace(card_model, card=with_fairness(card_model.card, fairness))
    portable = portable_views.built(usable)
    if portable:  # the ONNX/TFLite files built in the Portable view: their inputs and checks
        card_model = dataclasses.replace(
            card_model, card=with_portable(card_model.card, [r.to_dict() for r in portable])
        )
    token = (
        usable.name,
        usable.origin,
        id(usable.pipeline),
        include,
        tuple(sorted((scores or {}).items())),
        tuple(id(report) for report in fairness),
        tuple(id(result) for result in portable),
    )
    with st.spinner("Packing the model bundle…"):
        packed = state.memo("predict_bundle", token, lambda: _pack(card_model, include))
    if isinstance(packed, str):  # refused (beyond the bundle limits): say why, offer the rest
        st.error(md_escape(packed), icon=":material/block:")
        return
    st.download_button(
        "Download the model bundle (.zip)",
        data=packed,
        file_name=bundle_name(usable),
        mime="application/zip",
        icon=":material/package_2:",
        key="predict_export_bundle",
        on_click="ignore",
        type="primary",
    )
    st.caption(
        "The bundle holds the fitted pipeline (skops; Keras networks as .keras), a model card and, if ticked, a few "
        "training rows. Load it on this page later, or in Python with `core.export.load_bundle`."
    )
    with st.expander("Model card"):
        st.code(card_markdown(card_model.card), language="markdown", wrap_lines=True)


def _pack(usable: UsableModel, include: bool) -> bytes | str:
    """The bundle's bytes, or why it cannot be made (a model beyond the bundle limits)."""
    try:
        return export_bundle(usable, include_background=include)
    except BundleError as err:
        return err.user_message


# --------------------------------------------------------------------------- code


def code(usable: UsableModel) -> None:
    """The standalone script (and notebook) that retrains this model outside the app."""
    from core.codegen import KERAS_TOLERANCE, notebook, training_script

    current, dataset = state.job(), state.dataset()
    if usable.origin != "this session" or current is None or dataset is None:
        st.info(
            "Code can be generated for models trained in this session: it needs the data file and every choice "
            "made on the way. Restored models carry their settings in the model card (Export).",
            icon=":material/info:",
        )
        return
    request = current.request
    run = next((m for m in request.models if m.name == usable.name), None)
    if run is None:
        st.warning("This model's settings are no longer available; train it again to get its code.")
        return
    try:
        script = state.memo(
            "predict_code",
            (id(current), usable.name),
            lambda: training_script(request, run, dataset.name, state.load_options(), report=dataset.report),
        )
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        return
    keras = usable.key in ("keras_mlp", "keras_text")  # networks repeat within a tolerance
    st.markdown(
        f"A standalone Python script that loads {md_code(dataset.name)}, applies the cleaning plan, splits with "
        f"seed {request.seed}, builds the same pipeline, trains it and prints the validation metrics — "
        + (
            f"within ±{KERAS_TOLERANCE} of the app's (networks do not repeat bit for bit across machines)."
            if keras
            else "the same numbers as the app."
        )
        + " It needs only pandas, scikit-learn and the other packages in `requirements.txt`; keep the data file next to it."
    )
    stem = file_stem(usable.name)
    left, right = st.columns(2)
    left.download_button(
        "Download the script (.py)",
        data=script,
        file_name=f"train_{stem}.py",
        mime="text/x-python",
        icon=":material/code:",
        key="predict_code_py",
        on_click="ignore",
    )
    right.download_button(
        "Download as a notebook (.ipynb)",
        data=lambda: notebook(script),
        file_name=f"train_{stem}.ipynb",
        mime="application/x-ipynb+json",
        icon=":material/book_2:",
        key="predict_code_ipynb",
        on_click="ignore",
    )
    st.code(script, language="python", line_numbers=True, wrap_lines=True)


# --------------------------------------------------------------------------- serve


def serve(usable: UsableModel) -> None:
    """The commands that serve this model as a REST API: from its tracked run, or from its bundle file."""
    port = serving.DEFAULT_PORT
    st.markdown(
        "Serve this model as a REST API with MLflow's model server. Run the commands in a terminal **from the "
        "project folder with the virtual environment active** (`source .venv/bin/activate`). The server listens "
        f"on 127.0.0.1 (this computer only), port {port}; Ctrl-C stops it."
    )
    st.markdown("**From the experiment log**")
    tracked = tracked_run(usable)
    current = state.job()
    recording = usable.origin == "this session" and current is not None and current.after_run().pending
    if tracked is not None:
        serve_commands(tracked[0], None, tracked[1])
    elif recording:
        st.caption("This run is still being recorded in the experiment log; its command appears here in a moment.")
        if st.button("Check again", key="predict_serve_refresh", icon=":material/refresh:"):
            st.rerun()
    else:
        st.caption(
            "This model has no recorded run in the experiment log (a bundle loaded from a file, or a run that "
            "could not be recorded): serve it from its bundle below."
        )
    st.markdown("**From a bundle file**")
    st.caption(
        "Download the bundle (the Export view above), then run this, with the path to the downloaded file "
        "if it is not in the project folder:"
    )
    st.code(serving.bundle_serve_command(bundle_name(usable), port), language="bash", wrap_lines=True)
    st.caption(
        "The file is read with the same safe loader as this page: anything but an intact bundle from this app is "
        "refused with the reason, and nothing is served."
    )
    st.markdown("**Then ask it for a prediction**")
    st.code(serving.curl_example(usable.schema, port), language="bash", wrap_lines=True)
    st.caption(
        "The answer holds the prediction (and the class probabilities) for each row, exactly as this page "
        'computes them. `{"dataframe_records": [{"column": value, …}]}` works too.'
    )
