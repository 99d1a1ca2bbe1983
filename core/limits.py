"""How far a picker or a chart may grow with the table, and how longer lists are cut to size.

A wide or odd table must not become a widget with millions of options (the browser
ran out of stack on 4 million ratio pairs) or a chart with a legend entry per class
(5,000 classes took minutes to draw). Pickers whose options can outgrow
:data:`MAX_OPTIONS` show a searched shortlist and say how many more there are;
charts show the :data:`CHART_CATEGORIES` most frequent categories and group the rest.
Other limits live with the rule they belong to: columns per file in
``core.loading.MAX_COLUMNS``, classes per target in ``core.target.class_limit``,
values per category in a prediction form in ``core.usable.MAX_CATEGORIES``.

A project file (:mod:`core.project`) is read only up to :data:`MAX_PROJECT_BYTES` and
:data:`MAX_PROJECT_DEPTH` levels of nesting; an uploaded table goes into one only up to
:data:`MAX_PROJECT_EMBED_BYTES`. The Data page draws the project box on a session's first
page, so this module loads no pandas (it is named in annotations only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the Data page's first draw reads the project limits without pandas
    import pandas as pd

#: At most this many options in one picker (selectbox, multiselect); more are reached by searching.
MAX_OPTIONS = 500
#: At most this many categories (classes, bars, legend entries) in one chart; the rest are grouped.
CHART_CATEGORIES = 30
#: A project file is refused above this size: its settings take a few KB, the rest is an embedded table.
MAX_PROJECT_BYTES = 4 * 1024 * 1024
#: An uploaded table goes into a project file up to this size (base64 makes it a third larger, still under
#: :data:`MAX_PROJECT_BYTES`); a larger one is named and fingerprinted, and the person uploads it again.
MAX_PROJECT_EMBED_BYTES = 2 * 1024 * 1024
#: Levels of nesting a project file may have (its settings need about eight: a network's layers are deepest).
MAX_PROJECT_DEPTH = 32
#: Characters of one name (a column, a file, a model) and digits of one whole number in a project file.
MAX_PROJECT_NAME = 1_000
MAX_PROJECT_DIGITS = 20


@dataclass(frozen=True)
class Shortlist:
    """The options a picker shows: the chosen ones, then the first matches of the search."""

    options: list
    #: How many options match the search (shown or not), the chosen ones included.
    matching: int
    #: How many options there are in all.
    total: int

    @property
    def hidden(self) -> int:
        """Matching options left out of :attr:`options`."""
        return max(0, self.matching - len(self.options))

    def note(self, what: str = "options") -> str:
        """What the picker leaves out and how to reach it ("Showing 500 of 3,998,000 pairs: …"); empty when nothing."""
        if not self.hidden:
            return ""
        found = "" if self.matching == self.total else f" ({self.matching:,} match the search)"
        return (
            f"Showing {len(self.options):,} of {self.total:,} {what}{found}: {self.hidden:,} more. "
            "Type part of a name to narrow the list."
        )


def matches(text: str, query: str) -> bool:
    """Whether every word of ``query`` occurs in ``text`` (case-insensitive); an empty query matches all."""
    words = query.casefold().split()
    lowered = str(text).casefold()
    return all(word in lowered for word in words)


def shortlist(options: Sequence, query: str = "", keep: Iterable = (), limit: int = MAX_OPTIONS) -> Shortlist:
    """The chosen options (``keep``) and then the first options matching ``query``, at most ``limit`` in all.

    Chosen options stay whatever the search, so a picker never drops a choice the person made.
    """
    allowed = set(options)
    kept = list(dict.fromkeys(o for o in keep if o in allowed))
    seen = set(kept)
    found = [o for o in options if matches(str(o), query)]
    rest = (o for o in found if o not in seen)
    shown = kept + list(islice(rest, max(0, limit - len(kept))))
    matching = len(found) + sum(1 for o in kept if not matches(str(o), query))
    return Shortlist(shown, matching, len(options))


def ratio_pairs(
    columns: Sequence[str], query: str = "", keep: Iterable[tuple[str, str]] = (), limit: int = MAX_OPTIONS
) -> Shortlist:
    """Pairs (a, b) of different columns for ratio features, as a :class:`Shortlist`.

    A pair matches when either column's name matches ``query``. There are n × (n − 1)
    pairs, so they are counted, never all listed: 2,000 columns make 3,998,000.
    """
    n = len(columns)
    hits = [matches(c, query) for c in columns]
    m = sum(hits)
    allowed = set(columns)
    kept = list(dict.fromkeys((a, b) for a, b in keep if a in allowed and b in allowed and a != b))
    seen = set(kept)

    matching_columns = [c for c, hit in zip(columns, hits, strict=True) if hit]

    def found() -> Iterator[tuple[str, str]]:
        # pairs whose first column matches come first: "price" lists price / area before area / price
        for a in matching_columns:
            yield from ((a, b) for b in columns if a != b and (a, b) not in seen)
        for a, a_hit in zip(columns, hits, strict=True):
            if not a_hit:
                yield from ((a, b) for b in matching_columns if (a, b) not in seen)

    shown = kept + list(islice(found(), max(0, limit - len(kept))))
    matching = m * (2 * n - m - 1) + sum(1 for a, b in kept if not (matches(a, query) or matches(b, query)))
    return Shortlist(shown, matching, n * (n - 1))


def other_label(count: int) -> str:
    """The name of the group that holds the categories a chart leaves out."""
    return f"other ({count:,} classes)"


def group_rare(labels: pd.Series, limit: int = CHART_CATEGORIES) -> pd.Series:
    """``labels`` as text, at most ``limit`` distinct: the most frequent, then the rest under :func:`other_label`.

    Missing values stay missing. With at most ``limit`` distinct labels nothing changes but the type.
    """
    text = labels.astype("str").where(labels.notna())
    counts = text.value_counts()
    if len(counts) <= limit:
        return text
    top = counts.index[: limit - 1]
    return text.where(text.isin(top) | text.isna(), other_label(len(counts) - len(top)))
