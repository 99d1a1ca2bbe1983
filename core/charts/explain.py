"""Charts of explanations: SHAP importance, beeswarm, dependence, waterfall, permutation importance.

Every chart speaks in the person's columns and original values (an
:class:`core.explain.Explanation` already holds both); every label from the
person's data passes :func:`safe_text`.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.charts.style import (
    ACCENT,
    DIVERGING,
    LAYOUT,
    MUTED,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    WARN,
    finish,
    safe_text,
)
from core.explain.importance import strongest_interaction
from core.explain.result import Explanation, format_value, importance_frame
from core.explain.summaries import as_numbers, binned_curve, column_kind
from core.numbers import format_number

__all__ = [
    "beeswarm",
    "dependence",
    "importance_bar",
    "is_ordered",
    "permutation_bar",
    "token_bar",
    "value_colors",
    "waterfall",
]

#: Low → high values (purple → orange, the colour-blind-safe diverging scale of core.charts.style, where
#: SHAP's own plots use blue → red); only for columns whose values have an order. Pushes up are orange
#: (POSITIVE), pushes down purple (NEGATIVE), as the scale's high and low ends.
VALUE_COLORS = DIVERGING
#: Rows of category and text columns in the beeswarm: one neutral colour (their values have no low or high).
CATEGORY_COLOR = NEUTRAL
#: Distinct colours for the categories of a dependence chart's colour column (colour-blind safe), then "other".
CATEGORY_PALETTE = qualitative.Safe[:10]
OTHER_COLOR = qualitative.Safe[10]


def _title_output(expl: Explanation) -> str:
    return safe_text(expl.output_name, 60)


def importance_bar(expl: Explanation, top: int = 20) -> go.Figure:
    """Mean |contribution| per column, largest on top; the rest summed into one bar set apart below.

    The catch-all ("60 other columns") is a trace of its own in a muted colour, after an empty row;
    the x axis is sized by the named bars, so a large catch-all is clipped at the edge with its
    value written on it instead of squashing every named bar.
    """
    table = importance_frame(expl)
    shown, rest = table.head(top), table.iloc[top:]
    labels = [safe_text(c, 40) for c in shown["column"]]
    values = shown["mean_abs"].to_numpy(dtype=float)
    fig = go.Figure()
    fig.add_bar(
        x=values,
        y=labels,
        orientation="h",
        marker_color=ACCENT,
        customdata=np.round(shown["share"].to_numpy() * 100, 1),
        hovertemplate="%{y}: ±%{x:.3g} on average (%{customdata}% of the total)<extra></extra>",
        name="mean |contribution|",
    )
    high = float(values.max()) * 1.1 if len(values) and values.max() > 0 else 1.0
    order = list(labels)
    if len(rest):
        label, total, share = f"{len(rest)} other columns", float(rest["mean_abs"].sum()), float(rest["share"].sum())
        order += [" ", label]  # an empty row keeps the catch-all apart from the named columns
        fig.add_bar(
            x=[min(total, high)],
            y=[label],
            orientation="h",
            marker=dict(
                color="rgba(0,0,0,0)", line=dict(color=MUTED, width=1.5), pattern=dict(shape="/", fgcolor=MUTED)
            ),
            text=[f"±{format_number(total)} in all ({share:.0%} of the total)" + (" ▸" if total > high else "")],
            textposition="inside" if total > 0.5 * high else "outside",
            insidetextanchor="start",
            customdata=[[format_number(total), round(share * 100, 1)]],
            hovertemplate="%{y}: ±%{customdata[0]} together (%{customdata[1]}% of the total)<extra></extra>",
            name="other columns together",
        )
    fig.update_xaxes(range=[0, high])
    fig.update_yaxes(categoryorder="array", categoryarray=order)
    fig.update_yaxes(autorange="reversed")
    if expl.all_classes:
        scores = "class probabilities" if expl.output == "probability" else "class scores (log-odds)"
        fig.update_xaxes(title=f"average push on the {scores} (mean |SHAP| over all classes)")
        title = f"What moves the {scores} (all classes)"
    else:
        fig.update_xaxes(title=f"average push on the {_title_output(expl)} (mean |SHAP|)")
        title = f"What moves the {_title_output(expl)}"
    fig.update_layout(**LAYOUT, height=max(240, 26 * len(order) + 100), title=title, showlegend=False)
    return finish(fig)


def is_ordered(values: pd.Series, column: str | None = None, categorical: Collection[str] = ()) -> bool:
    """Whether a column's values go from low to high: numbers and dates, not categories or text.

    Args:
        values: The column's values.
        column: Its name, looked up in ``categorical``.
        categorical: Columns the person treats as categories (their role), even when the values are numbers.
    """
    if column is not None and column in categorical:
        return False
    if pd.api.types.is_bool_dtype(values.dtype):
        return False
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
        return True
    return column_kind(values) in ("numeric", "date")


def value_colors(values: pd.Series) -> np.ndarray:
    """Each value's colour position in [0, 1] within an ordered column (NaN for missing).

    Numbers and dates are scaled between their 5th and 95th percentiles. Categories
    and text have no low or high, so they get no position: check :func:`is_ordered` first.
    """
    if not is_ordered(values):
        raise ValueError("Only numbers and dates have a low-to-high colour; categories and text have no order.")
    x = as_numbers(values)
    ok = np.isfinite(x)
    if not ok.any():
        return np.full(len(x), np.nan)
    low, high = np.nanpercentile(x, [5, 95])
    if high <= low:
        low, high = np.nanmin(x), np.nanmax(x)
    span = high - low if high > low else 1.0
    return np.where(ok, np.clip((x - low) / span, 0, 1), np.nan)


def _jitter(s: np.ndarray, rng: np.random.Generator, width: float = 0.4) -> np.ndarray:
    """Vertical offsets proportional to how crowded each point's neighbourhood is (a cheap swarm)."""
    if len(s) < 2 or np.ptp(s) == 0:
        return rng.uniform(-width, width, len(s)) * 0.3
    counts, edges = np.histogram(s, bins=40)
    where = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(counts) - 1)
    density = counts[where] / counts.max()
    return rng.uniform(-1, 1, len(s)) * width * np.sqrt(density)


def beeswarm(
    expl: Explanation, top: int = 15, max_points: int = 2000, seed: int = 0, categorical: Collection[str] = ()
) -> go.Figure:
    """Every row's contribution per column (x), columns by importance (y).

    Rows of number and date columns are coloured by their value, low (purple) to high (orange).
    Category and text columns have no low or high, so their rows share one neutral colour,
    named in the legend; missing values are light grey.

    Args:
        expl: The explanation.
        top: How many columns to show, most important first.
        max_points: At most this many points in all (a seeded sample of rows).
        seed: Random seed for the sample and the vertical jitter.
        categorical: Columns to treat as categories even when their values are numbers (their role).
    """
    columns = list(importance_frame(expl)["column"].head(top))
    rng = np.random.default_rng(seed)
    per_column = max(1, max_points // max(1, len(columns)))
    picked = (
        np.sort(rng.choice(expl.rows, min(expl.rows, per_column), replace=False)) if expl.rows else np.array([], int)
    )
    xs, ys, colors, ordered, hover = [], [], [], [], []
    for position, column in enumerate(columns):
        s = expl.column_values(column)[picked]
        values = expl.data[column].iloc[picked]
        xs.append(s)
        ys.append(position + _jitter(s, rng))
        # judged and scaled on the whole column: a sample of numbers-as-text may hold too few values to look ordered
        flag = is_ordered(expl.data[column], column, categorical)
        colors.append(value_colors(expl.data[column])[picked] if flag else np.where(values.notna(), 0.5, np.nan))
        ordered.append(np.full(len(s), flag))
        hover += [[safe_text(column, 40), safe_text(format_value(v), 40)] for v in values]
    x = np.concatenate(xs) if xs else np.array([])
    y = np.concatenate(ys) if ys else np.array([])
    c = np.concatenate(colors) if colors else np.array([])
    numeric = np.concatenate(ordered) if ordered else np.array([], dtype=bool)
    custom = np.asarray(hover, dtype=object).reshape(-1, 2)
    missing = np.isnan(c)
    scaled, unordered = numeric & ~missing, ~numeric & ~missing
    fig = go.Figure()
    template = "%{customdata[0]} = %{customdata[1]}<br>contribution %{x:+.3g}<extra></extra>"

    def add_points(mask: np.ndarray, name: str, marker: dict, **extra) -> None:
        fig.add_scatter(
            x=x[mask],
            y=y[mask],
            mode="markers",
            name=name,
            customdata=custom[mask],
            hovertemplate=template,
            marker=dict(size=5, **marker),
            **extra,
        )

    add_points(
        scaled,
        "number or date (purple low → orange high)",
        dict(
            color=c[scaled],
            colorscale=VALUE_COLORS,
            cmin=0,
            cmax=1,
            opacity=0.75,
            showscale=bool(scaled.any()),
            colorbar=dict(title="value<br>(numbers,<br>dates)", tickvals=[0, 1], ticktext=["low", "high"], len=0.6),
        ),
        showlegend=False,
    )
    for mask, name, colour in (
        (unordered, "category or text (no low/high)", CATEGORY_COLOR),
        (missing, "missing value", MUTED),
    ):
        if mask.any():
            add_points(mask, name, dict(color=colour, opacity=0.6))
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
        height=max(280, 34 * len(columns) + 150),
        title=f"Each row's push on the {_title_output(expl)}",
        showlegend=bool(unordered.any() or missing.any()),
    )
    if fig.layout.showlegend:  # one line under the axis title, clear of the colour bar
        fig.update_layout(legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0), margin=dict(b=44))
    return finish(fig)


def _category_groups(values: pd.Series, limit: int = len(CATEGORY_PALETTE)) -> list[tuple[str, np.ndarray, str]]:
    """(label, row mask, colour) per category, most frequent first; the rest as "other", missing last."""
    present = values.notna().to_numpy()
    labels = values.map(format_value).astype(str).to_numpy()
    counts = pd.Series(labels[present]).value_counts(sort=True)
    shown = list(counts.index[:limit])
    groups = [(label, present & (labels == label), CATEGORY_PALETTE[i]) for i, label in enumerate(shown)]
    rest = present & ~np.isin(labels, shown)
    if rest.any():
        groups.append((f"{len(counts) - len(shown)} other values", rest, OTHER_COLOR))
    if (~present).any():
        groups.append(("missing", ~present, MUTED))
    return groups


def dependence(
    expl: Explanation, column: str, color_by: str | None = None, seed: int = 0, categorical: Collection[str] = ()
) -> go.Figure:
    """A column's value (x) against its contribution (y), coloured by the strongest interacting column.

    A number or date colour column gets a low (purple) to high (orange) scale; a category
    or text colour column gets one distinct colour per value, named in the legend.

    Args:
        expl: The explanation.
        column: The column on the x axis.
        color_by: The column to colour by; None picks the strongest interacting one.
        seed: Random seed for the horizontal jitter of categories.
        categorical: Columns to treat as categories even when their values are numbers (their role).
    """
    color_by = color_by if color_by is not None else strongest_interaction(expl, column)
    rng = np.random.default_rng(seed)
    s = expl.column_values(column)
    values = expl.data[column]
    kind = column_kind(values)
    ordered_x = kind in ("numeric", "date") and column not in categorical
    hover_color = [safe_text(format_value(v), 30) for v in expl.data[color_by]] if color_by else [""] * len(s)
    custom = np.column_stack([[safe_text(format_value(v), 40) for v in values], hover_color])
    colour_hover = f"<br>{safe_text(color_by, 30)} = %{{customdata[1]}}" if color_by else ""
    template = f"{safe_text(column, 30)} = %{{customdata[0]}}<br>contribution %{{y:+.3g}}{colour_hover}<extra></extra>"
    if ordered_x:
        x_numbers = as_numbers(values)
        x = pd.to_datetime(x_numbers * 86_400, unit="s") if kind == "date" else x_numbers
    else:
        labels = values.map(format_value).astype(str)
        means = pd.Series(s).groupby(labels.to_numpy()).mean().sort_values()
        codes = labels.map({c: i for i, c in enumerate(means.index)}).to_numpy(dtype=float)
        x = codes + rng.uniform(-0.25, 0.25, len(codes))
    fig = go.Figure()
    base = dict(mode="markers", hovertemplate=template)
    categories_legend = False
    if color_by is None:
        fig.add_scatter(
            x=x, y=s, name="rows", customdata=custom, marker=dict(size=6, opacity=0.8, color=ACCENT), **base
        )
    elif is_ordered(expl.data[color_by], color_by, categorical):
        marker = dict(
            size=6,
            opacity=0.8,
            color=np.nan_to_num(value_colors(expl.data[color_by]), nan=0.5),
            colorscale=VALUE_COLORS,
            cmin=0,
            cmax=1,
            colorbar=dict(title=safe_text(color_by, 20), tickvals=[0, 1], ticktext=["low", "high"], len=0.6),
        )
        fig.add_scatter(x=x, y=s, name="rows", customdata=custom, marker=marker, **base)
    else:
        categories_legend = True
        x_all = np.asarray(x)
        for label, mask, colour in _category_groups(expl.data[color_by]):
            fig.add_scatter(
                x=x_all[mask],
                y=s[mask],
                name=safe_text(label, 30),
                customdata=custom[mask],
                marker=dict(size=6, opacity=0.8, color=colour),
                legendgroup="rows",
                **base,
            )
    if ordered_x:
        centres, trend = binned_curve(x_numbers, s)
        trend_x = pd.to_datetime(centres * 86_400, unit="s") if kind == "date" else centres
        fig.add_scatter(
            x=trend_x, y=trend, mode="lines", name="average", showlegend=False, line=dict(color=WARN, width=3)
        )
        fig.update_xaxes(title=safe_text(column, 40))
    else:
        fig.add_scatter(
            x=list(range(len(means))),
            y=means.to_numpy(),
            mode="markers",
            name="average",
            showlegend=False,
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
        showlegend=categories_legend,
        legend=dict(title=dict(text=f"{safe_text(color_by, 30)} (categories)" if categories_legend else "")),
    )
    return finish(fig)


def waterfall(expl: Explanation, row: int, max_columns: int = 10, *, label: str | None = None) -> go.Figure:
    """From the average output to this row's prediction, one bar per column ("column = value").

    The title names the row by its number unless ``label`` says how to call it ("This row").
    A multiclass row with no class chosen is shown for its predicted class.
    """
    expl = expl.for_row(row)
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
            y=[
                expl.base_label,
                *labels,
                f"this row's {'anomaly score' if expl.output == 'anomaly score' else 'prediction'}",
            ],
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
        title=f"{safe_text(label, 40) if label else 'Row ' + safe_text(expl.data.index[row], 20)}: {_title_output(expl)} {shown}",
        showlegend=False,
    )
    return finish(fig)


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
    return finish(fig)


def token_bar(tokens: pd.DataFrame, column: str, output: str | None = None) -> go.Figure:
    """A text column's most influential words (from ``core.explain.top_tokens``): each word's average push
    in the rows that contain it, orange up, purple down."""
    fig = go.Figure()
    fig.add_bar(
        x=tokens["mean"],
        y=[safe_text(t, 30) for t in tokens["token"]],
        orientation="h",
        marker_color=[POSITIVE if v > 0 else NEGATIVE for v in tokens["mean"]],
        customdata=np.column_stack([tokens["rows_with_token"], tokens["mean_abs"]]),
        hovertemplate="%{y}: %{x:+.3g} on average in the %{customdata[0]} rows containing it<extra></extra>",
    )
    fig.add_vline(x=0, line=dict(color=MUTED, width=1))
    fig.update_yaxes(autorange="reversed")
    on = f" on the {safe_text(output, 60)}" if output else ""
    fig.update_xaxes(title=f"average push{on} in the rows containing the word")
    fig.update_layout(
        **LAYOUT, height=max(240, 26 * len(tokens) + 100), title=f"Words in {safe_text(column, 40)} that matter most"
    )
    return finish(fig)
