"""Plain-language summaries of explanations, written by rules from the numbers (no external service).

Summaries are Markdown: column names, categories and text values appear as
code spans (:func:`core.markdown.code`), numbers as plain text, and the output's
name is escaped (:func:`core.markdown.escape`), so pages show them as they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from core.explain.result import Explanation, format_duration, format_value, importance_frame
from core.markdown import code
from core.markdown import escape as md_escape
from core.numbers import format_number

#: |Spearman correlation| between a column's values and its contributions needed to call a direction.
DIRECTION_CORRELATION = 0.3
#: A curve "levels off" when the top bins stay within this share of its total change.
PLATEAU_SHARE = 0.15
#: Columns with less than this share of the total effect "barely matter".
SMALL_SHARE = 0.01


def _value(value: Any) -> str:
    """A cell value for Markdown: numbers as they are, anything else (text, categories) as a code span."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
        return format_value(value)
    return code(format_value(value))


def _output(expl: Explanation) -> str:
    """The output's name for Markdown (it may hold the target's or a class's name)."""
    return md_escape(expl.output_name)


def _base(expl: Explanation) -> str:
    """The base value and what it is the mean of, for Markdown: "a mean of 0.16 over 50 training rows …"."""
    if not expl.background:
        return f"a base value of {format_number(expl.base_value)}"
    return f"a mean of {format_number(expl.base_value)} over {md_escape(expl.background)}"


def _unit(expl: Explanation) -> str:
    return "probability" if expl.output == "probability" else "score"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _partial_note(expl: Explanation) -> str:
    asked = max(expl.rows_requested, expl.rows)
    return f" (Based on {expl.rows:,} of the {asked:,} rows: the run was cancelled.)" if expl.partial else ""


def summarize_importance(expl: Explanation) -> str:
    """Which columns matter most, with their shares of the total effect, and which barely matter."""
    if expl.rows == 0:
        return "No rows were explained yet."
    table = importance_frame(expl)
    if table["mean_abs"].sum() <= 0:
        return f"No column changes the {_output(expl)}: the model gives every row the same answer."
    top = table[table["share"] >= SMALL_SHARE].head(3)
    named = [f"{code(c)} ({share:.0%})" for c, share in zip(top["column"], top["share"], strict=True)]
    named[0] = named[0][:-1] + " of the total effect)"
    first = top.iloc[0]
    push = format_number(first["mean_abs"])
    if expl.all_classes:
        scores = "class probabilities" if expl.output == "probability" else "class scores (log-odds)"
        text = f"Over all classes, the {scores} depend most on {_join(named)}."
        text += f" On average {code(first['column'])} moves a class's {_unit(expl)} by ±{push}."
    else:
        text = f"The {_output(expl)} depends most on {_join(named)}."
        text += f" On average {code(first['column'])} moves it by ±{push}."
    small = table[table["share"] < SMALL_SHARE]["column"].tolist()
    if small:
        shown = [code(c) for c in small[:5]] + ([f"{len(small) - 5} more"] if len(small) > 5 else [])
        listed = _join(shown)
        many = len(small) > 1
        text += f" {'These columns barely matter' if many else 'This column barely matters'} (under 1%{' each' if many else ''}): {listed}."
    return text + _partial_note(expl)


# --------------------------------------------------------------------------- one column


def column_kind(values: pd.Series) -> str:
    """``"numeric"``, ``"date"``, ``"text"`` or ``"categorical"``, judged from the values."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return "date"
    if pd.api.types.is_bool_dtype(values.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "numeric" if values.nunique() > 2 else "categorical"
    present = values.dropna()
    if len(present) and pd.to_numeric(present, errors="coerce").notna().mean() > 0.9 and present.nunique() > 2:
        return "numeric"
    text = present.astype(str)
    if len(text) >= 20 and text.nunique() > 0.5 * len(text) and text.str.len().mean() > 20:
        return "text"
    return "categorical"


def as_numbers(values: pd.Series) -> np.ndarray:
    """Values as floats (dates as days since 1970), missing as NaN."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        days = values.astype("datetime64[s]").astype("int64").astype(float) / 86_400
        return np.where(values.notna(), days, np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def binned_curve(x: np.ndarray, s: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(median value, mean contribution) per quantile bin of ``x`` (missing values left out)."""
    ok = ~np.isnan(x)
    x, s = x[ok], s[ok]
    if len(x) == 0:
        return np.array([]), np.array([])
    labels = pd.qcut(x, q=min(bins, max(1, len(np.unique(x)))), labels=False, duplicates="drop")
    frame = pd.DataFrame({"x": x, "s": s, "bin": labels}).groupby("bin")
    return frame["x"].median().to_numpy(), frame["s"].mean().to_numpy()


def _show_x(value: float, kind: str) -> str:
    """A threshold shown after "≈": two significant digits (dates as days)."""
    if kind == "date":
        return pd.Timestamp(value * 86_400, unit="s").strftime("%Y-%m-%d")
    if value == 0 or not math.isfinite(value):
        return format_number(value)
    digits = 1 - math.floor(math.log10(abs(value)))
    return format_number(round(value, digits))


def summarize_dependence(expl: Explanation, column: str) -> str:
    """How one column's values move the output: direction, where it levels off, or the strongest categories."""
    if expl.rows == 0:
        return "No rows were explained yet."
    s = expl.column_values(column)
    total = np.abs(expl.values).mean(axis=0).sum()
    name, output = code(column), _output(expl)
    if total <= 0 or np.abs(s).mean() < SMALL_SHARE * total:
        return f"{name} has almost no effect on the {output}."
    values = expl.data[column]
    kind = column_kind(values)
    if kind == "text":
        return (
            f"{name} is free text: its words move the {output} by ±{format_number(np.abs(s).mean())} "
            "on average. Its top tokens show which words matter."
        )
    if kind in ("numeric", "date"):
        x = as_numbers(values)
        if np.isfinite(x).sum() >= 5 and len(np.unique(x[np.isfinite(x)])) > 2:
            return _numeric_dependence(x, s, name, output, kind) + _partial_note(expl)
    return _categorical_dependence(values, s, name, output) + _partial_note(expl)


def _numeric_dependence(x: np.ndarray, s: np.ndarray, name: str, output: str, kind: str) -> str:
    ok = np.isfinite(x)
    rho = pd.Series(x[ok]).corr(pd.Series(s[ok]), method="spearman")
    rho = 0.0 if rho is None or math.isnan(rho) else float(rho)
    centres, means = binned_curve(x, s)
    higher = "Later" if kind == "date" else "Higher"
    if abs(rho) < DIRECTION_CORRELATION:
        if len(means) >= 3 and means.max() - means.min() > 0.5 * np.std(s):
            top, low = centres[int(np.argmax(means))], centres[int(np.argmin(means))]
            return (
                f"{name} has no single direction: the {output} is pushed up most around ≈ {_show_x(top, kind)} "
                f"and down most around ≈ {_show_x(low, kind)}."
            )
        return f"{name} has no clear direction: its effect on the {output} varies from row to row."
    up = rho > 0
    text = f"{higher} {name} pushes the {output} {'up' if up else 'down'}"
    change = means[-1] - means[0] if len(means) >= 2 else 0.0
    if len(means) >= 5 and abs(change) > 0:
        flat = np.abs(means - means[-1]) <= PLATEAU_SHARE * abs(change)
        start = len(means) - 1
        while start > 0 and flat[start - 1]:
            start -= 1
        if 1 <= start <= len(means) - 3:
            text += f"; above ≈ {_show_x(centres[start], kind)} its effect levels off"
    text += "."
    if len(means) >= 2:
        text += (
            f" From its lowest to its highest values the push goes from {format_number(means[0], signed=True)} "
            f"to {format_number(means[-1], signed=True)}."
        )
    missing = ~ok
    if missing.sum() >= 5:
        text += f" Missing values push it by {format_number(s[missing].mean(), signed=True)} on average."
    return text


def _categorical_dependence(values: pd.Series, s: np.ndarray, name: str, output: str) -> str:
    labels = values.map(lambda v: format_value(v)).astype(str).to_numpy()
    means = pd.Series(s).groupby(labels).agg(["mean", "size"])
    means = means[means["size"] >= max(1, round(0.01 * len(s)))]["mean"]
    if means.empty:
        return f"{name} has no clear effect on the {output}."
    top, low = means.idxmax(), means.idxmin()
    parts = []
    if means[top] > 0:
        parts.append(
            f"{name} = {code(top)} pushes the {output} up most ({format_number(means[top], signed=True)} on average)"
        )
    if means[low] < 0:
        pronoun = "it" if parts else f"the {output}"
        parts.append(f"{name} = {code(low)} pulls {pronoun} down most ({format_number(means[low], signed=True)})")
    if not parts:
        return f"{name} has little effect on the {output}."
    return "; ".join(parts) + "."


# --------------------------------------------------------------------------- one row


def summarize_row(expl: Explanation, i: int) -> str:
    """Why the model answered what it did for row number ``i`` (position): the biggest pushes up and down."""
    if not 0 <= i < expl.rows:
        raise IndexError(f"Row {i} is not among the {expl.rows} explained rows.")
    expl = expl.for_row(i)  # multiclass with no class chosen: the row's predicted class
    contrib = expl.values[i]
    prediction = float(expl.base_value + contrib.sum())
    text = f"The {_output(expl)} for this row is {format_number(prediction)}"
    if expl.output == "log-odds" and expl.classes is not None and len(expl.classes) == 2:
        text += f" (probability {1 / (1 + math.exp(-prediction)):.2f})"
    text += f", against {_base(expl)}."
    floor = 0.01 * np.abs(contrib).sum()
    row = expl.data.iloc[i]

    def describe(j: int) -> str:
        column = expl.columns[j]
        return f"{code(column)} = {_value(row[column])} ({format_number(contrib[j], signed=True)})"

    ups = [j for j in np.argsort(-contrib) if contrib[j] > floor][:2]
    downs = [j for j in np.argsort(contrib) if contrib[j] < -floor][:2]
    if ups:
        text += " The biggest push up comes from " + ", then ".join(describe(j) for j in ups) + "."
    if downs:
        text += " The biggest push down comes from " + ", then ".join(describe(j) for j in downs) + "."
    if not ups and not downs:
        text += " No column moves it noticeably."
    return text


# --------------------------------------------------------------------------- the method, in plain words

_METHOD_WORDS = {
    "Permutation SHAP": (
        "by swapping each column's values for those of {rows} and watching how the prediction changes "
        "(a model-agnostic method: it works for any model)"
    ),
    "TreeSHAP (exact)": (
        "by following each row through every tree of the model and sharing its prediction out between "
        "the columns the trees used (the exact method for tree models)"
    ),
    "TreeSHAP (approximate)": (
        "with a shortcut for tree models: each row's path through every tree, each split credited to its column "
        "(fast, but rougher than the exact method)"
    ),
    "LinearSHAP": (
        "from the model's weights: each column's weight times how far the row's value is from its mean "
        "over {rows} (the exact method for linear models)"
    ),
}


def describe_method(expl: Explanation) -> str:
    """How the explanation was computed, in plain words for a teacher or an analyst (plain text, no Markdown).

    Example: "Explained 30 rows in 0.3 s by swapping each column's values for those of 50 training
    rows and watching how the prediction changes (a model-agnostic method: it works for any
    model). Each contribution is a push on the probability of failure = 1, up or down from 0.062: the mean
    probability of failure = 1 over 50 training rows sampled at random, keeping each class's share."
    The method's name and settings are in ``expl.method`` and ``expl.note`` for a details view.
    """
    rows = f"{expl.background_rows:,} training rows" if expl.background_rows else "the training rows"
    how = _METHOD_WORDS.get(expl.method, "with SHAP").format(rows=rows)
    explained = f"{expl.rows:,} row" + ("" if expl.rows == 1 else "s")
    text = f"Explained {explained} in {format_duration(expl.seconds)} {how}. Each contribution is a push on the {expl.output_name}"
    if expl.class_index is None and expl.per_class is not None:
        over = f" over {expl.background}" if expl.background else ""
        return text + f" of each row, up or down from that class's mean{over}."
    if not expl.background:
        return text + f", up or down from a base value of {format_number(expl.base_value)}."
    return (
        text
        + f", up or down from {format_number(expl.base_value)}: the mean {expl.output_name} over {expl.background}."
    )
