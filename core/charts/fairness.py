"""The fairness chart: a model's score in each group of a column, against its score on all rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ACCENT, GOOD, LAYOUT, MUTED, WARN, finish, safe_text

__all__ = ["fairness_figure"]

#: Bar colours of the metrics drawn side by side, in order (the main metric first).
_COLORS = (ACCENT, WARN, GOOD, MUTED)


def fairness_figure(
    table: pd.DataFrame,
    metrics: dict[str, str],
    overall: dict[str, float],
    *,
    column: str,
    split: str = "validation",
) -> go.Figure:
    """Grouped bars: each metric of ``metrics`` (key -> label, the main one first) per group, with a dashed line
    at its value on all rows.

    ``table`` is :attr:`core.fairness.FairnessReport.table` (``group``, ``rows``, ``judged`` and a column per
    metric key). Groups too small to judge are drawn faded and say so on hover. Group names and the column's
    name come from the person's file and pass :func:`safe_text`.
    """
    fig = go.Figure()
    groups = [safe_text(g, 30) for g in table["group"]]
    judged = table["judged"].to_numpy(dtype=bool) if len(table) else np.zeros(0, dtype=bool)
    opacity = np.where(judged, 1.0, 0.35).tolist()
    notes = ["" if ok else " (too few rows to judge)" for ok in judged]
    for index, (key, label) in enumerate(metrics.items()):
        color = _COLORS[index % len(_COLORS)]
        fig.add_bar(
            x=groups,
            y=table[key].astype(float),
            name=label,
            marker=dict(color=color, opacity=opacity),
            customdata=np.column_stack([table["rows"].to_numpy(), notes]) if len(table) else None,
            hovertemplate=f"{label}: %{{y:.4f}}<br>%{{x}}: %{{customdata[0]}} rows%{{customdata[1]}}<extra></extra>",
        )
        value = overall.get(key)
        if value is not None and np.isfinite(value):
            line = dict(color=color, dash="dash", width=1.5)
            fig.add_hline(y=value, line=line)
            # Named in the legend, not written on the plot: a label on the line sat over the bars.
            fig.add_scatter(x=[None], y=[None], mode="lines", line=line, name=f"{label}, all rows: {value:.4f}")
    fig.update_layout(
        **LAYOUT,
        barmode="group",
        height=400,
        title=f"Scores by {safe_text(column, 40)} ({split} rows)",
    )
    fig.update_xaxes(title=safe_text(column, 40), type="category")
    fig.update_yaxes(title="score")
    return finish(fig)
