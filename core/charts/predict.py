"""Charts of the Predict page."""

from __future__ import annotations

import plotly.graph_objects as go

from core.charts.style import ACCENT, LAYOUT, MUTED, finish, safe_text

__all__ = ["probability_bars"]


def probability_bars(probabilities: dict[str, float], top: int = 10) -> go.Figure:
    """Horizontal bars of class probabilities, the most likely class on top and highlighted."""
    ranked = sorted(probabilities.items(), key=lambda kv: kv[1], reverse=True)[:top]
    labels = [safe_text(str(label), 40) for label, _ in ranked][::-1]
    values = [float(p) for _, p in ranked][::-1]
    colors = [MUTED] * (len(values) - 1) + [ACCENT] if values else []
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=colors,
            text=[f"{v:.1%}" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_xaxes(title="probability", range=[0, 1.15], tickformat=".0%")
    fig.update_yaxes(type="category")
    fig.update_layout(**{**LAYOUT, "margin": {"l": 10, "r": 30, "t": 40, "b": 40}}, height=80 + 32 * len(values))
    fig.update_layout(title="How likely each class is")
    return finish(fig)
