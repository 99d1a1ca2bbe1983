"""core.charts.results: figures as objects (trace count, axis titles, data) and escaped labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import charts, results
from core import evaluation as ev
from core.charts import results as chart_module

TAG = "<b>x</b>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;"
CLASSES = ["a", TAG, "c"]
Y = np.array(["a", TAG, "c", "a", TAG, "c"])
PROBA = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.2, 0.6, 0.2],
        [0.1, 0.3, 0.6],
        [0.5, 0.4, 0.1],
        [0.3, 0.4, 0.3],
        [0.2, 0.2, 0.6],
    ]
)


def test_every_chart_is_exported_from_the_package():
    for name in chart_module.__all__:
        assert getattr(charts, name) is getattr(chart_module, name)


def test_confusion_heatmap_shows_the_frame_with_escaped_labels():
    frame = ev.confusion_frame(Y, np.array(["a", TAG, "a", "a", "c", "c"]), CLASSES)
    fig = charts.confusion_matrix_figure(frame)
    heat = fig.data[0]
    assert len(fig.data) == 1 and heat.type == "heatmap"
    assert np.array_equal(np.asarray(heat.z), frame.to_numpy())
    assert list(heat.x) == ["a", ESCAPED, "c"] and list(heat.y) == ["a", ESCAPED, "c"]
    assert heat.text[0][0] == "2"
    assert fig.layout.xaxis.title.text == "predicted" and fig.layout.yaxis.title.text == "actual"
    shares = charts.confusion_matrix_figure(ev.confusion_frame(Y, Y, CLASSES, normalize=True), normalized=True)
    assert shares.data[0].text[0][0] == "100%" and shares.data[0].zmax == 1


def test_roc_has_the_diagonal_plus_one_trace_per_class():
    curves = results.roc_curves(Y, PROBA, CLASSES)
    fig = charts.roc_figure(curves)
    assert len(fig.data) == 1 + 3
    assert fig.data[0].name == "guessing" and list(fig.data[0].x) == [0, 1] and list(fig.data[0].y) == [0, 1]
    names = [t.name for t in fig.data[1:]]
    assert any(n.startswith(ESCAPED + " (AUC") for n in names) and not any(TAG in n for n in names)
    assert "false positive rate" in fig.layout.xaxis.title.text
    assert "true positive rate" in fig.layout.yaxis.title.text
    fpr, tpr, _ = curves["a"]
    assert list(fig.data[1].x) == list(fpr) and list(fig.data[1].y) == list(tpr)


def test_roc_overlays_models_keyed_by_name():
    binary = results.roc_curves(
        np.array([0, 1, 0, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]), [0, 1]
    )
    fig = charts.roc_figure({"Forest": binary[1], "Logistic": binary[1]}, title="Models compared")
    assert [t.name for t in fig.data[1:]] == ["Forest (AUC 1.000)", "Logistic (AUC 1.000)"]
    assert fig.layout.title.text == "Models compared"


def test_pr_figure_with_and_without_the_guessing_line():
    curves = results.pr_curves(Y, PROBA, CLASSES)
    assert len(charts.pr_figure(curves).data) == 3
    fig = charts.pr_figure(curves, baseline=1 / 3)
    assert len(fig.data) == 4 and list(fig.data[0].y) == [1 / 3, 1 / 3]
    assert fig.layout.xaxis.title.text.startswith("recall") and fig.layout.yaxis.title.text.startswith("precision")
    assert "(AP " in fig.data[1].name


def test_calibration_figure_one_model_or_several():
    table = results.calibration_table(Y, PROBA, CLASSES, bins=5)
    fig = charts.calibration_figure(table, x_title="confidence (highest probability)")
    assert len(fig.data) == 2 and fig.data[0].name == "perfectly calibrated"
    assert list(fig.data[1].x) == table["predicted"].tolist() and list(fig.data[1].y) == table["observed"].tolist()
    assert fig.layout.xaxis.title.text == "confidence (highest probability)"
    assert len(charts.calibration_figure({"A": table, TAG: table}).data) == 3
    assert charts.calibration_figure({"A": table, TAG: table}).data[2].name == ESCAPED


def test_residual_and_predicted_vs_actual_figures():
    frame = results.residuals_frame(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]))
    fig = charts.residuals_figure(frame)
    assert len(fig.data) == 1 and list(fig.data[0].y) == [-0.5, 0.0, 1.0]
    assert fig.layout.shapes[0].y0 == 0 and fig.layout.shapes[0].y1 == 0  # the zero line
    assert fig.layout.xaxis.title.text == "predicted" and "residual" in fig.layout.yaxis.title.text
    pva = charts.predicted_vs_actual_figure(frame)
    assert len(pva.data) == 2 and list(pva.data[0].x) == [1.0, 4.0] and list(pva.data[0].y) == [1.0, 4.0]
    assert pva.layout.xaxis.title.text == "actual" and pva.layout.yaxis.title.text == "predicted"


def test_learning_curve_figure_draws_means_with_std_bands():
    table = pd.DataFrame(
        {
            "rows": [10, 20, 40],
            "train_mean": [1.0, 0.95, 0.9],
            "train_std": [0.0, 0.01, 0.02],
            "valid_mean": [0.6, 0.7, 0.8],
            "valid_std": [0.1, 0.05, 0.02],
        }
    )
    fig = charts.learning_curve_figure(table, "ROC-AUC")
    assert len(fig.data) == 4
    lines = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in lines] == ["training", "validation"]
    assert list(lines[1].y) == [0.6, 0.7, 0.8]
    band = fig.data[2]
    assert band.fill == "toself" and list(band.y) == pytest.approx([0.7, 0.75, 0.82, 0.78, 0.65, 0.5])
    assert fig.layout.xaxis.title.text == "training rows" and fig.layout.yaxis.title.text == "ROC-AUC"


def test_clusters_figure_one_trace_per_cluster_with_noise_muted():
    rng = np.random.default_rng(0)
    frame = results.pca_projection(rng.normal(size=(30, 3)), np.array([2, 10, -1] * 10))
    fig = charts.clusters_figure(frame)
    assert [t.name for t in fig.data] == ["cluster 2", "cluster 10", "noise"]
    assert fig.data[2].marker.color == charts.MUTED
    assert sum(len(t.x) for t in fig.data) == 30
    assert fig.layout.xaxis.title.text.startswith("PC1 (") and "variance" in fig.layout.yaxis.title.text


def test_cluster_profile_heatmaps_numeric_and_categorical():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0], TAG: ["r", "r", "b", TAG]})
    profiles = results.cluster_profiles(X, np.array([0, 0, 1, 1]))
    fig = charts.cluster_profile_figure(profiles)
    assert len(fig.data) == 2 and all(t.type == "heatmap" for t in fig.data)
    numeric = profiles[profiles["kind"] == "numeric"]["value"].tolist()
    assert np.asarray(fig.data[0].z).ravel().tolist() == pytest.approx(numeric)
    assert list(fig.data[1].x) == [ESCAPED] and list(fig.data[1].y) == ["cluster 0", "cluster 1"]
    assert all(TAG not in cell for row in fig.data[1].text for cell in row)
    only_numeric = charts.cluster_profile_figure(profiles[profiles["kind"] == "numeric"])
    assert len(only_numeric.data) == 1


def test_time_vs_score_scatter_mutes_the_baseline():
    table = pd.DataFrame(
        {"model": ["Baseline", "Forest", TAG], "score": [0.5, 0.9, 0.8], "seconds": [0.0, 2.0, 0.5]}
    ).assign(baseline=[True, False, False])
    fig = charts.time_vs_score_figure(table, "ROC-AUC")
    assert [t.name for t in fig.data] == ["models", "baseline"]
    assert list(fig.data[0].text) == ["Forest", ESCAPED] and list(fig.data[0].y) == [0.9, 0.8]
    assert fig.data[1].marker.color == charts.MUTED and fig.data[1].x[0] > 0  # log axis: no zero
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.title.text == "validation ROC-AUC"


def test_time_vs_score_labels_stay_inside_and_time_ticks_are_whole_decades():
    table = pd.DataFrame(
        {
            "model": ["Baseline", "Logistic regression", "Forest", "Neural network (Keras)"],
            "score": [0.5, 0.9, 0.92, 0.91],
            "seconds": [0.002, 0.3, 2.0, 40.0],
            "baseline": [True, False, False, False],
        }
    )
    fig = charts.time_vs_score_figure(table, "ROC-AUC")
    axis = fig.layout.xaxis
    assert list(axis.tickvals) == [0.001, 0.01, 0.1, 1, 10, 100]  # one tick per power of ten
    assert list(axis.ticktext) == ["0.001 s", "0.01 s", "0.1 s", "1 s", "10 s", "100 s"]
    assert axis.range[0] < -3 and axis.range[1] > 2  # log units: the outer points are not on the edge
    models, baseline = fig.data
    assert models.cliponaxis is False and baseline.cliponaxis is False
    assert baseline.textposition == ("top right",)  # the leftmost name leans right, into the chart
    assert models.textposition[-1].endswith("left")  # the rightmost leans left
    assert len({p.split()[0] for p in models.textposition}) == 2  # neighbours alternate above/below
    low, high = fig.layout.yaxis.range
    assert low < 0.5 and high > 0.92  # room above and below the points for their names
    assert fig.layout.margin.t >= 40 and fig.layout.margin.r >= 30
    one = charts.time_vs_score_figure(table.iloc[[1]], "ROC-AUC")
    assert len(one.layout.xaxis.tickvals) >= 2  # a single model still gets a readable axis


def test_residuals_overlay_one_histogram_per_model():
    frames = {
        "Ridge": results.residuals_frame(np.arange(5.0), np.arange(5.0) + 1),
        TAG: results.residuals_frame(np.arange(5.0), np.arange(5.0)),
    }
    fig = charts.residuals_overlay_figure(frames)
    assert [t.name for t in fig.data] == ["Ridge", ESCAPED]
    assert list(fig.data[0].x) == [-1.0] * 5 and fig.layout.barmode == "overlay"
    assert "residual" in fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "rows"
