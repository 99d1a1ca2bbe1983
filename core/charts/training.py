"""Charts of training: split sizes, live curves, staged growth, leaderboard, tuning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ACCENT, LAYOUT, MUTED, WARN, colors_for, finish, safe_text
from core.metrics import METRICS, in_sentence

__all__ = ["downsample", "leaderboard_chart", "split_sizes", "staged_curve", "training_curves", "tuning_curve"]


def split_sizes(summary: pd.DataFrame) -> go.Figure:
    """Rows per split, stacked by class (from ``core.split.split_summary``)."""
    fig = go.Figure()
    for label, part in summary.groupby("class", sort=False):
        fig.add_bar(
            name=safe_text(label, 24),
            x=part["split"],
            y=part["rows"],
            customdata=(part["share"] * 100).round(1),
            hovertemplate="%{x}: %{y:,} rows (%{customdata}% of the split)<extra>" + safe_text(label, 24) + "</extra>",
        )
    fig.update_layout(**LAYOUT, barmode="stack", height=260, title="Rows in each split")
    fig.update_yaxes(title="rows")
    return finish(fig)


def downsample(values: list[float], limit: int = 400) -> tuple[list[int], list[float]]:
    """1-based x positions and values, thinned to at most ``limit`` points (keeps the last)."""
    xs = list(range(1, len(values) + 1))
    if len(values) <= limit:
        return xs, list(values)
    step = len(values) / limit
    keep = sorted({int(i * step) for i in range(limit)} | {len(values) - 1})
    return [xs[i] for i in keep], [values[i] for i in keep]


def training_curves(
    history: dict[str, list[float]],
    *,
    best_epoch: int | None = None,
    x_title: str = "epoch",
    color: str | None = None,
) -> go.Figure:
    """Training vs validation curves per metric (loss and the task's metric), side by side.

    ``color`` is the model's colour in its run (:func:`core.charts.style.model_colors`): both lines take
    it, training solid and validation dotted; without it, training is blue and validation orange.
    """
    from plotly.subplots import make_subplots

    bases = [k for k in history if not k.startswith("val_")]
    bases = [b for b in bases if b in ("loss",)] + [b for b in bases if b != "loss"][:1]
    if not bases:
        bases = list(history)[:1]
    fig = make_subplots(rows=1, cols=max(1, len(bases)), subplot_titles=[b.replace("_", " ") for b in bases])
    for col, base in enumerate(bases, start=1):
        lines = ((base, "training", color or ACCENT, None), (f"val_{base}", "validation", color or WARN, "dot"))
        for key, name, shade, dash in lines:
            if key in history:
                xs, ys = downsample(history[key])
                fig.add_scatter(
                    x=xs, y=ys, name=f"{name} {base}", mode="lines", line=dict(color=shade, dash=dash), row=1, col=col
                )
        fig.update_xaxes(title=x_title, row=1, col=col)
        if best_epoch:
            fig.add_vline(x=best_epoch, line=dict(color=MUTED, dash="dash"), row=1, col=col)
    if best_epoch:  # named in the legend: a note on the plot would sit on a curve or a subplot title
        fig.add_scatter(
            x=[None], y=[None], mode="lines", name=f"best epoch {best_epoch}", line=dict(color=MUTED, dash="dash")
        )
    fig.update_layout(**LAYOUT, height=320)
    return finish(fig)


def staged_curve(history: dict[str, list[float]], *, label: str, color: str | None = None) -> go.Figure:
    """Validation score as a staged model grows (trees added stage by stage), in the model's ``color``."""
    key = next((k for k in history if k.startswith("validation")), None)
    fig = go.Figure()
    if key is not None:
        size_key = next((k for k in history if k in ("n_estimators", "max_iter")), None)
        xs = history[size_key] if size_key else list(range(1, len(history[key]) + 1))
        fig.add_scatter(x=xs, y=history[key], mode="lines+markers", line=dict(color=color or ACCENT), name=key)
        fig.update_xaxes(title="trees / iterations" if size_key else "stage")
        fig.update_yaxes(title=key)
    fig.update_layout(
        **LAYOUT, height=300, title=f"{safe_text(label)}: validation score while growing", showlegend=False
    )
    return finish(fig)


def leaderboard_chart(
    table: pd.DataFrame,
    metric_label: str,
    spread_label: str | None = None,
    colors: Mapping[Any, str] | None = None,
) -> go.Figure:
    """Horizontal bars of the score models are ranked by, best on top, each in its model's colour.

    ``metric_label`` is the leaderboard's column: a validation score, or (with ``spread_label``,
    the column of the folds' spread, drawn as error bars) a cross-validated mean. ``colors`` are the
    run's model colours (:func:`core.charts.style.model_colors`); without them, models take the
    palette in the table's order (the baseline grey either way).
    """
    rows = table.dropna(subset=[metric_label]) if metric_label in table.columns else table.iloc[0:0]
    share = any(m.label == metric_label and m.reads_as == "share" for m in METRICS.values())  # 3.5%, not 0.035
    bar_colors = colors_for(rows["model"] if len(rows) else [], colors)
    spread = spread_label if spread_label is not None and spread_label in rows.columns else None
    fig = go.Figure()
    fig.add_bar(
        x=rows[metric_label] if len(rows) else [],
        y=[safe_text(m, 40) for m in rows["model"]] if len(rows) else [],
        orientation="h",
        marker_color=[bar_colors[m] for m in rows["model"]] if len(rows) else [],
        error_x=dict(type="data", array=rows[spread].fillna(0).tolist(), visible=True)
        if spread and len(rows)
        else None,
        hovertemplate=f"%{{y}}: %{{x:{'.1%' if share else '.4f'}}}<extra></extra>",
    )
    what = metric_label if spread_label is not None else f"validation {in_sentence(metric_label)}"
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=what + (" (± spread over the folds)" if spread else ""), tickformat=".0%" if share else None)
    fig.update_layout(**LAYOUT, height=max(200, 40 * len(rows) + 80), title=f"{what[0].upper()}{what[1:]} by model")
    return finish(fig)


def tuning_curve(scores: list[float], metric_label: str, *, higher_is_better: bool = True) -> go.Figure:
    """Each trial's cross-validated score and the best so far."""
    xs = list(range(1, len(scores) + 1))
    best, running = [], None
    for value in scores:
        if value == value:  # not NaN
            running = value if running is None else (max(running, value) if higher_is_better else min(running, value))
        best.append(running)
    fig = go.Figure()
    fig.add_scatter(x=xs, y=scores, mode="markers", name="trial", marker=dict(color=MUTED, size=8))
    fig.add_scatter(x=xs, y=best, mode="lines", name="best so far", line=dict(color=ACCENT, shape="hv"))
    fig.update_xaxes(title="trial")
    fig.update_yaxes(title=f"cross-validated {metric_label}")
    fig.update_layout(**LAYOUT, height=300, title="Tuning: best score so far")
    return finish(fig)
