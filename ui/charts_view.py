"""Every chart a page draws goes through :func:`show`: the person's theme, a name for screen readers, then plotly.

Charts are built by pure functions in ``core.charts`` in the light look; :func:`themed` lays the
person's theme over a figure (``core.charts.style.apply_theme``: template, text, greys, line
widths) and is pure apart from that, so it is tested without Streamlit. Figures are drawn with
``theme=None``: the figure's own template is the theme, the same in the browser, the report and
a test, rather than Streamlit's chart theme laid over it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from ui import state, theme_views

_TAGS = re.compile(r"<[^>]+>")


def themed(fig: Any, theme: str) -> Any:
    """``fig`` (fresh from a ``core.charts`` function; changed in place and returned) in ``theme``."""
    from core.charts.style import apply_theme  # plotly loads with the first chart, not with the first page

    return apply_theme(fig, theme)


def alt_text(fig: Any) -> str | None:
    """A short description of ``fig`` for screen readers: its title as plain text, or ``None``."""
    title = fig.layout.title.text
    if not title:
        return None
    text = html.unescape(_TAGS.sub(" ", str(title)))  # chart titles are escaped for plotly (safe_text)
    return " ".join(text.split()) or None


def show(fig: Any, key: str, *, where: Any = None, **kwargs: Any) -> Any:
    """Draw ``fig`` in the person's theme with ``key`` (in ``where``, a column or container, else the page)."""
    return _draw(themed(fig, theme_views.current()), key, where, kwargs)


def show_built(
    build: Callable[[], Any], key: str, *, token: Hashable, owners: tuple = (), where: Any = None, **kwargs: Any
) -> Any:
    """:func:`show` for a figure of the current run that does not change between reruns: built and themed once.

    ``build`` makes the figure; it is kept in this session's :func:`ui.state.run_memo` under ``key``,
    ``token`` (every choice the figure depends on: model name, toggles, the models overlaid) and the
    theme, with ``owners`` (the models it was drawn from). Later reruns send the same figure object
    again instead of building and theming a new one (plotly's validation is most of a chart's cost).
    Other keywords go to ``st.plotly_chart`` as in :func:`show`.
    """
    theme = theme_views.current()
    fig = state.run_memo("chart", (key, token, theme), lambda: themed(build(), theme), owners)
    return _draw(fig, key, where, kwargs)


def show_kept(build: Callable[[], Any], key: str, *, token: Hashable, where: Any = None, **kwargs: Any) -> Any:
    """:func:`show` for a figure of the loaded data (not of a run): built and themed once per ``token``.

    ``token`` names everything the figure depends on (the profile, the column); the last one per
    ``key`` is kept in this session's :func:`ui.state.memo`.
    """
    theme = theme_views.current()
    fig = state.memo(f"chart.{key}", (token, theme), lambda: themed(build(), theme))
    return _draw(fig, key, where, kwargs)


def _draw(fig: Any, key: str, where: Any, kwargs: dict[str, Any]) -> Any:
    """A themed figure on the page (or in ``where``), with its alt text for screen readers."""
    target = where if where is not None else st
    kwargs.setdefault("alt", alt_text(fig))
    return target.plotly_chart(fig, key=key, theme=None, **kwargs)
