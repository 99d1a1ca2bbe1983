"""Charts of results: confusion matrix, ROC/PR, calibration, residuals, learning curves, clusters, comparisons.

Inputs come from :mod:`core.evaluation` and :mod:`core.results`. Curve dicts
are keyed by class label or by model name (to overlay models); every key,
class and column name passes :func:`safe_text`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import (
    ACCENT,
    LAYOUT,
    MUTED,
    WARN,
    colors_for,
    finish,
    is_baseline,
    safe_text,
)

__all__ = [
    "calibration_figure",
    "cluster_profile_figure",
    "clusters_figure",
    "confusion_matrix_figure",
    "learning_curve_figure",
    "overlay_models",
    "pr_figure",
    "predicted_vs_actual_figure",
    "residuals_figure",
    "residuals_overlay_figure",
    "roc_figure",
    "time_vs_score_figure",
]

Curves = dict[Any, tuple[Any, Any, float]]
#: ``{model name: colour}`` of a run (:func:`core.charts.style.model_colors`), so a model looks the same everywhere.
Colors = Mapping[Any, str] | None
_GUESS = dict(color=MUTED, dash="dash")


def confusion_matrix_figure(frame: pd.DataFrame, normalized: bool = False) -> go.Figure:
    """Heatmap of actual (rows) vs predicted (columns) classes, with counts or percentages in the cells."""
    z = frame.to_numpy()
    text = [[f"{v:.0%}" for v in row] for row in z] if normalized else [[f"{int(v):,}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[safe_text(c, 24) for c in frame.columns],
            y=[safe_text(c, 24) for c in frame.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1 if normalized else None,
            colorbar=dict(title="share" if normalized else "rows"),
            hovertemplate="actual %{y}, predicted %{x}: %{text}<extra></extra>",
        )
    )
    size = max(320, min(800, 48 * len(frame) + 160))
    title = "Confusion matrix (share of each actual class)" if normalized else "Confusion matrix (rows)"
    fig.update_layout(**LAYOUT, height=size, title=title)
    fig.update_xaxes(title="predicted", type="category", side="bottom")
    fig.update_yaxes(title="actual", type="category", autorange="reversed")
    return finish(fig)


def _line_colors(keys: list, colors: Colors) -> dict[Any, str]:
    """Each curve's colour: the run's colour of its model; a lone curve of unknown key in the accent colour."""
    if colors is None and len(keys) == 1:
        return {keys[0]: ACCENT}
    return colors_for(keys, colors)


def flat_when_tied(recall: Any, precision: Any) -> tuple[np.ndarray, np.ndarray]:
    """A precision-recall curve of one threshold (every row the same score, like a constant baseline) as
    the flat line at its precision when every row is flagged: the positive rate.

    Rows that share one score are in no order, so flagging more of them finds positives at that rate at
    every recall; the two points scikit-learn returns would draw a slope from (1, rate) to (0, 1) instead.
    """
    recall, precision = np.asarray(recall, dtype=float), np.asarray(precision, dtype=float)
    if len(recall) > 2 or len(recall) == 0:
        return recall, precision
    rate = float(precision[int(np.argmax(recall))])
    return np.array([0.0, 1.0]), np.array([rate, rate])


def _curve_traces(curves: Curves, score_name: str, colors: Colors, *, precision_recall: bool = False) -> list:
    """One line per key, named with its area score, in its model's colour."""
    line_colors = _line_colors(list(curves), colors)
    traces = []
    for key, (xs, ys, area) in curves.items():
        if precision_recall:
            xs, ys = flat_when_tied(xs, ys)
        traces.append(
            go.Scatter(
                x=np.asarray(xs),
                y=np.asarray(ys),
                mode="lines",
                name=f"{safe_text(key, 30)} ({score_name} {area:.3f})",
                line=dict(color=line_colors[key]),
            )
        )
    return traces


def roc_figure(curves: Curves, title: str = "ROC curve", colors: Colors = None) -> go.Figure:
    """ROC curves ``{class or model: (fpr, tpr, auc)}`` over the diagonal of guessing (first trace).

    ``colors`` are the run's model colours (:func:`core.charts.style.model_colors`) when keys are models.
    A model whose every row gets the same score (a constant baseline) lies on the diagonal.
    """
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="guessing", line=_GUESS, hoverinfo="skip")
    fig.add_traces(_curve_traces(curves, "AUC", colors))
    fig.update_xaxes(title="false positive rate (share of negatives flagged)", range=[0, 1])
    fig.update_yaxes(title="true positive rate (share of positives found)", range=[0, 1.02])
    fig.update_layout(**LAYOUT, height=400, title=safe_text(title, 80))
    return finish(fig)


def pr_figure(
    curves: Curves, title: str = "Precision-recall curve", baseline: float | None = None, colors: Colors = None
) -> go.Figure:
    """Precision-recall curves ``{class or model: (recall, precision, AP)}``.

    ``baseline`` (the share of positive rows) adds the flat line of guessing first. A curve of one
    threshold (a constant-probability baseline) is drawn flat at the positive rate
    (:func:`flat_when_tied`). ``colors`` as in :func:`roc_figure`.
    """
    fig = go.Figure()
    if baseline is not None:
        fig.add_scatter(x=[0, 1], y=[baseline, baseline], mode="lines", name="guessing", line=_GUESS)
    fig.add_traces(_curve_traces(curves, "AP", colors, precision_recall=True))
    fig.update_xaxes(title="recall (share of positives found)", range=[0, 1])
    fig.update_yaxes(title="precision (share of flagged rows that are positive)", range=[0, 1.02])
    fig.update_layout(**LAYOUT, height=400, title=safe_text(title, 80))
    return finish(fig)


def calibration_figure(
    tables: pd.DataFrame | dict[Any, pd.DataFrame],
    *,
    x_title: str = "predicted probability",
    title: str = "Calibration: do predicted probabilities match reality?",
    colors: Colors = None,
) -> go.Figure:
    """Observed share vs mean predicted probability per bin, over the diagonal of perfect calibration.

    ``tables`` is one :func:`core.results.calibration_table` or a dict of them
    keyed by model name; for multiclass tables pass
    ``x_title="confidence (highest probability)"``; ``colors`` as in :func:`roc_figure`.
    """
    tables = tables if isinstance(tables, dict) else {"model": tables}
    line_colors = _line_colors(list(tables), colors)
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=_GUESS, hoverinfo="skip")
    for key, table in tables.items():
        fig.add_scatter(
            x=table["predicted"],
            y=table["observed"],
            mode="lines+markers",
            name=safe_text(key, 30),
            line=dict(color=line_colors[key]),
            customdata=table["rows"],
            hovertemplate="predicted %{x:.2f}, observed %{y:.2f} (%{customdata:,} rows)<extra></extra>",
        )
    fig.update_xaxes(title=x_title, range=[0, 1])
    fig.update_yaxes(title="observed share", range=[0, 1.02])
    fig.update_layout(**LAYOUT, height=400, title=title, showlegend=len(tables) > 1)
    return finish(fig)


def residuals_figure(frame: pd.DataFrame) -> go.Figure:
    """Residual (actual − predicted) against the prediction, with the zero line."""
    fig = go.Figure()
    fig.add_scattergl(
        x=frame["predicted"],
        y=frame["residual"],
        mode="markers",
        marker=dict(color=ACCENT, opacity=0.5, size=5),
        name="rows",
        hovertemplate="predicted %{x:.4g}, residual %{y:.4g}<extra></extra>",
    )
    fig.add_hline(y=0, line=dict(color=MUTED, dash="dash"))
    fig.update_xaxes(title="predicted")
    fig.update_yaxes(title="residual (actual − predicted)")
    fig.update_layout(**LAYOUT, height=380, title="Errors against predictions", showlegend=False)
    return finish(fig)


def predicted_vs_actual_figure(frame: pd.DataFrame) -> go.Figure:
    """Predicted against actual values, with the identity line of perfect predictions."""
    low = float(np.nanmin([frame["actual"].min(), frame["predicted"].min()])) if len(frame) else 0.0
    high = float(np.nanmax([frame["actual"].max(), frame["predicted"].max()])) if len(frame) else 1.0
    fig = go.Figure()
    fig.add_scatter(x=[low, high], y=[low, high], mode="lines", name="perfect prediction", line=_GUESS)
    fig.add_scattergl(
        x=frame["actual"],
        y=frame["predicted"],
        mode="markers",
        marker=dict(color=ACCENT, opacity=0.5, size=5),
        name="rows",
        hovertemplate="actual %{x:.4g}, predicted %{y:.4g}<extra></extra>",
    )
    fig.update_xaxes(title="actual")
    fig.update_yaxes(title="predicted")
    fig.update_layout(**LAYOUT, height=380, title="Predicted vs actual")
    return finish(fig)


def _band(fig: go.Figure, x, mean, std, name: str, color: str, fill: str) -> None:
    """A mean line with a ±1 std band (the band is one closed polygon trace)."""
    x, mean, std = np.asarray(x, float), np.asarray(mean, float), np.nan_to_num(np.asarray(std, float))
    fig.add_scatter(
        x=np.concatenate([x, x[::-1]]),
        y=np.concatenate([mean + std, (mean - std)[::-1]]),
        fill="toself",
        fillcolor=fill,
        line=dict(width=0),
        hoverinfo="skip",
        showlegend=False,
        name=f"{name} ± 1 std",
    )
    fig.add_scatter(x=x, y=mean, mode="lines+markers", name=name, line=dict(color=color))


def learning_curve_figure(table: pd.DataFrame, metric_label: str) -> go.Figure:
    """Training and cross-validated scores against training rows, each with a ±1 std band."""
    fig = go.Figure()
    _band(fig, table["rows"], table["train_mean"], table["train_std"], "training", ACCENT, "rgba(76,110,245,0.15)")
    _band(fig, table["rows"], table["valid_mean"], table["valid_std"], "validation", WARN, "rgba(240,140,0,0.15)")
    fig.update_xaxes(title="training rows")
    fig.update_yaxes(title=safe_text(metric_label, 40))
    fig.update_layout(**LAYOUT, height=360, title="Learning curve: would more rows help?")
    return finish(fig)


def _cluster_key(name: str) -> tuple[bool, float, str]:
    try:
        return name == "noise", float(name), name
    except ValueError:
        return name == "noise", float("inf"), name


def clusters_figure(pca_frame: pd.DataFrame) -> go.Figure:
    """Rows on the first two principal components, one colour (trace) per cluster; noise muted."""
    fig = go.Figure()
    for name in sorted(pd.unique(pca_frame["cluster"].astype(str)), key=_cluster_key):
        part = pca_frame[pca_frame["cluster"].astype(str) == name]
        fig.add_scattergl(
            x=part["pc1"],
            y=part["pc2"],
            mode="markers",
            name=f"cluster {safe_text(name, 20)}" if name != "noise" else "noise",
            marker=dict(size=5, opacity=0.6, color=MUTED if name == "noise" else None),
        )
    explained = pca_frame.attrs.get("explained_variance", [])
    titles = [f"PC{i + 1}" + (f" ({explained[i]:.0%} of variance)" if i < len(explained) else "") for i in (0, 1)]
    fig.update_xaxes(title=titles[0])
    fig.update_yaxes(title=titles[1])
    fig.update_layout(**LAYOUT, height=420, title="Clusters on the two main directions of the data")
    return finish(fig)


def cluster_profile_figure(profiles: pd.DataFrame, *, top: int = 30) -> go.Figure:
    """Heatmaps of :func:`core.results.cluster_profiles`: numeric means (in std from the overall mean) and,
    beside them, the share of each cluster's most frequent category. At most ``top`` columns per kind.
    """
    from plotly.subplots import make_subplots

    kinds = [k for k in ("numeric", "categorical") if (profiles["kind"] == k).any()]
    titles = {"numeric": "mean vs all rows (std)", "categorical": "share of the most common value"}
    fig = make_subplots(
        rows=1,
        cols=max(1, len(kinds)),
        subplot_titles=[titles[k] for k in kinds],
        shared_yaxes=True,
        horizontal_spacing=0.15,
    )
    clusters = list(pd.unique(profiles["cluster"]))
    for col, kind in enumerate(kinds, start=1):
        part = profiles[profiles["kind"] == kind]
        values = part.pivot(index="cluster", columns="column", values="value").reindex(clusters)
        details = part.pivot(index="cluster", columns="column", values="detail").reindex(clusters)
        spread = values.max() - values.min()  # columns where clusters differ most first
        columns = list(spread.sort_values(ascending=False, kind="stable").index[:top])
        z = values[columns].to_numpy(dtype=float)
        limit = max(1.0, float(np.nanmax(np.abs(z)))) if kind == "numeric" and np.isfinite(z).any() else 1.0
        fig.add_heatmap(
            z=z,
            x=[safe_text(c, 24) for c in columns],
            y=[f"cluster {safe_text(c, 20)}" if c != "noise" else "noise" for c in clusters],
            text=[[safe_text(d, 80) for d in row] for row in details[columns].to_numpy()],
            hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
            colorscale="RdBu_r" if kind == "numeric" else "Blues",
            zmin=-limit if kind == "numeric" else 0,
            zmax=limit,
            colorbar=dict(title="std" if kind == "numeric" else "share", x=1.0 if col == len(kinds) else 0.43),
            row=1,
            col=col,
        )
        fig.update_xaxes(type="category", row=1, col=col)
    fig.update_yaxes(type="category", autorange="reversed")
    height = max(280, min(800, 40 * len(clusters) + 160))
    fig.update_layout(**LAYOUT, height=height, title="What sets each cluster apart")
    return finish(fig)


def _seconds_label(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds >= 1 else f"{seconds:g} s"


def _label_positions(log_x: np.ndarray, low: float, high: float) -> list[str]:
    """Text positions that keep model names apart and inside the chart.

    Points in time order alternate above and below their marker; names near the
    left or right edge lean inwards, so no label runs past the plot.
    """
    positions = [""] * len(log_x)
    edge = 0.2 * (high - low)
    for rank, i in enumerate(np.argsort(log_x, kind="stable")):
        vertical = "top" if rank % 2 == 0 else "bottom"
        side = "right" if log_x[i] - low < edge else "left" if high - log_x[i] < edge else "center"
        positions[i] = f"{vertical} {side}"
    return positions


def time_vs_score_figure(compare_table: pd.DataFrame, metric_label: str, colors: Colors = None) -> go.Figure:
    """Validation score against training time per model (log time axis), each in its colour; the baseline grey.

    The time axis has one tick per power of ten, labelled in seconds ("0.1 s",
    "1 s", "10 s"); both axes are padded and labels lean away from the edges
    and are never clipped, so every model's name stays readable (it names each
    point, so there is no legend). ``colors`` as in :func:`roc_figure`.
    """
    point_colors = colors_for(compare_table["model"], colors)
    fig = go.Figure()
    seconds = compare_table["seconds"].clip(lower=1e-3).to_numpy(dtype=float)
    log_x = np.log10(seconds) if len(seconds) else np.zeros(0)
    low = float(np.floor(log_x.min())) if len(log_x) else -1.0
    high = float(np.ceil(log_x.max())) if len(log_x) else 1.0
    high = max(high, low + 1)
    positions = np.asarray(_label_positions(log_x, low, high), dtype=object)
    for baseline, name in ((False, "models"), (True, "baseline")):
        mask = (compare_table["baseline"] == baseline).to_numpy()
        part = compare_table[mask]
        if part.empty:
            continue
        shades = [point_colors[m] for m in part["model"]]
        fig.add_scatter(
            x=seconds[mask],
            y=part["score"],
            mode="markers+text",
            name=name,
            text=[safe_text(m, 30) for m in part["model"]],
            textposition=list(positions[mask]),
            cliponaxis=False,
            marker=dict(color=shades[0] if baseline else shades, size=11),
            hovertemplate="%{text}: %{y:.4f} in %{x:.3g} s<extra></extra>",
        )
    decades = np.arange(low, high + 1)
    fig.update_xaxes(
        title="training time (log scale)",
        type="log",
        range=[low - 0.15, high + 0.15],
        tickmode="array",
        tickvals=[10**d for d in decades],
        ticktext=[_seconds_label(10**d) for d in decades],
    )
    scores = compare_table["score"].to_numpy(dtype=float)
    if len(scores):
        pad = max(0.15 * float(scores.max() - scores.min()), 0.02)
        fig.update_yaxes(range=[float(scores.min()) - pad, float(scores.max()) + pad])
    fig.update_yaxes(title=f"validation {safe_text(metric_label, 40)}")
    fig.update_layout(
        **{**LAYOUT, "margin": dict(l=10, r=40, t=60, b=10)},
        height=400,
        title="Score against training time",
        showlegend=False,
    )
    return finish(fig)


def residuals_overlay_figure(frames: dict[Any, pd.DataFrame], colors: Colors = None) -> go.Figure:
    """Overlaid histograms of residuals (actual − predicted), one per model in its colour, with the zero line."""
    bar_colors = colors_for(list(frames), colors)
    fig = go.Figure()
    for key, frame in frames.items():
        fig.add_histogram(
            x=frame["residual"], name=safe_text(key, 30), opacity=0.55, nbinsx=40, marker_color=bar_colors[key]
        )
    fig.add_vline(x=0, line=dict(color=MUTED, dash="dash"))
    fig.update_xaxes(title="residual (actual − predicted)")
    fig.update_yaxes(title="rows")
    fig.update_layout(**LAYOUT, barmode="overlay", height=360, title="Errors by model")
    return finish(fig)


def overlay_models(
    order: Sequence[Any], chosen: Any = None, picked: Sequence[Any] | None = None, limit: int = 4
) -> list[Any]:
    """The models a comparison overlays, in the run's ``order``: always with the ``chosen`` one.

    ``picked`` are the person's picks; without them, the first ``limit`` models of the run (the
    baseline counted), the last of them giving way to the chosen model when it is not among them.
    """
    if picked is None:
        shown = list(order[:limit])
        if chosen is not None and chosen in order and chosen not in shown:
            others = [m for m in shown if not is_baseline(m)] or shown
            if len(shown) >= limit and others:
                shown.remove(others[-1])
            shown.append(chosen)
    else:
        shown = [*picked, *([chosen] if chosen is not None and chosen in order else [])]
    wanted = set(shown)
    return [m for m in order if m in wanted]
