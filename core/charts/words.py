"""Charts of word explanations (:mod:`core.explain.words`): the words that pushed predictions, overall and in one row.

Bars are orange where a word pushed the output up and purple where it pushed it down (the
SHAP diverging colours of :mod:`core.charts.style`). Words come from the person's texts, so
every label passes :func:`safe_text`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import LAYOUT, MUTED, NEGATIVE, POSITIVE, finish, safe_text

__all__ = ["row_words_bar", "words_bar"]

#: Words a row's chart shows at most (the largest effects).
ROW_TOP = 15


def _bars(words: list[str], effects: np.ndarray, hover: str, customdata: np.ndarray | None) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(
        x=effects,
        y=[safe_text(w, 30) for w in words],
        orientation="h",
        marker_color=[POSITIVE if v > 0 else NEGATIVE for v in effects],
        customdata=customdata,
        hovertemplate=hover,
        name="effect",
    )
    fig.add_vline(x=0, line=dict(color=MUTED, width=1))
    fig.update_yaxes(autorange="reversed")
    return fig


def words_bar(words: pd.DataFrame, column: str, output_name: str, rows: int | None = None) -> go.Figure:
    """The words with the largest mean effect over many rows (``core.explain.words.OverallWords.words``).

    Each bar is a word's average change of the output when it is left out of the rows that contain it;
    the hover says in how many rows it occurs.
    """
    effects = words["mean_effect"].to_numpy(dtype=float)
    custom = np.column_stack([words["rows"].to_numpy(), np.round(words["share"].to_numpy(dtype=float) * 100, 1)])
    fig = _bars(
        list(words["word"]),
        effects,
        "%{y}: %{x:+.3g} on average in the %{customdata[0]} rows containing it (%{customdata[1]}%)<extra></extra>",
        custom,
    )
    read = f" of {rows:,} rows" if rows else ""
    fig.update_xaxes(title=f"average push on the {safe_text(output_name, 60)} where the word appears")
    fig.update_layout(
        **LAYOUT,
        height=max(240, 26 * len(words) + 110),
        title=f"Words in {safe_text(column, 40)} that pushed predictions most{read}",
    )
    return finish(fig)


def row_words_bar(words: pd.DataFrame, output_name: str, top: int = ROW_TOP) -> go.Figure:
    """One row's words (``core.explain.words.RowWords.words``), the largest effects first (at most ``top``)."""
    order = words["effect"].abs().sort_values(ascending=False, kind="stable").index[:top]
    shown = words.loc[order]
    fig = _bars(
        list(shown["word"]),
        shown["effect"].to_numpy(dtype=float),
        "%{y}: %{x:+.3g} (with the word minus without it; %{customdata}× in the text)<extra></extra>",
        shown["occurrences"].to_numpy(),
    )
    fig.update_xaxes(title=f"push on the {safe_text(output_name, 60)} (output − output without the word)")
    more = f" (the {len(shown)} strongest of {len(words)})" if len(words) > len(shown) else ""
    fig.update_layout(**LAYOUT, height=max(220, 26 * len(shown) + 110), title=f"Words of this row{more}")
    return finish(fig)
