"""The script as a Jupyter notebook.

The script is written in the "percent" format (``# %%`` code cells, ``# %% [markdown]`` text
cells) that editors such as VS Code and PyCharm already run cell by cell, so the notebook's code
cells are the script's code and its text cells the script's comments.
"""

from __future__ import annotations

import json
from typing import Any

#: The line that starts a code cell; with " [markdown]" after it, a text cell.
CODE_MARK = "# %%"
TEXT_MARK = "# %% [markdown]"


def script_cells(script: str) -> list[tuple[str, str]]:
    """Split a percent-format script into ``("markdown" | "code", text)`` cells.

    Text cells lose their ``# `` comment prefix; code cells keep their code as written.
    Empty cells are left out.
    """
    cells: list[tuple[str, list[str]]] = []
    kind = "code"
    lines: list[str] = []
    for line in script.splitlines():
        if line.startswith(CODE_MARK):
            cells.append((kind, lines))
            kind, lines = ("markdown" if line.strip() == TEXT_MARK else "code"), []
            continue
        if kind == "markdown":
            line = line[2:] if line.startswith("# ") else line[1:] if line.startswith("#") else line
        lines.append(line)
    cells.append((kind, lines))
    out = []
    for kind, body in cells:
        text = "\n".join(body).strip("\n")
        if text.strip():
            out.append((kind, text))
    return out


def notebook(script: str) -> bytes:
    """The script as a Jupyter notebook (nbformat 4.5 JSON, UTF-8): one cell per script cell."""
    cells = []
    for index, (kind, text) in enumerate(script_cells(script)):
        source = text.splitlines(keepends=True)
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    document = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "pygments_lexer": "ipython3"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
