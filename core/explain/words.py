"""Which words pushed a prediction up or down: each word left out in turn, through the whole pipeline.

For one row, every distinct word of a text column is removed from the text (all its
occurrences), the row is predicted again, and the word's **effect** is the change it made:
the model's output for the row as it is minus its output without the word. A positive effect
pushed the output up (towards the explained class, or a larger number), a negative one down.
Overall, the same is done for up to :data:`MAX_ROWS` validation rows and each word's effects
are averaged over the rows that contain it, with how many rows that is.

Why leave-one-word-out occlusion rather than shap's ``Text`` masker with its Partition explainer:

* **Any model, the same meaning.** It needs nothing but the pipeline's predictions, so a TF-IDF
  linear model, a forest on TF-IDF and the Keras text network are explained alike, on the text as
  the person wrote it; the number is a change of the model's own output ("without 'free' the
  probability of spam falls by 0.41"), not a share of a Shapley value under a hierarchy of word
  groups the person never sees.
* **Cheap and bounded.** A row of *w* distinct words costs *w* + 2 predictions (the row, the row
  without any text, each word left out), all in **one** predict call; shap's Partition explainer
  needs a few evaluations per word *and* a clustering of the tokens, calls the model once per
  batch of its own choosing, and its ``Text`` masker wants a tokenizer object (a Hugging Face
  tokenizer or a regex) and a mask token the TF-IDF pipelines would read as a word. Rows are
  batched together up to :data:`BATCH_ROWS` model inputs per call.
* **Repeatable.** No sampling: the same model and row give the same effects.

What it misses: words that stand in for each other (two words that each suffice to say "spam"
each look weak when left out alone), and order (a word is removed everywhere in the row). The
row's view shows the change from the whole text to no text beside the words' effects, so a
gap between the two is visible. Texts are split into words by :data:`WORD` (letters, digits,
inner apostrophes); upper and lower case are one word.

Limits are defined once here: :data:`MAX_WORDS` per row, :data:`MAX_ROWS` rows overall.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import events as ev
from core.engine import ClusterJob
from core.errors import DashboardError
from core.markdown import escape
from core.target import Task, match_label

#: Distinct words left out per row (the first ones in the text); a row with more says so.
MAX_WORDS = 60
#: Validation rows the overall view reads at most, and by default.
MAX_ROWS = 200
DEFAULT_ROWS = 100
#: Words the overall chart shows; words of a single row are left out when enough occur in two or more.
TOP_WORDS = 20
MIN_ROWS_PER_WORD = 2
#: Model inputs per predict call (all of a row's variants always go in the same call).
BATCH_ROWS = 4_096
#: Work expected to take longer than this runs on the cluster, shorter work in the page's process.
IN_PROCESS_SECONDS = 1.0
#: A word: letters and digits, with inner apostrophes ("don't", "l’eau").
WORD = re.compile(r"\w+(?:['’]\w+)*")


# --------------------------------------------------------------------------- texts


def words_in(text: str) -> list[tuple[str, int, int]]:
    """The words of ``text`` as ``(word in lower case, start, end)``, in order."""
    return [(m.group().lower(), m.start(), m.end()) for m in WORD.finditer(text)]


def without_each_word(text: str, max_words: int = MAX_WORDS) -> tuple[list[str], list[str], list[int], bool]:
    """``text`` with each of its distinct words left out in turn.

    Returns:
        (words, texts, occurrences, truncated): the first ``max_words`` distinct words in order of first
        appearance, the text without each (every occurrence removed, the rest unchanged), how often each
        occurs, and whether the text had more distinct words than ``max_words``.
    """
    found = words_in(text)
    order = list(dict.fromkeys(word for word, _, _ in found))
    words = order[:max_words]
    texts = []
    for word in words:
        parts, at = [], 0
        for other, start, end in found:
            if other == word:
                parts.append(text[at:start])
                at = end
        parts.append(text[at:])
        texts.append("".join(parts))
    occurrences = [sum(1 for other, _, _ in found if other == word) for word in words]
    return words, texts, occurrences, len(order) > max_words


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


# --------------------------------------------------------------------------- the explained output


@dataclass(frozen=True)
class Output:
    """Which number of the model's answer is explained, and its name in words.

    ``class_index``: the column of ``predict_proba`` explained (binary: the positive class); None with
    ``probability`` means each row's predicted class (multiclass).
    """

    probability: bool
    class_index: int | None
    name: str


def explained_output(trained: Any, class_index: int | None = None, positive: Any = None) -> Output:
    """What :func:`row_words` and :func:`overall_words` explain for ``trained`` (a model with ``pipeline`` and ``task``).

    Binary: the probability of ``positive`` (the run's positive class; the second class when none
    is given). Multiclass: the probability of class ``class_index``, or of each row's predicted class.
    Regression: the prediction.
    """
    pipeline, task = trained.pipeline, Task(trained.task)
    if not task.is_classification or not hasattr(pipeline, "predict_proba"):
        return Output(False, None, "prediction")
    classes = list(getattr(pipeline, "classes_", []))
    if task == Task.BINARY and class_index is None and len(classes) == 2:
        found = match_label(classes, positive)
        class_index = classes.index(found) if found is not None and found in classes else 1
    if class_index is None:
        return Output(True, None, "probability of each row's predicted class")
    if not 0 <= class_index < len(classes):
        raise DashboardError(f"The model has {len(classes)} classes; there is no class number {class_index}.")
    return Output(True, int(class_index), f"probability of {classes[class_index]!r}")


# --------------------------------------------------------------------------- one row


@dataclass(frozen=True)
class RowWords:
    """The words of one row's text and what leaving each out did to the model's output."""

    column: str
    row: Any  # the row's label in the table
    text: str
    output_name: str
    #: The model's output for the row as it is, and with the column's text left empty.
    output: float
    without_text: float
    #: word, effect (output − output without the word), occurrences; in order of first appearance.
    words: pd.DataFrame
    truncated: bool = False
    #: The class explained, when each row's predicted class is (multiclass).
    predicted_class: Any = None

    def spans(self) -> list[tuple[int, int, float]]:
        """Where each explained word sits in the text, as ``(start, end, effect)``, in order."""
        effects = dict(zip(self.words["word"], self.words["effect"], strict=True))
        return [(start, end, float(effects[word])) for word, start, end in words_in(self.text) if word in effects]


def row_words(
    trained: Any,
    row: pd.DataFrame,
    column: str,
    *,
    class_index: int | None = None,
    positive: Any = None,
    max_words: int = MAX_WORDS,
) -> RowWords:
    """The words of ``row``'s text in ``column`` that pushed its prediction, in one predict call.

    Args:
        trained: A model with ``pipeline`` and ``task`` (a ``TrainedModel`` or a ``UsableModel``).
        row: One row in the person's columns (every input the pipeline reads).
        column: The text column.
        class_index, positive: What is explained (:func:`explained_output`).
        max_words: Most distinct words left out (:data:`MAX_WORDS`).
    """
    output = explained_output(trained, class_index, positive)
    [result] = _explain_rows(trained, row.iloc[:1], column, output, max_words)
    return result


def _explain_rows(trained: Any, rows: pd.DataFrame, column: str, output: Output, max_words: int) -> list[RowWords]:
    """:class:`RowWords` of every row of ``rows``, their variants predicted together (one call)."""
    if column not in rows.columns:
        raise DashboardError(f"The model has no column {column!r} to read words from.")
    pipeline = trained.pipeline
    frames, owners, plans = [], [], []
    for i in range(len(rows)):
        text = _text(rows[column].iloc[i])
        words, texts, occurrences, truncated = without_each_word(text, max_words)
        variants = rows.iloc[[i] * (len(texts) + 2)].copy()
        variants[column] = [text, "", *texts]
        frames.append(variants)
        owners.extend([i] * len(variants))
        plans.append((text, words, occurrences, truncated))
    frame = pd.concat(frames, ignore_index=True)
    owner = np.asarray(owners)
    classes = None
    if not output.probability:
        values = np.asarray(pipeline.predict(frame), dtype=float).reshape(-1)
    else:
        proba = np.asarray(pipeline.predict_proba(frame), dtype=float)
        if output.class_index is None:  # each row's predicted class, from the row as it is (its first variant)
            classes = np.argmax(proba[np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])], axis=1)
            values = proba[np.arange(len(frame)), classes[owner]]
        else:
            values = proba[:, output.class_index]
    labels = list(getattr(pipeline, "classes_", []))
    results, at = [], 0
    for i, (text, words, occurrences, truncated) in enumerate(plans):
        own = values[at : at + len(words) + 2]
        at += len(words) + 2
        results.append(
            RowWords(
                column=column,
                row=rows.index[i],
                text=text,
                output_name=output.name,
                output=float(own[0]),
                without_text=float(own[1]),
                words=pd.DataFrame(
                    {"word": words, "effect": own[0] - own[2:], "occurrences": occurrences},
                    columns=["word", "effect", "occurrences"],
                ).astype({"word": object, "effect": float, "occurrences": int}),
                truncated=truncated,
                predicted_class=labels[classes[i]] if classes is not None and labels else None,
            )
        )
    return results


#: In a row's marked text, words whose effect is at least this share of the row's largest are marked,
#: and those at least :data:`BOLD_SHARE` of it also in bold.
MARK_SHARE = 0.1
BOLD_SHARE = 0.5
#: Characters of a row's text shown marked at most (the rest is cut, and the cut is said).
MARKED_CHARACTERS = 2_000


def marked_text(row: RowWords, limit: int = MARKED_CHARACTERS) -> str:
    """``row``'s text as Markdown with its pushing words marked: orange background up, violet down.

    Every character that came from the text is escaped (:func:`core.markdown.escape`); only the
    colour directives around the words (Streamlit's ``:orange-background[…]``) are Markdown, so a
    text holding ``**bold**``, a link or ``<script>`` shows literally.
    """
    text = row.text[:limit]
    largest = float(row.words["effect"].abs().max()) if len(row.words) else 0.0
    parts, at = [], 0
    for start, end, effect in row.spans():
        if end > len(text):
            break
        if largest <= 0 or abs(effect) < MARK_SHARE * largest:
            continue
        word = escape(text[start:end])
        word = f"**{word}**" if abs(effect) >= BOLD_SHARE * largest else word
        parts.append(escape(text[at:start]))
        parts.append(f":{'orange' if effect > 0 else 'violet'}-background[{word}]")
        at = end
    parts.append(escape(text[at:]))
    return "".join(parts) + ("…" if len(row.text) > limit else "")


# --------------------------------------------------------------------------- overall


@dataclass(frozen=True)
class OverallWords:
    """The words with the largest mean effect over many rows, and how often they occur."""

    column: str
    output_name: str
    #: word, mean_effect (over the rows containing it), mean_abs_effect, rows (containing it), share (of rows read)
    words: pd.DataFrame
    rows: int
    rows_requested: int
    seconds: float
    #: Rows whose text had more than :data:`MAX_WORDS` distinct words (only the first were left out).
    truncated_rows: int = 0
    partial: bool = False
    per_row: list[RowWords] = field(default_factory=list, repr=False)


def overall_words(
    trained: Any,
    rows_frame: pd.DataFrame,
    column: str,
    *,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    class_index: int | None = None,
    positive: Any = None,
    max_words: int = MAX_WORDS,
    top: int = TOP_WORDS,
    listener: ev.Listener = ev.ignore,
    should_stop: Callable[[], bool] = lambda: False,
) -> OverallWords:
    """The words that pushed predictions most over ``rows`` rows of ``rows_frame`` (a seeded sample beyond that).

    Rows go through the model :data:`BATCH_ROWS` inputs at a time (a row's variants always together);
    after each call a :class:`core.events.RowsExplained` says how far it got, and ``should_stop()``
    ends it there with the rows done (``partial``).
    """
    started = time.perf_counter()
    output = explained_output(trained, class_index, positive)
    wanted = max(1, min(int(rows), MAX_ROWS, len(rows_frame)))
    picked = (
        rows_frame
        if len(rows_frame) <= wanted
        else rows_frame.iloc[np.sort(np.random.default_rng(seed).choice(len(rows_frame), wanted, replace=False))]
    )
    cost = [min(len(dict.fromkeys(w for w, _, _ in words_in(_text(v)))), max_words) + 2 for v in picked[column]]
    done: list[RowWords] = []
    partial = False
    listener(ev.RowsExplained(model=column, step=0, steps=len(picked), rows=0, rows_total=len(picked)))
    start = 0
    while start < len(picked):
        end, inputs = start, 0
        while end < len(picked) and (end == start or inputs + cost[end] <= BATCH_ROWS):
            inputs += cost[end]
            end += 1
        done.extend(_explain_rows(trained, picked.iloc[start:end], column, output, max_words))
        start = end
        spent = time.perf_counter() - started
        left = spent / len(done) * (len(picked) - len(done))
        listener(
            ev.RowsExplained(
                model=column,
                step=len(done),
                steps=len(picked),
                rows=len(done),
                rows_total=len(picked),
                seconds_left=left,
            )
        )
        if start < len(picked) and should_stop():
            partial = True
            break
    return OverallWords(
        column=column,
        output_name=output.name,
        words=summarize(done, top),
        rows=len(done),
        rows_requested=len(picked),
        seconds=time.perf_counter() - started,
        truncated_rows=sum(r.truncated for r in done),
        partial=partial,
        per_row=done,
    )


def summarize(per_row: list[RowWords], top: int = TOP_WORDS) -> pd.DataFrame:
    """Each word's mean effect over the rows containing it, the largest first (at most ``top``).

    Words of a single row are left out when at least ``top`` words occur in :data:`MIN_ROWS_PER_WORD`
    rows or more (one row's word says little about the model); words with no effect at all are left out.
    """
    columns = ["word", "mean_effect", "mean_abs_effect", "rows", "share"]
    if not per_row:
        return pd.DataFrame(columns=columns)
    long = pd.concat([r.words[["word", "effect"]] for r in per_row], ignore_index=True)
    if long.empty:
        return pd.DataFrame(columns=columns)
    grouped = long.groupby("word", sort=True)["effect"]
    frame = pd.DataFrame(
        {
            "mean_effect": grouped.mean(),
            "mean_abs_effect": grouped.apply(lambda s: float(np.abs(s).mean())),
            "rows": grouped.size(),
        }
    ).reset_index()
    frame["share"] = frame["rows"] / len(per_row)
    largest = float(frame["mean_abs_effect"].max())
    frame = frame[frame["mean_abs_effect"] > 1e-9 * max(largest, 1e-12)]
    if (frame["rows"] >= MIN_ROWS_PER_WORD).sum() >= min(top, len(frame)):
        frame = frame[frame["rows"] >= MIN_ROWS_PER_WORD]
    order = frame["mean_effect"].abs().sort_values(ascending=False, kind="stable").index
    return frame.loc[order].head(top).reset_index(drop=True)[columns]


# --------------------------------------------------------------------------- cost, and the cluster job


def estimate_seconds(
    trained: Any, rows_frame: pd.DataFrame, column: str, rows: int = DEFAULT_ROWS, clock=time.perf_counter
) -> float:
    """About how long :func:`overall_words` takes for ``rows`` rows, timed on a few of them in this process.

    One warm-up call, then one call on the first rows' variants (up to 256 inputs); the time per input
    times the inputs all the rows need. Errs long (the timed call's fixed cost is counted per input).
    """
    sample = rows_frame.iloc[: max(1, min(rows, 20))]
    per_row = [min(len(dict.fromkeys(w for w, _, _ in words_in(_text(v)))), MAX_WORDS) + 2 for v in sample[column]]
    output = explained_output(trained)
    _explain_rows(trained, sample.iloc[:1], column, output, 1)  # warm-up: first calls pay set-up
    count, inputs = 0, 0
    while count < len(sample) and inputs + per_row[count] <= 256:
        inputs += per_row[count]
        count += 1
    count = max(count, 1)
    started = clock()
    _explain_rows(trained, sample.iloc[:count], column, output, MAX_WORDS)
    seconds = clock() - started
    inputs = max(sum(per_row[:count]), 1)
    total = float(np.mean(per_row)) * min(rows, len(rows_frame))
    return seconds / inputs * total


class WordsJob(ClusterJob):
    """:func:`overall_words` as one task on the cluster; the :class:`OverallWords` is the job's result.

    Its events are :class:`core.events.RowsExplained`; Stop ends it after the predict call in
    progress and keeps the rows done. ``on_cluster``: the model already on a worker (a future), as
    for :class:`core.explain.ExplainJob`.
    """

    name = "words-job"

    def __init__(
        self, trained: Any, rows_frame: pd.DataFrame, column: str, on_cluster: Any = None, **options: Any
    ) -> None:
        self.trained = trained
        super().__init__(_words_task, on_cluster if on_cluster is not None else trained, rows_frame, column, options)

    def _execute(self) -> OverallWords:
        result = super()._execute()
        self._keep(result)
        return result


def _words_task(listen, should_stop, keep, trained, rows_frame, column, options) -> OverallWords:
    """On a worker: :func:`overall_words` (partial when stopped)."""
    return overall_words(trained, rows_frame, column, listener=listen, should_stop=should_stop, **options)
