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


_LABEL_SPECIAL = re.compile(r"([\\`*\[\]<>!$~:|])")
_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_LEADING_MARKER = re.compile(r"^(\s*)([#>+\-=])")
_LEADING_NUMBER = re.compile(r"^(\s*\d+)([.)])")
_AUTOLINK_WWW = re.compile(r"(?i)\b(www)\.")


def label(text: object) -> str:
    """A widget label shown literally, escaping only what Markdown would act on.

    Streamlit also uses a label as the widget's accessible name, so the
    backslashes of :func:`escape` would be read out. Here ``petal_length_cm``
    stays as it is (underscores inside a word are never emphasis) while links,
    images, emphasis, code, maths, emoji codes and bare ``www.`` links are defused.
    """
    value = str(text).replace("\n", " ")
    value = _LABEL_SPECIAL.sub(r"\\\1", value)
    value = _EDGE_UNDERSCORE.sub(r"\\_", value)
    value = _AUTOLINK_WWW.sub(r"\1\\.", value)
    value = _LEADING_NUMBER.sub(lambda m: m.group(1) + "\\" + m.group(2), value)
    return _LEADING_MARKER.sub(lambda m: m.group(1) + "\\" + m.group(2), value)
