"""Text from the person's file inside Markdown, shown literally.

Streamlit renders Markdown in messages, captions and widget labels (bold, links,
images, auto-linked URLs). Anything that came from a file -- column names, cell
values, class labels -- goes through :func:`escape` or :func:`code` before it is
put into a Markdown string, whether the string is built in ``core`` (explanation
summaries) or in ``ui``.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def escape(text: object) -> str:
    """Backslash-escape every Markdown-significant character (``.`` and ``:`` too, so URLs are not linked)."""
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


def code(text: object) -> str:
    """``text`` as an inline code span: shown literally, nothing inside is Markdown or HTML.

    Backslash escapes do not work inside code spans (they would show), so the span's
    fence is made longer than any run of backticks in the text instead.
    """
    value = str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"
