"""Experiment tracking in the app: record runs, note it on Train/Results, the Experiments page views.

The recording itself happens in the training job's worker thread (an after-run
hook from :func:`recorder`); pages only read what it reported.
"""

from __future__ import annotations

import dataclasses
import functools

import pandas as pd
import streamlit as st

from core import charts, experiment_store, serving, tracking
from core.errors import DashboardError
from core.metrics import NO_SCORE, format_score, metric_label
from core.restore import session_settings
from ui import charts_view, state
from ui.text import md_escape

ALL = "All"
#: The metric groups of the comparison chart: label -> metric name prefix.
SPLITS = {"validation": "valid_", "training": "train_", "cross-validation": "cv_", "test": "test_"}


def tracking_uri() -> str:
    """Where runs are recorded: ``MLFLOW_TRACKING_URI``, else the project's SQLite file."""
    return experiment_store.default_tracking_uri()


# --------------------------------------------------------------------------- recording (Train, Results)


def recorder():
    """The hook that records a training run when it ends (given to ``TrainingJob``), with what restoring it needs."""
    source, dataset = state.source(), state.dataset()
    # the name the sidebar shows (the file name; a sample's file), so runs are recognisable
    name = dataset.name if dataset is not None else (source.name if source is not None else "data")
    context = {
        "source": {
            "name": source.name if source is not None else name,
            "kind": source.kind if source is not None else "upload",
            "sample": source.file_id.removeprefix("sample:")
            if source is not None and source.kind == "sample"
            else None,
            "file": name,
        },
        "load_options": dataclasses.asdict(state.load_options()),
        "role_overrides": state.role_overrides(),
    }
    return tracking.recorder(
        tracking_uri(),
        name,
        workspace=state.workspace(),
        session_of=functools.partial(session_settings, context),
    )


def recording_note(job) -> None:
    """One line under the leaderboard: being recorded, recorded, or why not."""
    after = job.after_run()
    if after.pending:
        st.caption("Recording this run in the experiment log…")
    elif after.status == "done" and after.value is not None and after.value.ok:
        st.caption(f"{after.value.message} Compare past runs on the Experiments page.")
    elif after.status == "done" and after.value is not None:
        st.warning(md_escape(after.value.message), icon=":material/history_toggle_off:")
    elif after.status == "failed":
        st.warning(
            md_escape(
                f"This run was not recorded in the experiment log ({after.error}). "
                "The trained models are kept in this session."
            ),
            icon=":material/history_toggle_off:",
        )


#: How often the Experiments page looks whether this session's run has reached the log.
RECORDING_EVERY_S = 2.0


def run_on_its_way() -> bool:
    """On the Experiments page: this session's run that is still training or being recorded, said so (True);
    once it is in the log the whole page runs again and lists it (a run ends, then takes seconds to record)."""
    job = state.job()
    if job is None or not job.after_run().pending:
        return False

    @st.fragment(run_every=RECORDING_EVERY_S)
    def waiting() -> None:
        if not job.after_run().pending:
            st.rerun()
        if job.snapshot().status == "running":
            text = "Your current run is still training: it is recorded here when it ends."
        else:
            text = "Your last run is being recorded in the experiment log: it appears here in a moment."
        st.info(text, icon=":material/hourglass_top:")

    waiting()
    return True


def record_test_scores(model_name: str, scores: dict[str, float]) -> None:
    """Add a final test score to the model's tracked run (Results page); warn if it cannot.

    While the run is still being recorded the score waits on the job, whose thread writes it right
    after the recording (:func:`core.tracking.log_test_scores_when_recorded`): the page never waits.
    """
    job = state.job()
    if job is None or job.after_run().status == "none":
        return
    try:
        done = tracking.log_test_scores_when_recorded(job, model_name, scores)
    except DashboardError as err:
        st.warning(md_escape(err.user_message), icon=":material/history_toggle_off:")
        return
    if done == "not recorded":
        st.caption("This test score is not in the experiment log: the run itself was not recorded there.")


# --------------------------------------------------------------------------- the Experiments page


def store_info(uri: str) -> None:
    """Whose runs these are, where they live (paths only when the app is local) and how to open them in MLflow."""
    local = state.served_locally()
    st.caption(md_escape(f"Runs are recorded in {experiment_store.describe_store(uri, show_paths=local)}."))
    if state.visible_workspace() is not None:
        st.caption(
            "These are the runs of this browser workspace (the `ws=` part of the address). Bookmark the address to "
            "come back to them; anyone you give it to sees them too."
        )
    if not local:
        return
    server = experiment_store.server_address(uri)
    if server is not None:  # a tracking server serves MLflow's UI itself
        with st.expander("Open these runs in MLflow's UI", icon=":material/open_in_new:"):
            st.caption("The tracking server shows them in MLflow's own UI, at its address:")
            st.code(server, language=None)
        return
    with st.expander("Open these runs in MLflow's UI", icon=":material/open_in_new:"):
        st.caption("In a terminal, from the project folder with its virtual environment active:")
        st.code(experiment_store.ui_command(uri), language="bash", wrap_lines=True)
        st.caption(
            "Then open http://127.0.0.1:5000. Set MLFLOW_TRACKING_URI before starting the app to record runs "
            "on a team's tracking server instead."
        )


def _per_store_state(name: str, uri: str, key, compute):
    """``compute()`` once per state of the store, so clicks on the page do not query it again.

    A tracking server is asked each time (its changes cannot be seen without asking).
    """
    version = experiment_store.store_version(uri)
    if version is None:
        return compute()
    return state.memo(name, (uri, version, key), compute)


def load_runs(uri: str) -> pd.DataFrame | None:
    """Every recorded model run, or ``None`` after showing why the store cannot be read."""
    try:
        ws = state.visible_workspace()
        return _per_store_state("experiments_runs", uri, ws, lambda: tracking.list_runs(uri, workspace=ws))
    except DashboardError as err:
        st.error(md_escape(err.user_message), icon=":material/database_off:")
        return None


def filters(runs: pd.DataFrame) -> pd.DataFrame:
    """Dataset and task pickers; the runs that match."""
    left, right = st.columns(2)
    datasets = [ALL, *sorted(runs["dataset"].unique())]
    dataset = left.selectbox("Dataset", datasets, key="experiments_dataset")
    tasks = [ALL, *sorted(runs["task"].unique())]
    task = right.selectbox("Task", tasks, key="experiments_task")
    return tracking.filter_runs(runs, None if dataset == ALL else dataset, None if task == ALL else task)


#: How the runs table can be ordered.
ORDERS = ("Newest first", "Best validation score first")


def runs_table(runs: pd.DataFrame) -> None:
    """Past runs with their main metric: newest first, or best first by that metric (each in its direction)."""
    order = st.segmented_control("Order", ORDERS, default=ORDERS[0], key="experiments_order") or ORDERS[0]
    ordered = tracking.best_first(runs) if order == ORDERS[1] else runs
    table = ordered.assign(
        run=ordered["run_id"].str[:7],
        date=ordered["date"].dt.tz_convert(None),
        metric=ordered["metric"].map(metric_label),
        validation=[format_score(k, v) for k, v in zip(ordered["metric"], ordered["validation"], strict=True)],
        test=[format_score(k, v) for k, v in zip(ordered["metric"], ordered["test"], strict=True)],
    )
    columns = ["date", "dataset", "task", "model", "metric", "validation", "test", "seconds", "status", "run"]
    st.dataframe(
        table[columns],
        hide_index=True,
        column_config={
            "date": st.column_config.DatetimeColumn("date (UTC)", format="YYYY-MM-DD HH:mm"),
            "metric": st.column_config.TextColumn("main metric"),
            "validation": st.column_config.TextColumn("validation", help="The main metric on the validation rows."),
            "test": st.column_config.TextColumn(
                "test", help=f"{NO_SCORE} until the test split is scored (once, on the Results page)."
            ),
            "seconds": st.column_config.NumberColumn("seconds", format="%.2f", help="Training time of the model."),
        },
    )


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """run id -> a readable label (plain text: shown in select boxes only)."""
    return {
        row.run_id: f"{row.model} · {row.dataset} · {row.date:%Y-%m-%d %H:%M} ({row.run_id[:7]})"
        for row in runs.itertuples()
    }


def pick_runs(runs: pd.DataFrame) -> list[str]:
    """The runs ticked for comparison."""
    labels = run_labels(runs)
    return st.multiselect(
        "Runs to compare",
        list(labels),
        format_func=labels.get,
        key="experiments_compare",
        placeholder="Tick two or more runs",
    )


def _highlight(params: pd.DataFrame):
    return params.style.apply(
        lambda row: ["background-color: #FFF3BF; font-weight: 600" if row["differs"] else "" for _ in row], axis=1
    )


def compare(uri: str, run_ids: list[str]) -> None:
    """Parameters side by side (those that differ highlighted) and the metrics as a chart."""
    if len(run_ids) < 2:
        st.caption("Tick two or more runs above to compare their settings and scores side by side.")
        return
    try:
        params, metrics = _per_store_state(
            "experiments_compare", uri, tuple(run_ids), lambda: tracking.compare_runs(uri, run_ids)
        )
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        return
    differing = int(params["differs"].sum())
    st.caption(f"{differing} of {len(params)} parameters differ between these runs (highlighted).")
    if st.toggle("Show only the parameters that differ", key="experiments_differs_only"):
        params = params[params["differs"]]
    st.dataframe(
        _highlight(params.fillna("—")),  # "—": that model has no such setting
        column_config={"differs": st.column_config.CheckboxColumn("differs")},
    )
    present = [name for name, prefix in SPLITS.items() if any(m.startswith(prefix) for m in metrics.index)]
    split = st.segmented_control("Metrics from", present, default=present[0], key="experiments_split")
    split = split or present[0]
    shown = tracking.split_metrics(metrics, SPLITS[split])
    picked = st.multiselect(
        "Metrics in the chart",
        list(shown.index),
        default=tracking.same_scale(shown) or list(shown.index[:1]),
        format_func=metric_label,
        key=f"experiments_chart_metrics_{split}",
        help="Scores between 0 and 1 are shown first; errors in the target's units are on another scale.",
    )
    if picked:
        chart = shown.loc[picked].rename(index=metric_label)
        charts_view.show(
            charts.run_metrics_chart(chart, title=f"{split.capitalize()} metrics of the selected runs"),
            key="experiments_metrics_chart",
        )
    with st.expander("All metrics as a table", icon=":material/table:"):
        st.dataframe(metrics)


def mixed_note(runs: pd.DataFrame, run_ids: list[str]) -> None:
    """Say so when the ticked runs come from different datasets or tasks."""
    chosen = runs[runs["run_id"].isin(run_ids)]
    if chosen["dataset"].nunique() > 1 or chosen["task"].nunique() > 1:
        st.info(
            "These runs come from different datasets or tasks: their scores are not directly comparable.",
            icon=":material/compare_arrows:",
        )


def _loaded(run_id: str):
    return next(
        (m for m in state.loaded_models() if (m.card.get("tracking") or {}).get("run_id") == run_id),
        None,
    )


def reload(uri: str, runs: pd.DataFrame, ticked: list[str]) -> None:
    """Load a run's model into the app (for Predict), and how to serve it as a REST API."""
    finished = runs[runs["status"] == "finished"]
    if finished.empty:
        st.caption("None of these runs finished with a model to load.")
        return
    labels = run_labels(finished)
    options = list(labels)
    first = next((r for r in ticked if r in labels), options[0])
    run_id = st.selectbox(
        "Run", options, index=options.index(first), format_func=labels.get, key="experiments_reload_run"
    )
    usable = _loaded(run_id)
    if usable is None and st.button(
        "Load this model into the app", key="experiments_reload", icon=":material/download:"
    ):
        try:
            with st.spinner("Loading the model from the experiment store…"):
                usable = tracking.load_run_model(uri, run_id)
        except DashboardError as err:
            st.error(md_escape(err.user_message))
            return
        state.add_loaded_model(usable)
    if usable is not None:
        st.success(
            md_escape(f"{usable.name} ({usable.origin}) is loaded: use it on the Predict page."),
            icon=":material/check_circle:",
        )
        st.page_link("pages/predict.py", label="Go to Predict", icon=":material/online_prediction:")
    serve_commands(run_id, usable.schema if usable is not None else None, uri)


# --------------------------------------------------------------------------- serving (Experiments, Predict)


def tracked_run(usable) -> tuple[str, str] | None:
    """``(run id, tracking URI)`` of a model: reloaded from a run, or trained now and recorded."""
    info = usable.card.get("tracking") or {}
    if info.get("run_id"):
        return info["run_id"], tracking_uri()
    job = state.job()
    if job is None or usable.origin != "this session":
        return None
    return _recorded_run(job, usable.name)


def _recorded_run(job, model_name: str) -> tuple[str, str] | None:
    """``(run id, tracking URI)`` of a model of ``job`` once the job's run is recorded."""
    after = job.after_run()
    report = after.value if after.status == "done" else None
    run_id = report.model_runs.get(model_name) if report is not None else None
    return (run_id, report.tracking_uri) if run_id else None


def serve_commands(run_id: str, schema, uri: str) -> None:
    """The command that serves a tracked model as a REST API, and a curl call for it (given the ``schema``).

    Only when the app is local: the command names the server's store, which is not for visitors to see.
    """
    if not state.served_locally():
        st.caption(md_escape(f"The app's administrator can serve this model as a REST API: its run is {run_id}."))
        return
    st.caption("Serve this model as a REST API on this computer (from the project folder, virtual environment active):")
    st.code(serving.serve_command(serving.model_uri(run_id), tracking_uri=uri), language="bash", wrap_lines=True)
    if schema is not None:
        st.caption("Then ask it for a prediction:")
        st.code(serving.curl_example(schema), language="bash", wrap_lines=True)
