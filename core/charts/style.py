"""Shared look of every chart, and escaping of user text for plotly labels."""

from __future__ import annotations

import html

ACCENT = "#4C6EF5"
MUTED = "#ADB5BD"
WARN = "#F08C00"
GOOD = "#2B8A3E"
LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10))


def safe_text(value: object, limit: int = 60) -> str:
    """Escape user text for plotly labels (which render some HTML) and shorten it."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)
