"""Views of the Results page: metrics, diagnostics, comparisons, the final test."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import charts, results
from core.evaluation import (
    UNDEFINED_FALLBACK,
    classification_report_frame,
    cluster_sizes,
    confusion_frame,
    overfitting_check,
)
from core.guards.findings import worst_first
from core.guards.model_checks import model_findings
from core.limits import CHART_CATEGORIES
from core.metrics import METRICS, NO_SCORE, TASK_METRICS, format_score, primary_metric, scorer_for
from core.target import Task
from core.teaching.glossary import metric_tooltip
from core.training import TrainedModel, TrainingRequest, build_model_pipeline, summary
from ui import anomaly_views, charts_view, experiments_views, guard_views, reveal_views, state
from ui.text import md_code, md_escape, md_label

#: What the numbers of a metrics row are, said once above it (the labels stay short).
SPLITS = {
    "validation": "**Validation split** · {rows} rows the model did not learn from: compare and choose models by these.",
    "refitted": "**Validation split** · {rows} rows, scored before the refit (fitted on the training rows only): "
    "compare models by these; the model was then refitted on training + validation rows.",
    "test": "**TEST split** · {rows} rows set aside before training: not validation numbers; report, do not choose.",
    "clustered": "**Training split** · {rows} rows the clusters were found on (clustering has no held-out score).",
    "detected": "**Validation split** · {rows} rows the detector did not learn from: how it flags new rows (without "
    "labels, detectors are not chosen by these).",
}
UNDEFINED = NO_SCORE


def _fmt(key: str, value: float) -> str:
    return format_score(key, value)


def metrics_row(
    scores: dict[str, float],
    task: Task,
    *,
    where: str = "validation",
    rows: int | None = None,
    reasons: dict[str, str] | None = None,
) -> None:
    """One st.metric per task metric, with its meaning on hover, under one line naming the split.

    ``where`` is a key of :data:`SPLITS`. A metric without a value (NaN, or left
    out because it cannot be computed) shows "—"; why, from ``reasons``
    (:func:`core.results.metric_reasons`), is said on hover and in a caption below.
    """
    st.caption(SPLITS[where].format(rows=f"{rows:,}" if rows is not None else "the"))
    keys = [k for k in TASK_METRICS[task] if not np.isinf(scores.get(k, np.nan))]
    why: dict[str, list[str]] = {}
    for start in range(0, len(keys), 5):
        cols = st.columns(5)
        for col, key in zip(cols, keys[start : start + 5], strict=False):
            metric, value = METRICS[key], scores.get(key, np.nan)
            meaning = metric_tooltip(key, metric.meaning)  # links to the metric's glossary entry
            if not np.isfinite(value):
                reason = (reasons or {}).get(key, UNDEFINED_FALLBACK)
                why.setdefault(reason, []).append(metric.label)
                meaning = f"Undefined: {md_escape(reason)} {meaning}"
            col.metric(metric.label, _fmt(key, value), help=meaning)
    for reason, labels in why.items():
        st.caption(f"{UNDEFINED} {', '.join(labels)}: {md_escape(reason)}")


def scores(model: TrainedModel, request: TrainingRequest) -> None:
    """The model's scores on validation (clustering: on the rows clustered), then its cross-validation."""
    reasons = state.memo(
        "results_reasons", (id(state.job()), model.name), lambda: results.metric_reasons(model, request, model.scores)
    )
    if model.task == Task.CLUSTERING:
        metrics_row(model.scores, model.task, where="clustered", rows=len(request.split.train), reasons=reasons)
    else:
        where = "detected" if model.task == Task.ANOMALY else "refitted" if model.refitted else "validation"
        metrics_row(model.scores, model.task, where=where, rows=len(request.split.valid), reasons=reasons)
    if model.cv_scores:
        cv_summary(model, request)


def cv_summary(model: TrainedModel, request: TrainingRequest) -> None:
    """The cross-validated ranking score, said to come from folds of the training + validation rows."""
    metric, folds = request.ranking, request.split.cv_folds
    mean, std = model.cv_scores.get(f"cv_{metric.key}_mean"), model.cv_scores.get(f"cv_{metric.key}_std")
    if mean is None:
        return
    spread = f" ± {format_score(metric.key, std)}" if std is not None and np.isfinite(std) else ""
    st.caption(
        f"**Cross-validation folds** · {folds} folds of the {request.split.choice_rows:,} training + validation "
        f"rows: {metric.label} {_fmt(metric.key, mean)}{spread} (mean ± std over the folds; models are ranked by it)."
    )


def chosen_note(model: TrainedModel, request: TrainingRequest, results: list) -> None:
    """Whether this is the chosen model, and whether it was refitted on training + validation rows, in words."""
    if model.task == Task.ANOMALY:
        return anomaly_views.chosen_note(model, request, results)
    if model.task == Task.CLUSTERING:
        return
    job = state.job()
    if model.refit is not None:
        words = md_escape(summary(model, request, results))
        (st.success if model.refitted else st.warning)(words, icon=":material/verified:")
    elif job is not None and getattr(job, "checking", False):
        st.caption("Once the run is done, the chosen model is refitted on training + validation rows.")
    else:
        st.caption(
            md_escape(
                f"{model.name} is not the chosen model, so it was not refitted: it keeps its fit on the "
                f"{len(request.split.train):,} training rows, and its test score would be of that fit."
            )
        )


def overfitting(model: TrainedModel, *, suspicious: bool = False) -> None:
    """The memorising check; with ``suspicious`` (a guard flagged the run) a small gap is not called reassuring."""
    message = overfitting_check(model.train_scores, model.scores, model.task)
    if message:
        st.warning(md_escape(message), icon=":material/psychology_alt:")
    elif model.task.has_target:
        metric = primary_metric(model.task)
        train, valid = model.train_scores.get(metric.key, np.nan), model.scores.get(metric.key, np.nan)
        if np.isfinite(train) and np.isfinite(valid):  # an undefined score gives no verdict
            verdict = (
                "a small gap, but that does not rule out leakage (see the checks above)"
                if suspicious
                else "no sign of memorising"
            )
            st.caption(
                f"{metric.label}: {model.train_scores[metric.key]:.3f} on training rows, "
                f"{model.scores[metric.key]:.3f} on validation rows — {verdict}."
            )


def checks(model: TrainedModel, request: TrainingRequest) -> bool:
    """The guards' findings for this model (computed once, on validation rows); True when there are any."""
    if model.checks is None and model.task.has_target:
        with st.spinner("Checking whether one column does all the work…"):
            model.checks = state.memo(
                "results_checks", (id(state.job()), model.name), lambda: model_findings(model, request)
            )
    findings = [*(model.checks or []), *(request.leakage.findings if request.leakage is not None else [])]
    if not findings:
        return False
    guard_views.findings_list(worst_first(findings), key="results_guard")
    st.page_link("pages/target.py", label="Untick columns on the Target page", icon=":material/ads_click:")
    return True


CLASSIFICATION_VIEWS = [
    "Confusion matrix",
    "Threshold",
    "ROC",
    "Precision–recall",
    "Calibration",
    "Per class",
    "Learning curve",
]
REGRESSION_VIEWS = ["Residuals", "Predicted vs actual", "Learning curve"]
CLUSTER_VIEWS = ["Clusters (PCA)", "Cluster profiles", "Cluster sizes"]


def diagnostics(model: TrainedModel, request: TrainingRequest) -> None:
    """A segmented control over the diagnostic charts for the model's task."""
    task = model.task
    if task == Task.CLUSTERING:
        return _clusters(model, request)
    if task == Task.ANOMALY:
        return anomaly_views.diagnostics(model, request)
    views = (
        REGRESSION_VIEWS
        if task == Task.REGRESSION
        else [v for v in CLASSIFICATION_VIEWS if v != "Threshold" or task == Task.BINARY]
    )
    view = st.segmented_control(
        "Chart", views, default=state.kept("results_view", views[0], allowed=views), key="results_view"
    )
    state.keep("results_view", view)
    pred = valid_predictions(model, request)
    token = (model.name,)  # with the model itself as owner: its refit (a new object) draws anew
    if model.refitted:
        st.caption(
            md_escape(
                f"These charts show {model.name} as it was scored on the validation rows: fitted on the training rows, "
                "before the refit."
                if model.before_refit is not None
                else f"{model.name} was brought back refitted on training + validation rows: these charts of the "
                "validation rows show rows it learned from, so they look better than new data would."
            )
        )
    if view == "Confusion matrix":
        normalized = st.toggle(
            "Show shares of each actual class", value=state.kept("results_normalized", False), key="results_normalized"
        )
        state.keep("results_normalized", normalized)
        charts_view.show_built(
            lambda: charts.confusion_matrix_figure(
                confusion_frame(pred.y, pred.y_pred, pred.classes, normalized), normalized
            ),
            "results_confusion",
            token=(*token, normalized),
            owners=(model,),
        )
        _few_classes_note(pred)
    elif view == "Threshold":
        _threshold(pred)
    elif view == "ROC" and pred.proba is not None:

        def roc():
            curves = results.roc_curves(pred.y, pred.proba, pred.classes, pred.positive)
            return charts.roc_figure(curves, positive_title("ROC curve", pred), _own_colour(curves, model, request))

        charts_view.show_built(roc, "results_roc", token=token, owners=(model,))
        _few_classes_note(pred)
    elif view == "Precision–recall" and pred.proba is not None:

        def pr():
            curves = results.pr_curves(pred.y, pred.proba, pred.classes, pred.positive)
            baseline = float(np.mean(pred.y == pred.positive)) if task == Task.BINARY else None
            title = positive_title("Precision–recall curve", pred)
            return charts.pr_figure(curves, title, baseline, _own_colour(curves, model, request))

        charts_view.show_built(pr, "results_pr", token=token, owners=(model,))
        _few_classes_note(pred)
    elif view == "Calibration" and pred.proba is not None:
        binary = task == Task.BINARY
        x_title = f"predicted probability of '{pred.positive}'" if binary else "confidence (highest probability)"

        def calibration():
            table = results.calibration_table(pred.y, pred.proba, pred.classes, positive=pred.positive)
            return charts.calibration_figure({model.name: table}, x_title=x_title, colors=charts.run_colors(request))

        charts_view.show_built(calibration, "results_calibration", token=token, owners=(model,))
        st.caption(
            f"A well-calibrated model's points lie on the diagonal: of the rows it gives 70%, about 70% are "
            f"{md_code(pred.positive) if binary else 'right'}."
        )
    elif view == "Per class":
        report = state.run_memo(
            "per_class", token, lambda: classification_report_frame(pred.y, pred.y_pred, pred.classes), (model,)
        )
        per_class(report)
    elif view == "Residuals":
        charts_view.show_built(
            lambda: charts.residuals_figure(results.residuals_frame(pred.y, pred.y_pred)),
            "results_residuals",
            token=token,
            owners=(model,),
        )
    elif view == "Predicted vs actual":
        charts_view.show_built(
            lambda: charts.predicted_vs_actual_figure(results.residuals_frame(pred.y, pred.y_pred)),
            "results_pva",
            token=token,
            owners=(model,),
        )
    elif view == "Learning curve":
        _learning_curve(model, request)
    elif view in ("ROC", "Precision–recall", "Calibration"):
        st.info("This model gives no probabilities, so this chart is not available.")


def valid_predictions(model: TrainedModel, request: TrainingRequest) -> results.Predictions:
    """``model``'s predictions of the validation rows, computed once per model of the run in this session."""
    return state.run_memo(
        "predictions", (model.name, "valid"), lambda: results.predictions(model, request, "valid"), (model,)
    )


def _own_colour(curves: dict, model: TrainedModel, request: TrainingRequest) -> dict | None:
    """A binary model's one curve in the model's colour of the run; a multiclass model's curves by class."""
    if model.task != Task.BINARY:
        return None
    colour = charts.run_colors(request).get(model.name)
    return {key: colour for key in curves} if colour else None


def _few_classes_note(pred: results.Predictions) -> None:
    """Say so when a class-wise chart shows only the most frequent classes."""
    if len(pred.classes) > CHART_CATEGORIES:
        st.caption(
            f"With {len(pred.classes):,} classes, the {CHART_CATEGORIES} most frequent among these rows are shown "
            "(the confusion matrix sums the rest as 'other'); the per-class table lists them all."
        )


def positive_title(title: str, pred: results.Predictions) -> str:
    """A chart title that names the positive class of a binary model (chart text is escaped by the chart)."""
    return f"{title}: '{pred.positive}' as the positive class" if pred.positive is not None else title


def per_class_styler(table):
    """The per-class report with four decimals and "—" where precision is undefined.

    The columns stay numbers (NaN there), so sorting still works in the browser.
    """
    return table.style.format({k: "{:.4f}" for k in ("precision", "recall", "f1")}, na_rep=UNDEFINED)


def per_class(table) -> None:
    st.dataframe(
        per_class_styler(table),
        hide_index=True,
        column_config={
            "precision": st.column_config.NumberColumn(
                "precision",
                help="Of the rows predicted as this class, the share that really are. "
                f"{UNDEFINED} means the model never predicted this class.",
            )
        },
    )
    if table["precision"].isna().any():
        st.caption(f"{UNDEFINED} in precision: the model never predicted that class, so there is no share to compute.")


def _threshold(pred: results.Predictions) -> None:
    if pred.proba is None:
        st.info("This model gives no probabilities, so its decision threshold cannot be moved.")
        return
    column = results.positive_column(pred)
    positive, negative = pred.classes[column], pred.classes[1 - column]
    name = md_label(f"'{positive}'")
    threshold = st.slider(
        f"Decision threshold: call a row {name} when its probability of being {name} is at least",
        0.0,
        1.0,
        state.kept("results_threshold", 0.5),
        0.01,
        key="results_threshold",
    )
    state.keep("results_threshold", threshold)
    numbers = results.threshold_metrics(pred.y, pred.proba[:, column], positive, threshold)
    cols = st.columns(5)
    for col, key in zip(cols, ("accuracy", "precision", "recall", "f1", "balanced_accuracy"), strict=True):
        value = numbers[key]
        col.metric(
            key.replace("_", " ").capitalize(),
            f"{value:.3f}" if np.isfinite(value) else UNDEFINED,
            help=None
            if np.isfinite(value)
            else f"Undefined: at this threshold the model never predicts {md_code(positive)}, "
            "so no share of its calls can be right or wrong.",
        )
    y_pred = np.where(pred.proba[:, column] >= threshold, positive, negative)
    charts_view.show(
        charts.confusion_matrix_figure(confusion_frame(pred.y, y_pred, pred.classes)), key="results_threshold_confusion"
    )
    st.caption(
        f"At {threshold:.2f}, with {md_code(positive)} as the positive class: {int(numbers['tp'])} true positives, "
        f"{int(numbers['fp'])} false alarms, {int(numbers['fn'])} missed, {int(numbers['tn'])} true negatives."
    )


def _learning_curve(model: TrainedModel, request: TrainingRequest) -> None:
    if model.history:
        colour = charts.run_colors(request).get(model.name)
        charts_view.show_built(
            lambda: charts.training_curves(model.history, best_epoch=model.best_epoch, color=colour),
            "results_keras_curve",
            token=(model.name,),
            owners=(model,),
        )
        return
    compute = st.toggle(
        "Compute the learning curve (refits the model 15 times on parts of the training rows)",
        value=state.kept("results_lc_on", False),
        key="results_lc_on",
    )
    state.keep("results_lc_on", compute)
    if not compute:
        return
    run = next(r for r in request.models if r.name == model.name)
    X, y = request.xy(request.split.train)
    with st.spinner("Refitting on growing parts of the training rows…"):
        table = state.memo(
            "results_lc",
            (id(state.job()), model.name),
            lambda: results.learning_curve_table(
                lambda: build_model_pipeline(request, run),
                X,
                y,
                model.task,
                seed=request.seed,
                metric_key=request.metric,
            ),
        )
    label = scorer_for(model.task, request.metric or None)[1].label
    charts_view.show_built(
        lambda: charts.learning_curve_figure(table, label), "results_lc", token=(model.name,), owners=(model, table)
    )
    st.caption(
        "If the two lines stay far apart as rows grow, more data or a simpler model may help; if both are low, the model is too simple."
    )


def _clusters(model: TrainedModel, request: TrainingRequest) -> None:
    Xt, labels, X = state.memo(
        "results_clusters", (id(state.job()), model.name), lambda: results.cluster_assignments(model, request)
    )
    view = st.segmented_control(
        "Chart",
        CLUSTER_VIEWS,
        default=state.kept("results_cluster_view", CLUSTER_VIEWS[0], allowed=CLUSTER_VIEWS),
        key="results_cluster_view",
    )
    state.keep("results_cluster_view", view)
    st.caption(f"Computed on the {len(labels):,} training rows the clusters were found on.")
    if view == "Clusters (PCA)":
        charts_view.show_built(
            lambda: charts.clusters_figure(results.pca_projection(Xt, labels, request.seed)),
            "results_pca",
            token=(model.name,),
            owners=(model,),
        )
    elif view == "Cluster profiles":
        charts_view.show_built(
            lambda: charts.cluster_profile_figure(results.cluster_profiles(X, labels)),
            "results_profiles",
            token=(model.name,),
            owners=(model,),
        )
    else:
        st.dataframe(
            cluster_sizes(labels),
            hide_index=True,
            column_config={
                "rows": st.column_config.NumberColumn("rows", format="localized"),
                "share": st.column_config.NumberColumn("share", format="percent"),
            },
        )


def final_evaluation(model: TrainedModel, request: TrainingRequest) -> None:
    """Score on the held-out test rows only when asked, and say what that means."""
    if model.task == Task.CLUSTERING:
        st.caption("Clustering has no test score: there is no right answer to check against.")
        return
    scores = state.test_scores(model.name)
    st.caption(
        f"The test split ({len(request.split.test):,} rows) was set aside before training. Score it once, for the model you have chosen, to learn how it will do on new data."
    )
    job = state.job()
    if scores is None and job is not None and getattr(job, "checking", False):
        _wait_for_the_run(job)  # a test score now would be of a model not yet chosen and refitted
        return
    question = f"What test score do you expect for {request.ranking.label}?"
    if not reveal_views.gate(f"test_{id(job)}_{model.name}", question, kind="number"):
        return  # the class guesses before the test score (or its button) shows
    if scores is None and st.button(
        f"Score {model.name} on the test split", key="results_test", icon=":material/fact_check:"
    ):
        scores = state.log_test((id(state.job()), model.name), model.name, results.test_scores(model, request))[
            "scores"
        ]
        experiments_views.record_test_scores(model.name, scores)  # into the model's tracked run
        st.rerun()  # the sections above (fairness on the test rows, the report's caption) follow the new score
    if scores is None:
        return
    st.markdown(f"**Test numbers** for {md_escape(model.name)} — not validation numbers:")
    reasons = state.memo(  # the test rows were scored on request above; this only explains the "—"
        "results_test_reasons",
        (id(state.job()), model.name),
        lambda: results.metric_reasons(model, request, scores, "test"),
    )
    metrics_row(scores, model.task, where="test", rows=len(request.split.test), reasons=reasons)
    log = state.test_log()
    if len(log) > 1:
        st.warning(
            f"You have scored the test split {len(log)} times in this session (for different models or after changing settings). Each look makes the test score a little less honest: choose the model on validation numbers, and use the test score only to report it.",
            icon=":material/visibility:",
        )


def _wait_for_the_run(job) -> None:
    """Say what the test score waits for, and redraw the page once the run is done (polled every second)."""

    @st.fragment(run_every=1.0)
    def waiting() -> None:
        if not job.checking:
            st.rerun()  # the whole page: the refitted model, its note and the test button
        doing = (
            f"refitting {job.refitting} on training + validation rows"
            if job.refitting
            else ("training" if job.snapshot().status == "running" else "checking the chosen model")
        )
        st.info(
            md_escape(f"The test score waits until the run is done ({doing} now)."), icon=":material/hourglass_top:"
        )

    waiting()


def _report_test_note(task: Task, tested: bool) -> str:
    """What the report says of test numbers: clustering has none to ask for."""
    if task == Task.CLUSTERING:
        return " Clustering has no test score: the report describes the clusters found on the training rows."
    return " It includes the test scores." if tested else " Score the test split first to include test numbers."


def report(model: TrainedModel, request: TrainingRequest) -> None:
    """A one-page HTML report of the run, built when the person downloads it."""
    from core.export import file_stem
    from core.report import run_report

    job = state.job()
    tested = state.test_scores(model.name)
    explain_job = state.explain_job(model.name)
    snapshot = explain_job.snapshot() if explain_job is not None else None
    explanation = (
        snapshot.results[0] if snapshot is not None and snapshot.status == "finished" and snapshot.results else None
    )
    name = state.source().name if state.source() is not None else "data"
    fairness = state.fairness_reports(model.name)  # the columns compared above, each with its groups
    st.caption(
        f"One HTML page about {md_escape(model.name)}: the data and split, every model compared, this model's "
        "scores and charts, what drives its predictions, and the caveats. It opens offline in any browser."
        + _report_test_note(model.task, bool(tested))
        + (f" It includes the fairness across groups of {len(fairness)} column(s)." if fairness else "")
    )
    st.download_button(
        "Download the report (HTML)",
        data=lambda: run_report(
            request,
            job.snapshot().results,
            model,
            name,
            test_scores=tested,
            test_looks=len(state.test_log()),
            explanation=explanation,
            fairness=fairness,
        ),
        file_name=f"report-{file_stem(model.name)}.html",
        mime="text/html",
        icon=":material/description:",
        key="results_report",
        on_click="ignore",
    )
