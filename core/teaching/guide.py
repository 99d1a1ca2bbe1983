"""Guided mode's notes: for each journey step, why it matters and the classic mistake made there.

The words live in one content file, ``core/teaching/guide.toml`` (one table per step with ``why`` and
``mistake``), read and checked once. Text links to the glossary with Markdown links of the form
``[overfitting](glossary?term=overfitting)``; :attr:`StepGuide.links` lists the slugs a step links to.
Standard library only: the notes show on the first page, which loads no heavy library.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: The content file.
GUIDE_FILE = Path(__file__).with_name("guide.toml")
#: The texts every step has, in the order they are shown.
FIELDS = ("why", "mistake")
#: A link into the glossary: ``[words](glossary?term=slug)``.
GLOSSARY_LINK = re.compile(r"\[([^\]]+)\]\(glossary\?term=([a-z0-9-]+)\)")
#: Any Markdown link, to catch links that do not point into the glossary.
ANY_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")


@dataclass(frozen=True)
class StepGuide:
    """What guided mode says on one step: why it matters, the classic mistake, the glossary slugs linked."""

    why: str
    mistake: str
    links: tuple[str, ...]


class GuideError(ValueError):
    """The content file is malformed (a missing text, a link that does not point into the glossary)."""


def plain_text(text: str) -> str:
    """``text`` with each glossary link replaced by its words (for counting sentences, or reading aloud)."""
    return GLOSSARY_LINK.sub(r"\1", text)


def _links(text: str) -> list[str]:
    return [slug for _, slug in GLOSSARY_LINK.findall(text)]


def parse(content: str, source: str = "guide.toml") -> dict[str, StepGuide]:
    """Check the content of a guide file and return each step's guide, in the file's order.

    Raises:
        GuideError: a step without one of its texts, an empty text, an unknown field, or a link
            that does not point into the glossary — the message names the step and what to write.
    """
    try:
        tables = tomllib.loads(content)
    except tomllib.TOMLDecodeError as err:
        raise GuideError(f"{source} is not valid TOML: {err}.") from err
    guides: dict[str, StepGuide] = {}
    for step, table in tables.items():
        if not isinstance(table, dict):
            raise GuideError(f'{source}: \'{step}\' should be a table [{step}] with why = "…" and mistake = "…".')
        unknown = sorted(set(table) - set(FIELDS))
        if unknown:
            raise GuideError(f"{source}: step '{step}' has unknown fields {unknown}; only {list(FIELDS)} are read.")
        texts = []
        for field in FIELDS:
            text = table.get(field)
            if not isinstance(text, str) or not text.strip():
                raise GuideError(f"{source}: step '{step}' needs a non-empty {field} = \"…\" (one sentence).")
            stray = [link for link in ANY_LINK.findall(text) if not GLOSSARY_LINK.fullmatch(link)]
            if stray:
                raise GuideError(
                    f"{source}: step '{step}' links {stray[0]}; link only into the glossary, "
                    "as [words](glossary?term=slug)."
                )
            texts.append(text.strip())
        slugs = tuple(dict.fromkeys(_links(texts[0]) + _links(texts[1])))
        guides[step] = StepGuide(texts[0], texts[1], slugs)
    return guides


@cache
def guides() -> dict[str, StepGuide]:
    """Every step's guide, read from :data:`GUIDE_FILE` once (static text, the same for everyone)."""
    return parse(GUIDE_FILE.read_text(encoding="utf-8"), source=GUIDE_FILE.name)


def step_guide(step_key: str) -> StepGuide:
    """The guide of the journey step ``step_key`` (``"data"``, ``"target"``, …).

    Raises:
        KeyError: no guide for that step (the message lists the steps that have one).
    """
    found = guides().get(step_key)
    if found is None:
        raise KeyError(f"No guide for step '{step_key}' in {GUIDE_FILE.name}; steps with one: {sorted(guides())}.")
    return found
