"""The glossary: every term the app uses, explained once, searchable and linkable from any help text.

The words live in one content file, ``core/teaching/glossary.toml`` (one ``[[term]]`` table per
term), read and checked once. Any Markdown text links to a term with
``[words](glossary?term=<slug>)`` (:func:`term_link`): a link relative to the current page, so
it opens the Glossary page (``url_path`` ``glossary``) wherever the app is served, in a new tab,
with the term searched for and opened. :func:`link_terms` adds such links to help texts and
tooltips by itself; :func:`tooltip` and :func:`metric_tooltip` add a link to the term a widget or a
metric is about.

Standard library only: tooltips and guided-mode notes that link here show on the first page,
which loads no heavy library (the activation curves are computed in :mod:`core.charts.glossary`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

#: The content file.
GLOSSARY_FILE = Path(__file__).with_name("glossary.toml")
#: The Glossary page's ``url_path`` (its key in ``ui.journey.EXTRAS``); links are relative to the current page.
PAGE = "glossary"
#: The query parameter that names the term a link opens.
QUERY_PARAM = "term"
#: The groups terms are shown in, in this order.
GROUPS: tuple[str, ...] = (
    "Basics",
    "Data preparation",
    "Splitting and validation",
    "Training",
    "Metrics",
    "Clustering",
    "Anomaly detection",
    "Activations",
    "Explanations",
)
#: The activation group (its terms name a Keras activation and have a formula, a range and a use).
ACTIVATION_GROUP = "Activations"
_REQUIRED = ("slug", "name", "group", "text")
_OPTIONAL = ("aliases", "forms", "formula", "use", "caveat", "range", "metric", "activation", "autolink")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Term:
    """One glossary entry.

    ``formula`` is Markdown with KaTeX maths (``$...$``); ``use`` says when to use it, ``caveat``
    when it misleads. A metric's term names its key in :data:`core.metrics.METRICS` (``metric``),
    an activation's term its Keras name (``activation``) and the range of its output.
    ``autolink`` is off for words that have other meanings in the app's texts (a tree's "split").
    """

    slug: str
    name: str
    group: str
    text: str
    aliases: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    formula: str = ""
    use: str = ""
    caveat: str = ""
    output_range: str = ""
    metric: str = ""
    activation: str = ""
    autolink: bool = True

    @property
    def phrases(self) -> tuple[str, ...]:
        """The words that mean this term in a text: its name, aliases and other forms."""
        return (self.name, *self.aliases, *self.forms)

    def markdown(self) -> str:
        """The entry's full text in Markdown: explanation, formula, use, caveat, other terms linked."""
        parts = [self.text]
        if self.formula:
            parts.append(f"**Formula.** {self.formula}")
        if self.output_range:
            parts.append(f"**Output range.** {self.output_range}")
        if self.use:
            parts.append(f"**{'When it is used' if self.activation else 'When to use it'}.** {self.use}")
        if self.caveat:
            misleads = self.group in ("Metrics", "Clustering")
            parts.append(f"**{'When it misleads' if misleads else 'Watch out'}.** {self.caveat}")
        if self.aliases:
            parts.append("*Also called:* " + ", ".join(self.aliases))
        return link_terms("\n\n".join(parts), exclude=(self.slug,))


class GlossaryError(ValueError):
    """The content file is malformed: the message names the term and what to write instead."""


def parse(content: str, source: str = "glossary.toml") -> tuple[Term, ...]:
    """Check the content of a glossary file and return its terms, in the file's order.

    Raises:
        GlossaryError: invalid TOML, a missing or unknown field, a bad or repeated slug, an unknown
            group, a word that would mean two terms, a metric or activation term without its formula.
    """
    try:
        tables = tomllib.loads(content).get("term")
    except tomllib.TOMLDecodeError as err:
        raise GlossaryError(f"{source} is not valid TOML: {err}.") from err
    if not isinstance(tables, list) or not tables:
        raise GlossaryError(f"{source} needs one [[term]] table per term (slug, name, group, text).")
    found: list[Term] = []
    phrases: dict[str, str] = {}
    for number, table in enumerate(tables, start=1):
        item = _term(table, f"{source}: term {number}")
        where = f"{source}: term '{item.slug}'"
        if any(t.slug == item.slug for t in found):
            raise GlossaryError(f"{where} appears twice; each slug names one term.")
        for phrase in item.phrases:
            other = phrases.setdefault(_fold(phrase), item.slug)
            if other != item.slug:
                raise GlossaryError(f"{where}: '{phrase}' already means '{other}'; a word may name one term only.")
        found.append(item)
    return tuple(found)


def _term(table: object, where: str) -> Term:
    if not isinstance(table, dict):
        raise GlossaryError(f"{where} should be a [[term]] table.")
    missing = [k for k in _REQUIRED if not isinstance(table.get(k), str) or not table[k].strip()]
    if missing:
        raise GlossaryError(f"{where} needs a non-empty {missing[0]} = '…' ({', '.join(_REQUIRED)} are required).")
    slug = table["slug"]
    where = f"{where} ('{slug}')"
    unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise GlossaryError(f"{where} has unknown fields {unknown}; the fields read are {[*_REQUIRED, *_OPTIONAL]}.")
    if not _SLUG.fullmatch(slug):
        raise GlossaryError(f"{where}: a slug is lower-case words joined by '-', e.g. 'learning-rate'.")
    if table["group"] not in GROUPS:
        raise GlossaryError(f"{where}: group must be one of {list(GROUPS)}. Got '{table['group']}'.")
    words = {k: table.get(k, []) for k in ("aliases", "forms")}
    if not all(isinstance(v, list) and all(isinstance(a, str) and a.strip() for a in v) for v in words.values()):
        raise GlossaryError(f"{where}: aliases and forms must be lists of words, e.g. forms = ['overfits'].")
    texts = {k: table.get(k, "") for k in ("formula", "use", "caveat", "range", "metric", "activation")}
    if not all(isinstance(v, str) for v in texts.values()) or not isinstance(table.get("autolink", True), bool):
        raise GlossaryError(
            f"{where}: formula, use, caveat, range, metric and activation are text; autolink true/false."
        )
    if texts["metric"] and texts["metric"].replace("_", "-") != slug:
        raise GlossaryError(
            f"{where}: a metric's slug is its key with '-' for '_': '{texts['metric'].replace('_', '-')}'."
        )
    if texts["metric"] and not (texts["formula"] and texts["use"] and texts["caveat"]):
        raise GlossaryError(
            f"{where}: a metric needs a formula, a use (when to use it) and a caveat (when it misleads)."
        )
    cells = (texts["formula"], texts["range"], texts["use"])
    if (table["group"] == ACTIVATION_GROUP) != bool(texts["activation"]) or (
        texts["activation"] and not (all(cells) and not any("|" in c or "\n" in c.strip() for c in cells))
    ):
        raise GlossaryError(
            f"{where}: activation terms (group '{ACTIVATION_GROUP}') name their Keras activation and need a "
            "formula, a range and a use, each on one line without '|' (they fill a table); other terms name none."
        )
    return Term(
        slug=slug,
        name=table["name"].strip(),
        group=table["group"],
        text=table["text"].strip(),
        aliases=tuple(a.strip() for a in words["aliases"]),
        forms=tuple(a.strip() for a in words["forms"]),
        formula=texts["formula"].strip(),
        use=texts["use"].strip(),
        caveat=texts["caveat"].strip(),
        output_range=texts["range"].strip(),
        metric=texts["metric"],
        activation=texts["activation"],
        autolink=table.get("autolink", True),
    )


@cache
def terms() -> tuple[Term, ...]:
    """Every term, read from :data:`GLOSSARY_FILE` once (static text, the same for everyone)."""
    return parse(GLOSSARY_FILE.read_text(encoding="utf-8"), source=GLOSSARY_FILE.name)


@cache
def _by_slug() -> dict[str, Term]:
    return {t.slug: t for t in terms()}


def term(slug: str) -> Term | None:
    """The term called ``slug``, or ``None`` when there is none."""
    return _by_slug().get(slug)


def term_link(slug: str) -> str:
    """The target of a Markdown link that opens the Glossary page on ``slug``: ``glossary?term=<slug>``.

    Raises:
        KeyError: no such term (so a typo in a link fails where the link is written).
    """
    if slug not in _by_slug():
        raise KeyError(f"No glossary term '{slug}' in {GLOSSARY_FILE.name}.")
    return f"{PAGE}?{QUERY_PARAM}={slug}"


def _fold(text: str) -> str:
    """Text as searched and matched: case-folded, '-' and '_' read as spaces, spaces collapsed."""
    return " ".join(re.sub(r"[-_]", " ", text.casefold()).split())


def search(query: str) -> list[Term]:
    """Terms matching ``query`` (case-insensitive; every word of it must appear), best first.

    Ranked: the name (or slug) is the query, then an alias or form is, then the name contains it,
    then an alias or form does, then only the text does; alphabetically within a rank. An empty
    query gives every term, by group (:data:`GROUPS`) and in the file's order within a group.
    """
    words = _fold(query).split()
    if not words:
        return sorted(terms(), key=lambda t: GROUPS.index(t.group))
    wanted = " ".join(words)

    def rank(item: Term) -> int | None:
        name, aliases = _fold(item.name), [_fold(a) for a in (*item.aliases, *item.forms)]
        if wanted in (name, _fold(item.slug)):
            return 0
        if wanted in aliases:
            return 1
        if all(w in name for w in words):
            return 2
        if any(all(w in a for w in words) for a in aliases):
            return 3
        body = _fold(" ".join((item.text, item.formula, item.use, item.caveat)))
        return 4 if all(w in body for w in words) else None

    ranked = [(r, _fold(t.name), t) for t in terms() if (r := rank(t)) is not None]
    return [t for _, _, t in sorted(ranked, key=lambda x: (x[0], x[1]))]


# ----------------------------------------------------------------------------- links in help texts

#: Parts of Markdown never linked inside: code spans, links and images, autolinks and HTML, maths, bare URLs.
_PROTECTED = re.compile(
    r"(?P<fence>`+).+?(?P=fence)"
    r"|!?\[[^\]]*\]\((?P<target>[^)\s]*)[^)]*\)"
    r"|<[^<>\s]+>"
    r"|\$\$.+?\$\$|\$[^$\n]+\$"
    r"|https?://\S+",
    re.DOTALL,
)
_LINKED = re.compile(rf"^{PAGE}\?{QUERY_PARAM}=([a-z0-9-]+)$")


@cache
def _matcher() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every linkable phrase (longest first, whole words only) and phrase → slug."""
    slug_of = {_fold(p): t.slug for t in terms() if t.autolink for p in t.phrases}
    phrases = sorted({p for t in terms() if t.autolink for p in t.phrases}, key=len, reverse=True)
    # Inside a phrase a space, '-' or '_' may be written either way ("early-stopping", "learning rate").
    alternatives = "|".join(r"[\s_-]+".join(map(re.escape, re.split(r"[\s_-]+", p))) for p in phrases)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE), slug_of


def link_terms(text: str, exclude: Iterable[str] = ()) -> str:
    """``text`` (Markdown) with the first mention of each glossary term linked to its entry.

    Whole words only ("loss" is linked, "glossy" is not); never inside an existing link, code, maths
    or a URL; a term the text already links to is not linked again; terms in ``exclude`` (slugs) are
    left alone. The link keeps the words as written:
    "raise it if the model overfits" → "raise it if the model [overfits](glossary?term=overfitting)".
    """
    return _link_terms(text, frozenset(exclude))


@lru_cache(maxsize=4096)  # help texts are the app's own, few and redrawn on every rerun
def _link_terms(text: str, exclude: frozenset[str]) -> str:
    pattern, slug_of = _matcher()
    done = set(exclude)
    out: list[str] = []

    def link(match: re.Match[str]) -> str:
        slug = slug_of[_fold(match.group(0))]
        if slug in done:
            return match.group(0)
        done.add(slug)
        return f"[{match.group(0)}]({PAGE}?{QUERY_PARAM}={slug})"

    start = 0
    for protected in _PROTECTED.finditer(text):
        out.append(pattern.sub(link, text[start : protected.start()]))
        out.append(protected.group(0))
        linked = _LINKED.match(protected.group("target") or "")
        if linked:
            done.add(linked.group(1))
        start = protected.end()
    out.append(pattern.sub(link, text[start:]))
    return "".join(out)


def term_in(words: str) -> Term | None:
    """The first glossary term named in ``words`` (a widget's label: "Regularisation strength (C)"), if any."""
    pattern, slug_of = _matcher()
    match = pattern.search(words)
    return _by_slug()[slug_of[_fold(match.group(0))]] if match else None


def tooltip(text: str, *, about: str | None = None, slug: str | None = None) -> str:
    """A help text with its glossary links, ending with a link to the term it is about.

    The term is ``slug``, or else the first term named in ``about`` (a widget's label); it is linked
    once, at the end ("Learning rate in the glossary"), and the other terms the text mentions inline.
    """
    own = term(slug) if slug else (term_in(about) if about else None)
    if own is None:
        return link_terms(text)
    return f"{link_terms(text, exclude=(own.slug,))}\n\n[{own.name} in the glossary]({term_link(own.slug)})"


def metric_slug(key: str) -> str:
    """The glossary slug of a metric of :data:`core.metrics.METRICS` (``"roc_auc"`` → ``"roc-auc"``)."""
    return key.replace("_", "-")


def metric_tooltip(key: str, text: str) -> str:
    """A metric's help text (its meaning) with glossary links and a link to the metric's own entry."""
    return tooltip(text, slug=metric_slug(key) if term(metric_slug(key)) else None)


# ----------------------------------------------------------------------------- activation functions


def activation_terms() -> list[Term]:
    """The activation functions' terms, in the file's order."""
    return [t for t in terms() if t.group == ACTIVATION_GROUP]


def activation_table() -> list[dict[str, str]]:
    """One row per activation function: its Keras name, name, formula (KaTeX), output range and use."""
    return [
        {"key": t.activation, "name": t.name, "formula": t.formula, "range": t.output_range, "use": t.use}
        for t in activation_terms()
    ]


def activation_markdown() -> str:
    """:func:`activation_table` as a Markdown table (Streamlit renders the formulas' maths in it)."""
    head = "| Activation | Formula | Output range | When it is used |\n|---|---|---|---|"
    rows = [f"| {r['name']} | {r['formula']} | {r['range']} | {r['use']} |" for r in activation_table()]
    return "\n".join([head, *rows])
