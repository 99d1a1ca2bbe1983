"""Pure functions from computed results to plotly figures.

Nothing here computes statistics from raw data beyond what a chart needs to
bin or order; the inputs are profiles, frames and arrays from other ``core``
modules. Every string that came from the person's file passes through
:func:`safe_text`, because plotly renders a subset of HTML in labels.
"""

from __future__ import annotations

import html
import itertools

import pandas as pd
import plotly.graph_objects as go

from core.profiling import ColumnProfile, Profile
from core.target import Task

ACCENT = "#4C6EF5"
MUTED = "#ADB5BD"
WARN = "#F08C00"
_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10))


def safe_text(value: object, limit: int = 60) -> str:
    """Escape user text for plotly labels (which render some HTML) and shorten it."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def column_distribution(col: ColumnProfile, *, height: int = 160) -> go.Figure:
    """Small histogram (numbers, dates) or bar chart of top values (labels)."""
    fig = go.Figure()
    if col.histogram is not None and col.top_values is None:
        edges, counts = col.histogram
        centers = edges[:-1] if isinstance(edges[0], str) else [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        fig.add_bar(x=centers, y=counts, marker_color=ACCENT, name="rows")
        fig.update_layout(bargap=0.05)
    elif col.top_values:
        labels = [safe_text(k, 24) for k, _ in col.top_values]
        fig.add_bar(x=[v for _, v in col.top_values], y=labels, orientation="h", marker_color=ACCENT, name="rows")
        fig.update_yaxes(autorange="reversed")
    fig.update_layout(**_LAYOUT, height=height, showlegend=False, title=None)
    fig.update_layout(margin=dict(l=4, r=4, t=4, b=4))
    return fig


def missing_values(profile: Profile, *, top: int = 40) -> go.Figure:
    """Share of missing values per column, largest first."""
    cols = sorted((c for c in profile.columns if c.missing), key=lambda c: c.missing_share, reverse=True)[:top]
    fig = go.Figure()
    fig.add_bar(
        x=[round(100 * c.missing_share, 2) for c in cols],
        y=[safe_text(c.name, 30) for c in cols],
        orientation="h",
        marker_color=WARN,
        customdata=[c.missing for c in cols],
        hovertemplate="%{y}: %{x:.1f}% missing (%{customdata:,} rows)<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(**_LAYOUT, height=max(200, 24 * len(cols) + 80), title="Missing values per column")
    fig.update_xaxes(title="% of rows missing", range=[0, 100])
    return fig


def correlation_heatmap(corr: pd.DataFrame) -> go.Figure:
    """Pearson correlations between numeric columns, -1 (blue) to +1 (red)."""
    labels = [safe_text(c, 24) for c in corr.columns]
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy().round(3),
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            colorbar=dict(title="r"),
            hovertemplate="%{y} vs %{x}: r = %{z:.2f}<extra></extra>",
        )
    )
    size = max(300, min(800, 28 * len(labels) + 160))
    fig.update_layout(**_LAYOUT, height=size, title="Correlation between numeric columns")
    fig.update_yaxes(autorange="reversed")
    return fig


def target_distribution(values: pd.Series, task: Task, *, max_classes: int = 30) -> go.Figure:
    """Class counts (classification) or a histogram (regression) of the target."""
    name = safe_text(values.name, 40)
    fig = go.Figure()
    present = values.dropna()
    if task.is_classification:
        counts = present.astype(str).value_counts()
        shown = counts.head(max_classes)
        shares = (shown / counts.sum() * 100).round(1)
        fig.add_bar(
            x=[safe_text(k, 24) for k in shown.index],
            y=shown.to_numpy(),
            marker_color=[WARN if s < 20 else ACCENT for s in shares],
            text=[f"{s:g}%" for s in shares],
            textposition="outside",
            hovertemplate="%{x}: %{y:,} rows<extra></extra>",
        )
        fig.update_yaxes(title="rows")
        title = f"Classes of {name}" + (f" (top {max_classes} of {len(counts)})" if len(counts) > max_classes else "")
    else:
        fig.add_histogram(x=present.to_numpy(), nbinsx=40, marker_color=ACCENT)
        fig.update_yaxes(title="rows")
        fig.update_xaxes(title=name)
        title = f"Distribution of {name}"
    fig.update_layout(**_LAYOUT, height=320, title=title, showlegend=False)
    return fig


def before_after(rows: tuple[int, int], columns: tuple[int, int], missing: tuple[int, int]) -> go.Figure:
    """Grouped bars comparing rows, columns and missing cells before/after cleaning."""
    labels = ["rows", "columns", "missing cells"]
    fig = go.Figure()
    fig.add_bar(name="before", x=labels, y=[rows[0], columns[0], missing[0]], marker_color=MUTED)
    fig.add_bar(name="after", x=labels, y=[rows[1], columns[1], missing[1]], marker_color=ACCENT)
    fig.update_layout(**_LAYOUT, barmode="group", height=260, title="Before and after the plan")
    fig.update_yaxes(type="log", title="count (log scale)")
    return fig


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
    fig.update_layout(**_LAYOUT, barmode="stack", height=260, title="Rows in each split")
    fig.update_yaxes(title="rows")
    return fig


def _downsample(values: list[float], limit: int = 400) -> tuple[list[int], list[float]]:
    """1-based x positions and values, thinned to at most ``limit`` points (keeps the last)."""
    xs = list(range(1, len(values) + 1))
    if len(values) <= limit:
        return xs, list(values)
    step = len(values) / limit
    keep = sorted({int(i * step) for i in range(limit)} | {len(values) - 1})
    return [xs[i] for i in keep], [values[i] for i in keep]


def training_curves(
    history: dict[str, list[float]], *, best_epoch: int | None = None, x_title: str = "epoch"
) -> go.Figure:
    """Training vs validation curves per metric (loss and the task's metric), side by side."""
    from plotly.subplots import make_subplots

    bases = [k for k in history if not k.startswith("val_")]
    bases = [b for b in bases if b in ("loss",)] + [b for b in bases if b != "loss"][:1]
    if not bases:
        bases = list(history)[:1]
    fig = make_subplots(rows=1, cols=max(1, len(bases)), subplot_titles=[b.replace("_", " ") for b in bases])
    for col, base in enumerate(bases, start=1):
        for key, name, color, dash in ((base, "training", ACCENT, None), (f"val_{base}", "validation", WARN, "dot")):
            if key in history:
                xs, ys = _downsample(history[key])
                fig.add_scatter(
                    x=xs, y=ys, name=f"{name} {base}", mode="lines", line=dict(color=color, dash=dash), row=1, col=col
                )
        fig.update_xaxes(title=x_title, row=1, col=col)
        if best_epoch:
            fig.add_vline(x=best_epoch, line=dict(color=MUTED, dash="dash"), row=1, col=col)
    if best_epoch:
        fig.add_annotation(
            x=best_epoch, y=1, yref="paper", text=f"best epoch {best_epoch}", showarrow=False, yanchor="bottom"
        )
    fig.update_layout(**_LAYOUT, height=320)
    return fig


def staged_curve(history: dict[str, list[float]], *, label: str) -> go.Figure:
    """Validation score as a staged model grows (trees added stage by stage)."""
    key = next((k for k in history if k.startswith("validation")), None)
    fig = go.Figure()
    if key is not None:
        size_key = next((k for k in history if k in ("n_estimators", "max_iter")), None)
        xs = history[size_key] if size_key else list(range(1, len(history[key]) + 1))
        fig.add_scatter(x=xs, y=history[key], mode="lines+markers", line=dict(color=ACCENT), name=key)
        fig.update_xaxes(title="trees / iterations" if size_key else "stage")
        fig.update_yaxes(title=key)
    fig.update_layout(
        **_LAYOUT, height=300, title=f"{safe_text(label)}: validation score while growing", showlegend=False
    )
    return fig


def leaderboard_chart(table: pd.DataFrame, metric_label: str) -> go.Figure:
    """Horizontal bars of the primary validation metric, best on top."""
    rows = table.dropna(subset=[metric_label]) if metric_label in table.columns else table.iloc[0:0]
    fig = go.Figure()
    fig.add_bar(
        x=rows[metric_label] if len(rows) else [],
        y=[safe_text(m, 40) for m in rows["model"]] if len(rows) else [],
        orientation="h",
        marker_color=[MUTED if str(m).startswith("Baseline") else ACCENT for m in rows["model"]] if len(rows) else [],
        hovertemplate="%{y}: %{x:.4f}<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=f"validation {metric_label}")
    fig.update_layout(**_LAYOUT, height=max(200, 40 * len(rows) + 80), title=f"Validation {metric_label} by model")
    return fig


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
    fig.update_layout(**_LAYOUT, height=300, title="Tuning: best score so far")
    return fig
