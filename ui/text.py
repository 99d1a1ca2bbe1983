"""Showing text that came from the person's file without it becoming markup.

Streamlit renders Markdown in ``st.markdown``, ``st.error``/``st.warning``/
``st.info``/``st.success`` bodies, captions and widget labels. A column named
``**bold**`` or ``<script>`` must appear literally, so any message that may
contain user text goes through :func:`md_escape` first.
"""

from __future__ import annotations

from core.markdown import code as _code
from core.markdown import escape as _escape
from core.markdown import label as _label


def md_escape(text: object) -> str:
    """Backslash-escape every Markdown-significant character in ``text``."""
    return _escape(text)


def md_code(text: object) -> str:
    """``text`` as an inline code span, shown literally (see :func:`core.markdown.code`)."""
    return _code(text)


def md_label(text: object) -> str:
    """A widget label from user text: shown literally, accessible name kept readable (see :func:`core.markdown.label`)."""
    return _label(text)


def short(text: object, limit: int = 200) -> str:
    """Shorten long text for display, marking the cut."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"
