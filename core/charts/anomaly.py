"""Charts of anomaly detection: how the scores spread around the threshold, and how alike the detectors rank rows.

Inputs come from :mod:`core.anomaly` and :mod:`core.anomaly_results`. The scores are binned here, so the
figure stays the same size whatever the rows; model names pass :func:`safe_text`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ACCENT, LAYOUT, MUTED, WARN, finish, safe_text
from core.numbers import format_number

__all__ = ["agreement_figure", "anomaly_score_figure"]

#: Bars of the score histogram.
SCORE_BINS = 40


def anomaly_score_figure(
    scores: np.ndarray, at: float, model_threshold: float | None = None, *, title: str = "Anomaly scores"
) -> go.Figure:
    """Histogram of the scores, rows above the threshold ``at`` in the warning colour, the threshold as a line.

    ``model_threshold`` (the model's own, when the person moved ``at`` away from it) is drawn dashed.
    A bar that straddles the threshold is split into its rows on either side.
    """
    scores = np.asarray(scores, dtype=float)
    scores = scores[np.isfinite(scores)]
    marks = [at] + ([model_threshold] if model_threshold is not None else [])
    low = float(min(scores.min(), *marks)) if len(scores) else float(min(marks))
    high = float(max(scores.max(), *marks)) if len(scores) else float(max(marks))
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, SCORE_BINS + 1)
    above = scores > at
    below_counts, _ = np.histogram(scores[~above], edges)
    above_counts, _ = np.histogram(scores[above], edges)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    fig = go.Figure()
    for counts, colour, name in (
        (below_counts, ACCENT, f"at or below the threshold ({int((~above).sum()):,} rows)"),
        (above_counts, WARN, f"above the threshold ({int(above.sum()):,} rows)"),
    ):
        fig.add_bar(
            x=centres,
            y=counts,
            width=width,
            marker=dict(color=colour),
            name=name,
            hovertemplate="score %{x:.4g}: %{y:,} rows<extra></extra>",
        )
    top = float(max((below_counts + above_counts).max(initial=0), 1))
    fig.add_scatter(
        x=[at, at], y=[0, top], mode="lines", line=dict(color=WARN, width=2), name=f"threshold {format_number(at)}"
    )
    if model_threshold is not None and not np.isclose(model_threshold, at):
        fig.add_scatter(
            x=[model_threshold, model_threshold],
            y=[0, top],
            mode="lines",
            line=dict(color=MUTED, width=2, dash="dash"),
            name=f"the model's threshold {format_number(model_threshold)}",
        )
    fig.update_xaxes(title="anomaly score (higher = more unusual)")
    fig.update_yaxes(title="rows")
    fig.update_layout(**LAYOUT, height=380, title=title, barmode="stack", bargap=0.05)
    return finish(fig)


def agreement_figure(matrix: pd.DataFrame) -> go.Figure:
    """Rank correlation of every pair of detectors' scores (from :func:`core.anomaly.agreement_matrix`)."""
    names = [safe_text(c, 30) for c in matrix.columns]
    z = matrix.to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            text=[[f"{v:.2f}" for v in row] for row in z],
            texttemplate="%{text}",
            zmin=-1,
            zmax=1,
            colorscale="Blues",
            colorbar=dict(title="rank correlation"),
            hovertemplate="%{y} and %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(**LAYOUT, height=320, title="How alike the detectors rank the validation rows")
    return finish(fig)
