"""Showing text that came from the person's file without it becoming markup.

Streamlit renders Markdown in ``st.markdown``, ``st.error``/``st.warning``/
``st.info``/``st.success`` bodies, captions and widget labels. A column named
``**bold**`` or ``<script>`` must appear literally, so any message that may
contain user text goes through :func:`md_escape` first.
"""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def md_escape(text: object) -> str:
    """Backslash-escape every Markdown-significant character in ``text``."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


def short(text: object, limit: int = 200) -> str:
    """Shorten long text for display, marking the cut."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def md_code(text: object) -> str:
    """``text`` as an inline code span: shown literally, nothing inside is Markdown or HTML.

    Backslash escapes do not work inside code spans (they would show), so the span's
    fence is made longer than any run of backticks in the text instead.
    """
    value = str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"
