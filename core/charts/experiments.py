"""Charts of tracked experiments: the metrics of selected runs side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.charts.style import LAYOUT, colors_for, finish, safe_text

__all__ = ["run_metrics_chart"]


def run_metrics_chart(
    metrics: pd.DataFrame, title: str = "Metrics of the selected runs", colors: Mapping[Any, str] | None = None
) -> go.Figure:
    """Grouped bars: one group per metric (the rows), one bar per run (the columns), each run in its colour.

    ``metrics`` is shaped like the second frame of :func:`core.tracking.compare_runs`
    (index: metric names, columns: run labels); missing values leave a gap. ``colors`` maps run labels
    to colours; without it, runs take the model palette in column order (a baseline's run grey).
    """
    bar_colors = colors_for(metrics.columns, colors)
    fig = go.Figure()
    names = [safe_text(m, 40) for m in metrics.index]
    for run in metrics.columns:
        values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in metrics[run]]
        fig.add_bar(
            name=safe_text(run, 40),
            x=names,
            y=values,
            marker_color=bar_colors[run],
            hovertemplate="%{x}: %{y:.4g}<extra>" + safe_text(run, 40) + "</extra>",
        )
    fig.update_layout(**LAYOUT, barmode="group", height=360, title=title, legend_title_text="run")
    fig.update_yaxes(title="value")
    return finish(fig)
