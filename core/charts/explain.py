"""Charts of explanations: SHAP importance, beeswarm, dependence, waterfall, permutation importance.

Every chart speaks in the person's columns and original values (an
:class:`core.explain.Explanation` already holds both); every label from the
person's data passes :func:`safe_text`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ACCENT, LAYOUT, MUTED, WARN, safe_text
from core.explain.importance import strongest_interaction
from core.explain.result import Explanation, format_number, format_value, importance_frame
from core.explain.summaries import as_numbers, binned_curve, column_kind

__all__ = ["beeswarm", "dependence", "importance_bar", "permutation_bar", "token_bar", "value_colors", "waterfall"]

#: Low → high values (blue → red), as SHAP's own plots colour them.
VALUE_COLORS = [[0.0, "#1C7ED6"], [0.5, "#CED4DA"], [1.0, "#E03131"]]
POSITIVE, NEGATIVE = "#E03131", "#1C7ED6"


def _title_output(expl: Explanation) -> str:
    return safe_text(expl.output_name, 60)


def importance_bar(expl: Explanation, top: int = 20) -> go.Figure:
    """Mean |contribution| per column, largest on top; the rest summed into one bar."""
    table = importance_frame(expl)
    shown, rest = table.head(top), table.iloc[top:]
    labels = [safe_text(c, 40) for c in shown["column"]]
    values, shares = list(shown["mean_abs"]), list(shown["share"] * 100)
    if len(rest):
        labels.append(f"{len(rest)} other columns")
        values.append(float(rest["mean_abs"].sum()))
        shares.append(float(rest["share"].sum() * 100))
    fig = go.Figure()
    fig.add_bar(
        x=values,
        y=labels,
        orientation="h",
        marker_color=[ACCENT] * len(shown) + [MUTED] * (len(labels) - len(shown)),
        customdata=np.round(shares, 1),
        hovertemplate="%{y}: ±%{x:.3g} on average (%{customdata}% of the total)<extra></extra>",
        name="mean |contribution|",
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=f"average push on the {_title_output(expl)} (mean |SHAP|)")
    fig.update_layout(
        **LAYOUT,
        height=max(240, 26 * len(labels) + 100),
        title=f"What moves the {_title_output(expl)}",
        showlegend=False,
    )
    return fig


def value_colors(values: pd.Series, contributions: np.ndarray | None = None) -> np.ndarray:
    """Each value's colour position in [0, 1] within its column (NaN for missing).

    Numbers and dates: scaled between the 5th and 95th percentiles. Categories:
    ranked by their mean contribution (when given) or by name, so the colour order means something.
    """
    if column_kind(values) in ("numeric", "date"):
        x = as_numbers(values)
        ok = np.isfinite(x)
        if not ok.any():
            return np.full(len(x), np.nan)
        low, high = np.nanpercentile(x, [5, 95])
        if high <= low:
            low, high = np.nanmin(x), np.nanmax(x)
        span = high - low if high > low else 1.0
        return np.where(ok, np.clip((x - low) / span, 0, 1), np.nan)
    text = values.astype(str).where(values.notna(), None)
    key = pd.Series(contributions if contributions is not None else 0.0, index=values.index)
    order = key.groupby(text).mean().sort_values(kind="stable") if contributions is not None else None
    categories = list(order.index) if order is not None else sorted(text.dropna().unique())
    if len(categories) <= 1:
        return np.where(text.notna(), 0.5, np.nan)
    rank = {c: i / (len(categories) - 1) for i, c in enumerate(categories)}
    return np.asarray([rank.get(v, np.nan) if v is not None else np.nan for v in text], dtype=float)


def _jitter(s: np.ndarray, rng: np.random.Generator, width: float = 0.4) -> np.ndarray:
    """Vertical offsets proportional to how crowded each point's neighbourhood is (a cheap swarm)."""
    if len(s) < 2 or np.ptp(s) == 0:
        return rng.uniform(-width, width, len(s)) * 0.3
    counts, edges = np.histogram(s, bins=40)
    where = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(counts) - 1)
    density = counts[where] / counts.max()
    return rng.uniform(-1, 1, len(s)) * width * np.sqrt(density)


def beeswarm(expl: Explanation, top: int = 15, max_points: int = 2000, seed: int = 0) -> go.Figure:
    """Every row's contribution per column (x), columns by importance (y), coloured by the row's value."""
    columns = list(importance_frame(expl)["column"].head(top))
    rng = np.random.default_rng(seed)
    per_column = max(1, max_points // max(1, len(columns)))
    picked = np.sort(rng.choice(expl.rows, min(expl.rows, per_column), replace=False)) if expl.rows else []
    xs, ys, colors, hover = [], [], [], []
    for position, column in enumerate(columns):
        s = expl.column_values(column)[picked]
        values = expl.data[column].iloc[picked]
        xs.append(s)
        ys.append(position + _jitter(s, rng))
        colors.append(value_colors(values, s))
        hover += [[safe_text(column, 40), safe_text(format_value(v), 40)] for v in values]
    x = np.concatenate(xs) if xs else np.array([])
    y = np.concatenate(ys) if ys else np.array([])
    c = np.concatenate(colors) if colors else np.array([])
    custom = np.asarray(hover, dtype=object).reshape(-1, 2)
    missing = np.isnan(c)
    fig = go.Figure()
    template = "%{customdata[0]} = %{customdata[1]}<br>contribution %{x:+.3g}<extra></extra>"
    fig.add_scatter(
        x=x[~missing],
        y=y[~missing],
        mode="markers",
        name="rows",
        customdata=custom[~missing],
        hovertemplate=template,
        marker=dict(
            color=c[~missing],
            colorscale=VALUE_COLORS,
            cmin=0,
            cmax=1,
            size=5,
            opacity=0.75,
            colorbar=dict(title="value", tickvals=[0, 1], ticktext=["low", "high"], len=0.6),
        ),
    )
    if missing.any():
        fig.add_scatter(
            x=x[missing],
            y=y[missing],
            mode="markers",
            name="missing value",
            customdata=custom[missing],
            hovertemplate=template,
            marker=dict(color=MUTED, size=5, opacity=0.6),
        )
    fig.add_vline(x=0, line=dict(color=MUTED, width=1))
    fig.update_yaxes(
        tickvals=list(range(len(columns))),
        ticktext=[safe_text(c, 40) for c in columns],
        autorange="reversed",
        zeroline=False,
    )
    fig.update_xaxes(title=f"contribution to the {_title_output(expl)}")
    fig.update_layout(
        **LAYOUT,
        height=max(280, 34 * len(columns) + 120),
        title=f"Each row's push on the {_title_output(expl)}",
        showlegend=bool(missing.any()),
    )
    return fig


def dependence(expl: Explanation, column: str, color_by: str | None = None, seed: int = 0) -> go.Figure:
    """A column's value (x) against its contribution (y), coloured by the strongest interacting column."""
    color_by = color_by if color_by is not None else strongest_interaction(expl, column)
    rng = np.random.default_rng(seed)
    s = expl.column_values(column)
    values = expl.data[column]
    kind = column_kind(values)
    color = value_colors(expl.data[color_by], expl.column_values(color_by)) if color_by else None
    hover_color = [safe_text(format_value(v), 30) for v in expl.data[color_by]] if color_by else [""] * len(s)
    custom = np.column_stack([[safe_text(format_value(v), 40) for v in values], hover_color])
    fig = go.Figure()
    marker = dict(size=6, opacity=0.8, color=ACCENT)
    if color is not None:
        marker.update(
            color=np.nan_to_num(color, nan=0.5),
            colorscale=VALUE_COLORS,
            cmin=0,
            cmax=1,
            colorbar=dict(title=safe_text(color_by, 20), tickvals=[0, 1], ticktext=["low", "high"], len=0.6),
        )
    colour_hover = f"<br>{safe_text(color_by, 30)} = %{{customdata[1]}}" if color_by else ""
    template = f"{safe_text(column, 30)} = %{{customdata[0]}}<br>contribution %{{y:+.3g}}{colour_hover}<extra></extra>"
    if kind in ("numeric", "date"):
        x = as_numbers(values)
        shown_x = pd.to_datetime(x * 86_400, unit="s") if kind == "date" else x
        fig.add_scatter(
            x=shown_x, y=s, mode="markers", name="rows", marker=marker, customdata=custom, hovertemplate=template
        )
        centres, means = binned_curve(x, s)
        trend_x = pd.to_datetime(centres * 86_400, unit="s") if kind == "date" else centres
        fig.add_scatter(x=trend_x, y=means, mode="lines", name="average", line=dict(color=WARN, width=3))
        fig.update_xaxes(title=safe_text(column, 40))
    else:
        labels = values.map(format_value).astype(str)
        means = pd.Series(s).groupby(labels.to_numpy()).mean().sort_values()
        codes = labels.map({c: i for i, c in enumerate(means.index)}).to_numpy(dtype=float)
        fig.add_scatter(
            x=codes + rng.uniform(-0.25, 0.25, len(codes)),
            y=s,
            mode="markers",
            name="rows",
            marker=marker,
            customdata=custom,
            hovertemplate=template,
        )
        fig.add_scatter(
            x=list(range(len(means))),
            y=means.to_numpy(),
            mode="markers",
            name="average",
            marker=dict(color=WARN, size=14, symbol="line-ew-open", line=dict(width=3, color=WARN)),
        )
        fig.update_xaxes(
            title=safe_text(column, 40),
            tickvals=list(range(len(means))),
            ticktext=[safe_text(c, 20) for c in means.index],
        )
    fig.add_hline(y=0, line=dict(color=MUTED, width=1))
    fig.update_yaxes(title=f"contribution of {safe_text(column, 30)}")
    fig.update_layout(
        **LAYOUT,
        height=380,
        title=f"How {safe_text(column, 40)} moves the {_title_output(expl)}",
        showlegend=False,
    )
    return fig


def waterfall(expl: Explanation, row: int, max_columns: int = 10) -> go.Figure:
    """From the average output to this row's prediction, one bar per column ("column = value")."""
    contrib = expl.values[row]
    data = expl.data.iloc[row]
    order = np.argsort(-np.abs(contrib), kind="stable")
    top, rest = order[:max_columns], order[max_columns:]
    labels = [f"{safe_text(expl.columns[j], 30)} = {safe_text(format_value(data[expl.columns[j]]), 30)}" for j in top]
    steps = [float(contrib[j]) for j in top]
    if len(rest):
        labels.append(f"{len(rest)} other columns")
        steps.append(float(contrib[rest].sum()))
    prediction = float(expl.base_value + contrib.sum())
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(steps), "total"],
            y=["average prediction", *labels, "this row's prediction"],
            x=[float(expl.base_value), *steps, prediction],
            text=[
                format_number(expl.base_value),
                *[format_number(v, signed=True) for v in steps],
                format_number(prediction),
            ],
            textposition="outside",
            increasing=dict(marker=dict(color=POSITIVE)),
            decreasing=dict(marker=dict(color=NEGATIVE)),
            totals=dict(marker=dict(color=MUTED)),
            connector=dict(line=dict(color=MUTED, width=1)),
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    shown = format_number(prediction)
    if expl.output == "log-odds" and expl.classes is not None and len(expl.classes) == 2:
        shown += f" (probability {1 / (1 + math.exp(-prediction)):.2f})"
    # zoom on where the steps happen (SHAP's own waterfall does the same); the base and total bars run off the left
    running = float(expl.base_value) + np.concatenate([[0.0], np.cumsum(steps)])
    low, high = float(running.min()), float(running.max())
    pad = 0.15 * (high - low) if high > low else max(1e-9, 0.1 * abs(high) or 1.0)
    fig.update_traces(cliponaxis=False)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=_title_output(expl), range=[low - pad, high + pad])
    fig.update_layout(
        **LAYOUT,
        height=max(300, 30 * (len(labels) + 2) + 100),
        title=f"Row {safe_text(expl.data.index[row], 20)}: {_title_output(expl)} {shown}",
        showlegend=False,
    )
    return fig


def permutation_bar(frame: pd.DataFrame, top: int = 20) -> go.Figure:
    """Permutation importance per column with its spread over repeats (from ``permutation_importance_frame``)."""
    shown = frame.head(top)
    metric = safe_text(frame.attrs.get("metric", "score"), 30)
    fig = go.Figure()
    fig.add_bar(
        x=shown["importance_mean"],
        y=[safe_text(c, 40) for c in shown["column"]],
        orientation="h",
        marker_color=ACCENT,
        error_x=dict(type="data", array=shown["importance_std"], color=MUTED),
        hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        name="drop in score",
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=f"drop in {metric} when the column is shuffled")
    fig.update_layout(
        **LAYOUT,
        height=max(240, 26 * len(shown) + 100),
        title="Permutation importance (model-agnostic cross-check)",
        showlegend=False,
    )
    return fig


def token_bar(tokens: pd.DataFrame, column: str) -> go.Figure:
    """A text column's most influential words (from ``core.explain.top_tokens``), signed average push."""
    fig = go.Figure()
    fig.add_bar(
        x=tokens["mean"],
        y=[safe_text(t, 30) for t in tokens["token"]],
        orientation="h",
        marker_color=[POSITIVE if v > 0 else NEGATIVE for v in tokens["mean"]],
        customdata=tokens["mean_abs"],
        hovertemplate="%{y}: %{x:+.3g} on average (±%{customdata:.3g})<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="average push")
    fig.update_layout(
        **LAYOUT, height=max(240, 26 * len(tokens) + 100), title=f"Words in {safe_text(column, 40)} that matter most"
    )
    return fig
