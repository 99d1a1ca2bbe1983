"""Charts of the data: distributions, missing values, correlations, target, cleaning."""

from __future__ import annotations

import itertools

import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ACCENT, LAYOUT, MUTED, WARN, finish, safe_text
from core.limits import CHART_CATEGORIES, group_rare, other_label
from core.profiling import ColumnProfile, Profile
from core.target import Task

__all__ = ["before_after", "column_distribution", "correlation_heatmap", "missing_values", "target_distribution"]


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
    fig.update_layout(**LAYOUT, height=height, showlegend=False, title=None)
    fig.update_layout(margin=dict(l=4, r=4, t=4, b=4))
    return finish(fig)


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
    fig.update_layout(**LAYOUT, height=max(200, 24 * len(cols) + 80), title="Missing values per column")
    fig.update_xaxes(title="% of rows missing", range=[0, 100])
    return finish(fig)


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
    fig.update_layout(**LAYOUT, height=size, title="Correlation between numeric columns")
    fig.update_yaxes(autorange="reversed")
    return finish(fig)


def target_distribution(values: pd.Series, task: Task, *, max_classes: int = CHART_CATEGORIES) -> go.Figure:
    """Class counts (classification; beyond ``max_classes`` the rarest as one "other" bar) or a histogram."""
    name = safe_text(values.name, 40)
    fig = go.Figure()
    present = values.dropna()
    if task.is_classification:
        counts = group_rare(present, max_classes).value_counts()
        total = int(present.nunique())
        other = other_label(total - len(counts) + 1) if total > len(counts) else None
        if other is not None:  # the group goes last, whatever its size
            counts = pd.concat([counts.drop(other), counts[[other]]])
        shares = (counts / counts.sum() * 100).round(1)
        fig.add_bar(
            x=[safe_text(k, 24) for k in counts.index],
            y=counts.to_numpy(),
            marker_color=[MUTED if k == other else WARN if s < 20 else ACCENT for k, s in shares.items()],
            text=[f"{s:g}%" for s in shares],
            textposition="outside",
            hovertemplate="%{x}: %{y:,} rows<extra></extra>",
        )
        fig.update_yaxes(title="rows")
        title = f"Classes of {name}" + (f" ({len(counts) - 1} most frequent of {total:,})" if other else "")
    else:
        fig.add_histogram(x=present.to_numpy(), nbinsx=40, marker_color=ACCENT)
        fig.update_yaxes(title="rows")
        fig.update_xaxes(title=name)
        title = f"Distribution of {name}"
    fig.update_layout(**LAYOUT, height=320, title=title, showlegend=False)
    return finish(fig)


def before_after(rows: tuple[int, int], columns: tuple[int, int], missing: tuple[int, int]) -> go.Figure:
    """Grouped bars comparing rows, columns and missing cells before/after cleaning."""
    labels = ["rows", "columns", "missing cells"]
    fig = go.Figure()
    fig.add_bar(name="before", x=labels, y=[rows[0], columns[0], missing[0]], marker_color=MUTED)
    fig.add_bar(name="after", x=labels, y=[rows[1], columns[1], missing[1]], marker_color=ACCENT)
    fig.update_layout(**LAYOUT, barmode="group", height=260, title="Before and after the plan")
    fig.update_yaxes(type="log", title="count (log scale)")
    return finish(fig)
