"""Train / validation / test split: seeded, stratified or time-ordered.

The test split is set aside here and touched once, for the final score (the
results page asks for it deliberately). Everything learned from data is fitted
on the training split; the validation split scores models for the leaderboard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.limits import CHART_CATEGORIES, group_rare, other_label
from core.target import Task


class SplitError(DashboardError):
    """The split cannot be made as asked."""


#: With cross-validation on "automatic", tables with fewer training + validation rows than this choose
#: their model by k-fold cross-validation on those rows: one small validation split is a noisy judge.
CV_AUTO_MAX_ROWS = 5_000
#: The folds of the automatic cross-validation.
CV_AUTO_FOLDS = 5
#: Rows a sequence needs for one of them to validate: cut in time per entity, an entity with fewer rows
#: only trains (the entity picker on the Models page says so below this, on average).
ENTITY_MIN_ROWS = 3


@dataclass(frozen=True)
class SplitConfig:
    """How to split; fractions must add up to 1."""

    train: float = 0.70
    valid: float = 0.15
    test: float = 0.15
    seed: int = 42
    stratify: bool = True
    time_column: str | None = None
    #: k-fold cross-validation on train+validation, which then ranks the models: ``None`` is automatic
    #: (:func:`folds_for`: :data:`CV_AUTO_FOLDS` under :data:`CV_AUTO_MAX_ROWS` rows), 0 off, k folds.
    cv_folds: int | None = None
    #: Rows ordered in time are cut per value of this column (machine, store): each one's oldest rows
    #: train, its newest test, so no row's past is in a later part than the row within its entity.
    entity_column: str | None = None
    #: Order by the rows' order as loaded (no time column): the first rows train, the last ones test.
    in_row_order: bool = False

    def __post_init__(self) -> None:
        # Rows ordered by time are cut in order, never stratified: say so in the config.
        if self.ordered and self.stratify:
            object.__setattr__(self, "stratify", False)

    @property
    def ordered(self) -> bool:
        """Whether rows are cut in time order (by a time column or as loaded) rather than shuffled."""
        return self.time_column is not None or self.in_row_order

    def folds_for(self, rows: int) -> int:
        """The folds models are cross-validated in when ``rows`` training + validation rows choose them (0: none).

        Automatic (``cv_folds`` is ``None``): :data:`CV_AUTO_FOLDS` below :data:`CV_AUTO_MAX_ROWS` rows, else
        none (the validation split is large enough to judge by, and k more fits per model would cost more);
        none either under two rows per fold.
        """
        if self.cv_folds is not None:
            return int(self.cv_folds)
        return CV_AUTO_FOLDS if 2 * CV_AUTO_FOLDS <= rows < CV_AUTO_MAX_ROWS else 0

    def to_dict(self) -> dict:
        """Plain data; the entity and row-order settings only when used, so older readers keep reading it."""
        values = asdict(self)
        for name, unused in (("entity_column", None), ("in_row_order", False)):
            if values[name] == unused:
                del values[name]
        return values

    def check(self) -> None:
        """Refuse fractions that do not make a usable split."""
        parts = {"train": self.train, "validation": self.valid, "test": self.test}
        for name, share in parts.items():
            if not 0 <= share < 1:
                raise SplitError(f"The {name} share must be between 0 and 1. Got {share}.")
        if self.train <= 0 or self.valid <= 0:
            raise SplitError("Training and validation need some rows each.")
        if abs(sum(parts.values()) - 1) > 1e-6:
            raise SplitError(f"Train, validation and test must add up to 100%. Got {sum(parts.values()):.0%}.")
        if self.cv_folds and not 2 <= self.cv_folds <= 20:
            raise SplitError(f"Cross-validation needs between 2 and 20 folds. Got {self.cv_folds}.")
        if self.time_column is not None and self.in_row_order:
            raise SplitError("Order the rows by a time column or by their order as loaded, not both.")
        if self.entity_column is not None and not self.ordered:
            raise SplitError(
                f"Rows are cut per '{self.entity_column}' only when they are ordered in time.",
                hint="Order the split by a time column or by the rows' order.",
            )


@dataclass(frozen=True)
class Split:
    """Row positions (into the cleaned table) of each part.

    ``config.cv_folds`` is always decided here (never automatic): the folds the models are
    cross-validated in, by :meth:`SplitConfig.folds_for` the training + validation rows.
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    config: SplitConfig
    #: Rows cut in time order: each row's place in time (by position in the cleaned table); else None.
    time_rank: np.ndarray | None = None

    def in_time_order(self, positions: np.ndarray) -> np.ndarray:
        """``positions`` oldest first when the rows are cut in time order (as they are otherwise).

        Training rows and validation rows are each in time order; cut per entity, the two together are
        not, and expanding-window cross-validation over them needs them to be.
        """
        if self.time_rank is None:
            return positions
        return positions[np.argsort(self.time_rank[positions], kind="stable")]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.valid), "test": len(self.test)}

    @property
    def cv_folds(self) -> int:
        """The folds models are cross-validated (and chosen) in; 0: chosen on the validation split."""
        return int(self.config.cv_folds or 0)

    @property
    def choice_rows(self) -> int:
        """The rows models are chosen on: training + validation (folds of them, or the validation part)."""
        return len(self.train) + len(self.valid)


def make_split(frame: pd.DataFrame, target: str | None, task: Task, config: SplitConfig) -> Split:
    """Split the rows of ``frame`` as ``config`` says.

    Classification is stratified by the target (when every class has at least
    two rows); with a ``time_column`` the rows are ordered by it and cut in
    order (oldest for training, newest for test) without shuffling. Automatic
    cross-validation is decided here, by the training + validation rows
    (:meth:`SplitConfig.folds_for`).
    """
    config.check()
    n = len(frame)
    if n < 10:
        raise SplitError(f"Only {n} rows remain after cleaning; at least 10 are needed to train and check a model.")
    split = _time_split(frame, config) if config.ordered else _shuffled(frame, target, task, config)
    _refuse_empty(frame, split)
    folds = config.folds_for(len(split.train) + len(split.valid))
    return split if folds == config.cv_folds else replace(split, config=replace(config, cv_folds=folds))


def _shuffled(frame: pd.DataFrame, target: str | None, task: Task, config: SplitConfig) -> Split:
    n = len(frame)
    rng = np.random.default_rng(config.seed)
    positions = np.arange(n)
    labels = frame[target].to_numpy() if (target is not None and task.is_classification and config.stratify) else None
    if labels is not None and pd.Series(labels).value_counts().min() < 2:
        labels = None  # a class with one row cannot be in two parts
    if labels is None:
        shuffled = rng.permutation(positions)
        return _cut(shuffled, n, config)
    parts: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    codes, _ = pd.factorize(labels, use_na_sentinel=False)  # classes in order of appearance; one pass
    order = np.argsort(codes, kind="stable")
    for group in np.split(positions[order], np.cumsum(np.bincount(codes))[:-1]):
        members = rng.permutation(group)
        cut = _cut(members, len(members), config)
        for name in parts:
            parts[name].append(getattr(cut, name))
    train, valid, test = (rng.permutation(np.concatenate(parts[k])) for k in ("train", "valid", "test"))
    return Split(train, valid, test, config)


def _refuse_empty(frame: pd.DataFrame, split: Split) -> None:
    """Refuse, in words with a fix, a split whose validation part (or test part, asked for) has no row."""
    empty = (
        "validation" if len(split.valid) == 0 else "test" if len(split.test) == 0 and split.config.test > 0 else None
    )
    if empty is None:
        return
    entity = split.config.entity_column
    if entity is None:
        raise SplitError(
            f"With {len(frame):,} rows, no row is left for the {empty} part.",
            hint=f"Use a larger {empty} share{' or set the test share to 0' if empty == 'test' else ''}.",
        )
    most = int(frame[entity].value_counts(dropna=False).max())
    rows = f"Each '{entity}' value has only 1 row" if most == 1 else f"No '{entity}' value has more than {most} rows"
    raise SplitError(
        f"{rows}: cut per entity, no row is left for {'validation' if empty == 'validation' else 'testing'}. "
        "An entity needs several rows over time (a machine, a store); pick another entity column or none."
    )


def _cut(order: np.ndarray, n: int, config: SplitConfig) -> Split:
    n_test = round(n * config.test)
    n_valid = max(1, round(n * config.valid)) if n >= 3 else 0
    n_train = n - n_valid - n_test
    return Split(order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :], config)


def _time_split(frame: pd.DataFrame, config: SplitConfig) -> Split:
    """Rows cut in time order: as a whole, or each entity's rows (oldest train, then validation, newest test).

    Each part's positions come oldest first (ties in their order in the table); ``time_rank`` keeps every
    row's place in time for cross-validation over parts put together (:meth:`Split.in_time_order`).
    """
    n = len(frame)
    if config.in_row_order:
        order = np.arange(n)
    else:
        column = config.time_column
        if column not in frame.columns:
            raise SplitError(f"There is no column '{column}' to order the rows by.")
        values = frame[column]
        if values.isna().any():
            raise SplitError(
                f"'{column}' has {int(values.isna().sum()):,} missing values; rows cannot be ordered in time.",
                hint="Drop those rows on the Clean page or pick another column.",
            )
        order = np.argsort(values.to_numpy(), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    entity = config.entity_column
    if entity is None:
        return replace(_cut(order, n, config), time_rank=rank)
    if entity not in frame.columns:
        raise SplitError(f"There is no column '{entity}' to cut the rows per entity by.")
    codes, _ = pd.factorize(frame[entity], use_na_sentinel=False)  # rows without an entity: one of their own
    by_entity = np.lexsort((rank, codes))  # per entity, oldest first
    sizes = np.bincount(codes)
    group = codes[by_entity]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    step = np.arange(n) - starts[group]
    n_test = np.round(sizes * config.test).astype(int)
    n_valid = np.where(sizes >= ENTITY_MIN_ROWS, np.maximum(1, np.round(sizes * config.valid)), 0).astype(int)
    n_train = sizes - n_valid - n_test
    part = np.where(step < n_train[group], 0, np.where(step < (n_train + n_valid)[group], 1, 2))
    in_part = np.empty(n, dtype=np.int64)
    in_part[by_entity] = part
    train, valid, test = (order[in_part[order] == k] for k in (0, 1, 2))  # each oldest first
    return Split(train, valid, test, config, rank)


def split_summary(split: Split, y: pd.Series | None, *, max_classes: int = CHART_CATEGORIES) -> pd.DataFrame:
    """Rows per part and, for labels, each class's share per part (for a chart).

    Beyond ``max_classes`` classes the rarest are summed as one "other (N classes)" row per part,
    listed after the classes it leaves out.
    """
    rows = []
    labels = group_rare(y, max_classes) if y is not None else None
    distinct = int(y.nunique()) if y is not None else 0
    other = other_label(distinct - max_classes + 1) if distinct > max_classes else None
    for name, idx in (("train", split.train), ("validation", split.valid), ("test", split.test)):
        if labels is None:
            rows.append({"split": name, "class": "all rows", "rows": len(idx), "share": 1.0})
            continue
        counts = labels.iloc[idx].value_counts()
        for label, count in counts.items():
            rows.append({"split": name, "class": label, "rows": int(count), "share": count / max(1, len(idx))})
    summary = pd.DataFrame(rows)
    if other is not None:
        summary = summary.sort_values("class", key=lambda c: c == other, kind="stable").reset_index(drop=True)
    return summary


def cv_words(asked: SplitConfig, split: Split) -> str:
    """How the models of this split will be chosen, in words (for the Models page under the cross-validation box)."""
    rows = len(split.train) + len(split.valid)
    if split.cv_folds:
        why = (
            f" (automatic: under {CV_AUTO_MAX_ROWS:,} rows one validation split is a noisy judge)"
            if (asked.cv_folds is None)
            else ""
        )
        kind = "expanding-window (time-ordered) " if split.config.ordered else ""
        return (
            f"Models are chosen by {split.cv_folds}-fold {kind}cross-validation on the {rows:,} training + "
            f"validation rows{why}; the chosen one is then refitted on those rows. The test rows stay aside."
        )
    why = f" (automatic: {rows:,} rows are enough for one validation split)" if asked.cv_folds is None else ""
    return (
        f"Models are chosen by their score on the {len(split.valid):,} validation rows{why}; the chosen one is then "
        f"refitted on the {rows:,} training + validation rows. The test rows stay aside."
    )


#: Fewer validation rows than this and the scores move a lot by chance (said on Models and in the report).
SMALL_VALIDATION = 100


def size_warning(split: Split) -> str | None:
    """Plain words when the validation split is too small for its scores to be steady."""
    rows = len(split.valid)
    if rows == 0 or rows >= SMALL_VALIDATION:
        return None  # no row at all: make_split refuses the split in words
    if split.cv_folds:
        return None  # models are chosen by cross-validation on training + validation rows, not by these alone
    advice = " or switch on cross-validation"
    return (
        f"The validation split has only {rows} rows, so the scores can move a lot by chance. "
        f"Use a larger validation share{advice}."
    )


def split_warnings(split: Split, y: pd.Series | None) -> list[str]:
    """Plain words when validation or test rows lack classes the training rows hold (or hold only one).

    ``y`` holds the class labels of the split's table (``None`` for regression and
    clustering: no warnings). Each message says what cannot be computed and how
    to fix it.
    """
    if y is None:
        return []
    fix = (
        "Use a larger validation/test share, or shuffle instead of ordering by time."
        if split.config.ordered
        else "Use a larger validation/test share; a class with very few rows cannot be in every part."
    )
    trained = _classes(y.iloc[split.train])
    if len(trained) == 1:
        return [
            f"The training rows hold only one class ({_names(trained)}): a model cannot learn to tell classes "
            f"apart. {fix}"
        ]
    messages = []
    for name, idx in (("validation", split.valid), ("test", split.test)):
        if len(idx) == 0:
            continue
        present = _classes(y.iloc[idx])
        here, known = set(present), set(trained)
        missing = [c for c in trained if c not in here]
        unseen = [c for c in present if c not in known]
        found = []
        if len(present) == 1:
            found.append(
                f"The {name} rows hold only one class ({_names(present)}): ROC-AUC and log loss cannot be "
                "computed there, and accuracy alone says little."
            )
        elif missing:
            found.append(
                f"The {name} rows hold {len(present) - len(unseen)} of the {len(trained)} classes "
                f"({_names(missing)} {'is' if len(missing) == 1 else 'are'} missing): ROC-AUC and per-class "
                "precision cannot be computed for the missing classes."
            )
        if unseen:
            found.append(
                f"The {name} rows hold classes the training rows never show ({_names(unseen)}): "
                "the model cannot predict them."
            )
        if found:
            messages.append(" ".join([*found, fix]))
    return messages


def _classes(labels: pd.Series) -> list:
    return sorted(pd.unique(labels.dropna()), key=str)


def _names(labels: list, limit: int = 5) -> str:
    shown = ", ".join(repr(str(c)) for c in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def time_order_advice(frame: pd.DataFrame, date_columns: list[str]) -> tuple[str, str] | None:
    """The date column to order the split by, and why in plain words; ``None`` without dates.

    Prefers the first column with a date on every row (rows without one cannot
    be ordered).
    """
    if not date_columns:
        return None
    complete = [c for c in date_columns if c in frame.columns and frame[c].notna().all() and frame[c].nunique() > 1]
    column = complete[0] if complete else date_columns[0]
    message = (
        "Rows have dates: shuffling lets the model train on the future and be scored on the past; "
        f"order by '{column}' to test on the newest rows, as the model would be used. Ordered in time, "
        "the rows can also give features from earlier rows (lags, moving averages: the Time and sequences "
        "section below)."
    )
    if not complete:
        message += f" '{column}' has rows without a date: drop them on the Clean page first."
    return column, message


def cv_folds(
    y: pd.Series | None, positions: np.ndarray, task: Task, folds: int, seed: int, *, in_time_order: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, score) position pairs for k-fold cross-validation over ``positions``.

    With ``in_time_order`` (``positions`` oldest first: :meth:`Split.in_time_order`
    puts training and validation rows together in time order) the folds are
    expanding windows: each scores the rows right after the ones it is fitted on,
    so no fold learns from the future of the rows it is scored on — within each
    entity too, since the rows are in time order across entities. Otherwise the
    folds are shuffled, stratified for classes when every class has a row in each fold.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    if in_time_order:
        pairs = TimeSeriesSplit(n_splits=folds).split(positions)
    elif y is not None and task.is_classification and y.iloc[positions].value_counts().min() >= folds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        pairs = splitter.split(positions, y.iloc[positions])
    else:
        pairs = KFold(n_splits=folds, shuffle=True, random_state=seed).split(positions)
    return [(positions[a], positions[b]) for a, b in pairs]


def sample_positions(y: pd.Series | None, positions: np.ndarray, rows: int, seed: int, stratify: bool) -> np.ndarray:
    """``rows`` of ``positions``, seeded, in their original order (a time order stays one).

    With ``stratify`` and class labels ``y`` (indexed by position in the cleaned table), each class keeps
    its share (every class at least one row); otherwise a plain random sample.
    """
    if rows >= len(positions):
        return positions
    rng = np.random.default_rng(seed)
    if not stratify or y is None:
        picked = rng.choice(len(positions), rows, replace=False)
        return positions[np.sort(picked)]
    codes, _ = pd.factorize(y.to_numpy()[positions], use_na_sentinel=False)
    counts = np.bincount(codes)
    quota = np.maximum(1, np.floor(counts * rows / len(positions))).astype(int)
    spare = rows - int(quota.sum())
    if spare > 0:  # the rows rounding left over go to the largest remainders
        remainders = counts * rows / len(positions) - np.floor(counts * rows / len(positions))
        for index in np.argsort(-remainders)[:spare]:
            quota[index] = min(counts[index], quota[index] + 1)
    chosen = [
        rng.choice(np.flatnonzero(codes == code), min(q, counts[code]), replace=False) for code, q in enumerate(quota)
    ]
    return positions[np.sort(np.concatenate(chosen))]
