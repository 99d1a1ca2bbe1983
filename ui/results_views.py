"""Views of the Results page: metrics, diagnostics, comparisons, the final test."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import charts, results
from core.evaluation import (
    METRICS,
    TASK_METRICS,
    classification_report_frame,
    cluster_sizes,
    confusion_frame,
    overfitting_check,
    primary_metric,
)
from core.target import Task
from core.training import TrainedModel, TrainingRequest, build_model_pipeline
from ui import state
from ui.text import md_escape


def _fmt(key: str, value: float) -> str:
    if key in ("mape",):
        return f"{value:.1%}"
    if key in ("mae", "rmse", "calinski_harabasz"):
        return f"{value:,.4g}"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"


def metrics_row(scores: dict[str, float], task: Task, *, where: str = "validation") -> None:
    """One st.metric per task metric, with its meaning on hover."""
    keys = [k for k in TASK_METRICS[task] if k in scores and np.isfinite(scores[k])]
    for start in range(0, len(keys), 5):
        cols = st.columns(5)
        for col, key in zip(cols, keys[start : start + 5], strict=False):
            metric = METRICS[key]
            col.metric(f"{metric.label} ({where})", _fmt(key, scores[key]), help=metric.meaning)


def overfitting(model: TrainedModel) -> None:
    message = overfitting_check(model.train_scores, model.scores, model.task)
    if message:
        st.warning(md_escape(message), icon=":material/psychology_alt:")
    elif model.task != Task.CLUSTERING:
        metric = primary_metric(model.task)
        if metric.key in model.train_scores and metric.key in model.scores:
            st.caption(
                f"{metric.label}: {model.train_scores[metric.key]:.3f} on training rows, {model.scores[metric.key]:.3f} on validation rows — no sign of memorising."
            )


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
    views = (
        REGRESSION_VIEWS
        if task == Task.REGRESSION
        else [v for v in CLASSIFICATION_VIEWS if v != "Threshold" or task == Task.BINARY]
    )
    view = st.segmented_control("Chart", views, default=views[0], key="results_view")
    pred = state.memo(
        "results_pred", (id(state.job()), model.name), lambda: results.predictions(model, request, "valid")
    )
    if view == "Confusion matrix":
        normalized = st.toggle("Show shares of each actual class", key="results_normalized")
        st.plotly_chart(
            charts.confusion_matrix_figure(confusion_frame(pred.y, pred.y_pred, pred.classes, normalized), normalized),
            key="results_confusion",
        )
    elif view == "Threshold":
        _threshold(pred)
    elif view == "ROC" and pred.proba is not None:
        st.plotly_chart(charts.roc_figure(results.roc_curves(pred.y, pred.proba, pred.classes)), key="results_roc")
    elif view == "Precision–recall" and pred.proba is not None:
        st.plotly_chart(charts.pr_figure(results.pr_curves(pred.y, pred.proba, pred.classes)), key="results_pr")
    elif view == "Calibration" and pred.proba is not None:
        x_title = "predicted probability" if task == Task.BINARY else "confidence (highest probability)"
        st.plotly_chart(
            charts.calibration_figure(results.calibration_table(pred.y, pred.proba, pred.classes), x_title=x_title),
            key="results_calibration",
        )
        st.caption(
            "A well-calibrated model's points lie on the diagonal: of the rows it gives 70%, about 70% are positive."
        )
    elif view == "Per class":
        st.dataframe(classification_report_frame(pred.y, pred.y_pred, pred.classes).round(4), hide_index=True)
    elif view == "Residuals":
        st.plotly_chart(charts.residuals_figure(results.residuals_frame(pred.y, pred.y_pred)), key="results_residuals")
    elif view == "Predicted vs actual":
        st.plotly_chart(
            charts.predicted_vs_actual_figure(results.residuals_frame(pred.y, pred.y_pred)), key="results_pva"
        )
    elif view == "Learning curve":
        _learning_curve(model, request)
    elif view in ("ROC", "Precision–recall", "Calibration"):
        st.info("This model gives no probabilities, so this chart is not available.")


def _threshold(pred: results.Predictions) -> None:
    if pred.proba is None:
        st.info("This model gives no probabilities, so its decision threshold cannot be moved.")
        return
    positive = pred.classes[1]
    threshold = st.slider(
        f"Decision threshold: call a row '{positive}' when its probability is at least",
        0.0,
        1.0,
        0.5,
        0.01,
        key="results_threshold",
    )
    numbers = results.threshold_metrics(pred.y, pred.proba[:, 1], positive, threshold)
    cols = st.columns(5)
    for col, key in zip(cols, ("accuracy", "precision", "recall", "f1", "balanced_accuracy"), strict=True):
        col.metric(key.replace("_", " ").capitalize(), f"{numbers[key]:.3f}")
    y_pred = np.where(pred.proba[:, 1] >= threshold, positive, pred.classes[0])
    st.plotly_chart(
        charts.confusion_matrix_figure(confusion_frame(pred.y, y_pred, pred.classes)), key="results_threshold_confusion"
    )
    st.caption(
        f"At {threshold:.2f}: {int(numbers['tp'])} true positives, {int(numbers['fp'])} false alarms, {int(numbers['fn'])} missed, {int(numbers['tn'])} true negatives."
    )


def _learning_curve(model: TrainedModel, request: TrainingRequest) -> None:
    if model.history:
        st.plotly_chart(charts.training_curves(model.history, best_epoch=model.best_epoch), key="results_keras_curve")
        return
    if not st.toggle(
        "Compute the learning curve (refits the model 15 times on parts of the training rows)", key="results_lc_on"
    ):
        return
    run = next(r for r in request.models if r.name == model.name)
    X, y = request.xy(request.split.train)
    with st.spinner("Refitting on growing parts of the training rows…"):
        table = state.memo(
            "results_lc",
            (id(state.job()), model.name),
            lambda: results.learning_curve_table(
                lambda: build_model_pipeline(request, run), X, y, model.task, seed=request.seed
            ),
        )
    st.plotly_chart(charts.learning_curve_figure(table, primary_metric(model.task).label), key="results_lc")
    st.caption(
        "If the two lines stay far apart as rows grow, more data or a simpler model may help; if both are low, the model is too simple."
    )


def _clusters(model: TrainedModel, request: TrainingRequest) -> None:
    Xt, labels, X = state.memo(
        "results_clusters", (id(state.job()), model.name), lambda: results.cluster_assignments(model, request)
    )
    view = st.segmented_control("Chart", CLUSTER_VIEWS, default=CLUSTER_VIEWS[0], key="results_cluster_view")
    if view == "Clusters (PCA)":
        st.plotly_chart(charts.clusters_figure(results.pca_projection(Xt, labels, request.seed)), key="results_pca")
    elif view == "Cluster profiles":
        st.plotly_chart(charts.cluster_profile_figure(results.cluster_profiles(X, labels)), key="results_profiles")
    else:
        st.dataframe(cluster_sizes(labels), hide_index=True)


def compare(trained: list[TrainedModel], request: TrainingRequest) -> None:
    """Several models at once: scores, overlaid curves, time vs score."""
    task = request.task
    metric = primary_metric(task)
    table = results.compare_table(trained, task)
    st.plotly_chart(charts.time_vs_score_figure(table, metric.label), key="results_time_score")
    if task == Task.CLUSTERING or len(trained) < 2:
        return
    names = [m.name for m in trained]
    picked = st.multiselect("Overlay these models", names, default=names[: min(4, len(names))], key="results_overlay")
    chosen = [m for m in trained if m.name in picked]
    preds = {
        m.name: state.memo(
            "results_pred", (id(state.job()), m.name), lambda m=m: results.predictions(m, request, "valid")
        )
        for m in chosen
    }
    if task == Task.REGRESSION:
        frames = {name: results.residuals_frame(p.y, p.y_pred) for name, p in preds.items()}
        st.plotly_chart(charts.residuals_overlay_figure(frames), key="results_overlay_residuals")
        return
    if task == Task.BINARY:
        roc = {
            name: next(iter(results.roc_curves(p.y, p.proba, p.classes).values()))
            for name, p in preds.items()
            if p.proba is not None
        }
        pr = {
            name: next(iter(results.pr_curves(p.y, p.proba, p.classes).values()))
            for name, p in preds.items()
            if p.proba is not None
        }
        left, right = st.columns(2)
        left.plotly_chart(charts.roc_figure(roc, title="ROC curves"), key="results_overlay_roc")
        right.plotly_chart(charts.pr_figure(pr, title="Precision–recall curves"), key="results_overlay_pr")


def final_evaluation(model: TrainedModel, request: TrainingRequest) -> None:
    """Score on the held-out test rows only when asked, and say what that means."""
    if model.task == Task.CLUSTERING:
        st.caption("Clustering has no test score: there is no right answer to check against.")
        return
    log = state.test_log()
    key = (id(state.job()), model.name)
    done = next((entry for entry in log if entry["key"] == key), None)
    st.caption(
        f"The test split ({len(request.split.test):,} rows) was set aside before training. Score it once, for the model you have chosen, to learn how it will do on new data."
    )
    if done is None and st.button(
        f"Score {model.name} on the test split", key="results_test", icon=":material/fact_check:"
    ):
        done = state.log_test(key, model.name, results.test_scores(model, request))
    if done is None:
        return
    st.markdown(f"**Test numbers** for {md_escape(model.name)} — not validation numbers:")
    metrics_row(done["scores"], model.task, where="test")
    log = state.test_log()
    if len(log) > 1:
        st.warning(
            f"You have scored the test split {len(log)} times in this session (for different models or after changing settings). Each look makes the test score a little less honest: choose the model on validation numbers, and use the test score only to report it.",
            icon=":material/visibility:",
        )
