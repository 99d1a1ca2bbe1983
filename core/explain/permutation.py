"""Permutation SHAP over the whole pipeline, on the person's own columns (any model, Keras included).

The algorithm is shap's ``PermutationExplainer``: for each row, walk a random
order of the columns forward (switching columns from background values to the
row's values one by one) and backward (antithetic sampling); each column's
contribution is the average change of the model's output when it switches.
One forward-and-backward pass is exact for models with at most pairwise
interactions, and always additive: base value + contributions = the model's
output for the row. "Off" columns take the values of the background rows, and
the output is the weighted average over them.

Two things make it fast enough for a page:

* Vectorised over rows: every masked variant of a chunk of rows goes through
  the model in one call (shap calls the model row by row; a Keras network pays
  a fixed cost per call).
* Preprocessed once: when every model feature comes from one column
  (imputation, scaling, one-hot, TF-IDF and date parts all work column by
  column), running the pipeline on a row that mixes columns of row ``r`` and
  background row ``b`` gives, per feature, exactly the features of ``r`` or of
  ``b``. So the distinct rows are preprocessed once and the masked inputs are
  assembled from them — the same numbers as pushing every masked row through
  the whole pipeline, at a fraction of the cost. When a feature mixes columns
  (interaction terms, ratios), masked rows go through the whole pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.anomaly import anomaly_scores
from core.explain.background import dense
from core.explain.result import is_missing
from core.explain.timing import fit_line, retimed
from core.training import transform_only

#: Upper bound on the cells of one batch of masked model inputs (memory stays in tens of MB).
BATCH_CELLS = 6_000_000


class PermutationMethod:
    """Permutation SHAP of ``trained.pipeline`` against weighted background rows.

    Args:
        trained: The trained model.
        background: Background rows in the person's columns (all the pipeline's inputs).
        weights: One weight per background row, summing to 1.
        columns: The person's columns to attribute to.
        permutations: Forward-and-backward passes per row (more = closer to exact Shapley values).
        seed: Random seed for the column orders. Each row's orders come from this seed and the
            row's own values, so a row gets the same contributions whichever rows it is explained with
            (the what-if view re-explains a row alone and must match the main explanation).
    """

    label = "Permutation SHAP"
    #: Which rows the values are measured against, in words (set by whoever chooses them).
    background_text = ""

    def __init__(
        self,
        trained: Any,
        background: pd.DataFrame,
        weights: np.ndarray,
        columns: list[str],
        *,
        permutations: int = 1,
        seed: int = 0,
    ) -> None:
        self.pipeline = trained.pipeline
        self.estimator = self.pipeline.steps[-1][1]
        self.inputs = [str(c) for c in getattr(self.pipeline.steps[0][1], "feature_names_in_", background.columns)]
        self.columns = list(columns)
        self.names = list(columns)
        self.sources = [(c,) for c in columns]
        self.permutations = max(1, int(permutations))
        self.seed = int(seed)
        self.classification = trained.task.is_classification and hasattr(self.estimator, "predict_proba")
        # An anomaly detector has no prediction to explain: its anomaly score is the output (core.anomaly).
        self.anomaly = not trained.task.has_target and hasattr(self.estimator, "score_samples")
        self.output = "probability" if self.classification else ("anomaly score" if self.anomaly else "value")
        self.background = background[self.inputs].reset_index(drop=True)
        self.weights = np.asarray(weights, dtype=float)
        self.groups = _feature_groups(trained.sources, self.columns)
        self.fast = self.groups is not None
        self.base = self.weights @ self._model(transform_only(self.pipeline, self.background))
        self.background_rows = len(self.background)
        self.note = (
            f"Permutation SHAP over the whole pipeline on your columns: {self.permutations} forward-and-backward "
            f"pass(es) per row against {len(self.background)} background rows."
        )

    # ------------------------------------------------------------------ model calls

    def _model(self, Xt: Any) -> np.ndarray:
        """The explained output per row: class probabilities, the anomaly score, or the prediction (rows × outputs)."""
        if self.classification:
            return np.asarray(self.estimator.predict_proba(Xt), dtype=float)
        if self.anomaly:
            return anomaly_scores(self.estimator, Xt).reshape(Xt.shape[0], -1)
        return np.asarray(self.estimator.predict(Xt), dtype=float).reshape(Xt.shape[0], -1)

    def evaluations_per_row(self) -> int:
        """Model evaluations (masked rows × background rows) one explained row costs."""
        return evaluations_per_row(self.permutations, len(self.columns), len(self.background))

    def seconds_per_evaluation(self, *, clock=time.perf_counter, enough: float = 0.2) -> tuple[float, int]:
        """(seconds, predictions): the model's time per masked row, timed on batches of background rows.

        Batches grow fourfold from 64 rows until the time has grown with the rows (twice the
        first batch's) and a batch took ``enough`` seconds, or they took a second together, or
        a batch holds 16,384 rows; a line through the times leaves out the cost every call pays.
        For a slow model this times a row's worth of work without explaining a whole row.
        """

        rows = len(self.background)
        if self.fast:  # masked inputs are assembled from preprocessed rows: the model alone is timed
            features = transform_only(self.pipeline, self.background)
            features = sp.csr_matrix(features) if sp.issparse(features) else _matrix(features)

        def timed(size: int) -> float:
            picks = np.arange(size) % rows
            batch = features[picks] if self.fast else None
            started = clock()
            if batch is not None:
                self._model(batch)
            else:  # every masked row goes through the whole pipeline
                self._model(transform_only(self.pipeline, self.background.iloc[picks]))
            return clock() - started

        return time_per_evaluation(timed, enough)

    # ------------------------------------------------------------------ explaining

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        """Contributions rows × columns × outputs for ``rows`` (person's columns)."""
        rows = rows[self.inputs].reset_index(drop=True)
        width = self.groups[1] if self.groups is not None else len(self.inputs)
        per_row = max(1, self.evaluations_per_row() * width)
        step = max(1, BATCH_CELLS // per_row)
        parts = [self._explain_chunk(rows.iloc[i : i + step].reset_index(drop=True)) for i in range(0, len(rows), step)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.columns), len(self.base)))

    def _explain_chunk(self, rows: pd.DataFrame) -> np.ndarray:
        n, m = len(rows), len(self.columns)
        pool = pd.concat([rows, self.background], ignore_index=True)
        pool_t = transform_only(self.pipeline, pool) if self.fast else None
        full = self._model(pool_t[:n] if pool_t is not None else transform_only(self.pipeline, rows))
        width = self.groups[1] if self.groups is not None else len(self.inputs)
        # Very wide inputs: a few masks at a time.
        step = max(1, BATCH_CELLS // max(1, n * len(self.background) * width))
        return permutation_values(
            row_orders(rows, self.seed, self.permutations, m),
            full,
            self.base,
            lambda masks: self._masked_outputs(masks, rows, pool, pool_t),
            step,
        )

    def _masked_outputs(self, masks: np.ndarray, rows: pd.DataFrame, pool: pd.DataFrame, pool_t: Any) -> np.ndarray:
        """Weighted-average model output for each mask (masks: variants × rows × columns → variants × rows × outputs)."""
        e, n, _ = masks.shape
        b = len(self.background)
        from_row = np.broadcast_to(np.arange(n)[None, :, None], (e, n, b))
        from_bg = np.broadcast_to(n + np.arange(b)[None, None, :], (e, n, b))
        sources = {c: np.where(masks[:, :, j, None], from_row, from_bg).ravel() for j, c in enumerate(self.columns)}
        if self.fast:
            out = self._model(self._assemble(pool_t, sources))
        else:
            frame = pd.DataFrame(
                {c: pool[c].take(sources.get(c, from_row.ravel())).reset_index(drop=True) for c in self.inputs}
            )
            out = self._model(transform_only(self.pipeline, frame))
        return np.einsum("enbk,b->enk", out.reshape(e, n, b, -1), self.weights)

    def _assemble(self, pool_t: Any, sources: dict[str, np.ndarray]) -> Any:
        """Model inputs whose features come, column by column, from the chosen pool rows."""
        if self.groups is None:
            raise ValueError("Only a pipeline whose features come from known columns is assembled from parts.")
        members, width = self.groups
        if sp.issparse(pool_t):
            pool_t = sp.csr_matrix(pool_t)
            parts: list[Any] = []
            order: list[int] = []
            for column, features in members.items():
                parts.append(pool_t[:, features][sources[column]])
                order.extend(features)
            return sp.hstack(parts, format="csr")[:, np.argsort(order)]
        pool_t = _matrix(pool_t)
        out = np.empty((len(next(iter(sources.values()))), width), dtype=pool_t.dtype)
        for column, features in members.items():
            out[:, features] = pool_t[:, features][sources[column]]
        return out


# ---------------------------------------------------------------------- shared with core.explain.sequence


def evaluations_per_row(permutations: int, players: int, background_rows: int) -> int:
    """Model evaluations (masked inputs × background rows) one explained row costs: each pass switches
    ``players`` on one by one forward and backward (``2 × players − 2`` masked variants), plus the row itself."""
    return permutations * max(0, 2 * players - 2) * background_rows + 1


def time_per_evaluation(timed: Callable[[int], float], enough: float) -> tuple[float, int]:
    """(seconds, evaluations): the model's time per evaluation, from ``timed(size)``, the seconds a batch of
    ``size`` evaluations took.

    Batches grow fourfold from 64 until the time has grown with them (twice the first batch's) and a
    batch took ``enough`` seconds, or they took ``5 × enough`` together, or a batch holds 16,384; a
    line through the times leaves out the cost every call pays.
    """
    n, spent = 64, 0.0
    points: list[tuple[int, float]] = []
    while True:
        took = retimed(timed, n, points)
        points.append((n, took))
        spent += took
        grew = len(points) > 1 and took >= 2 * points[0][1]
        if (grew and took >= enough) or spent >= 5 * enough or n >= 16_384:
            return fit_line(points)[1], sum(p[0] for p in points)
        n *= 4


def row_orders(rows: pd.DataFrame, seed: int, permutations: int, players: int) -> np.ndarray:
    """Player orders passes × rows × players, drawn per row from ``seed`` and the row's values
    (:func:`row_keys`): a row gets the same orders whichever rows it is explained with."""
    orders = np.empty((permutations, len(rows), players), dtype=np.int64)
    for r, key in enumerate(row_keys(rows)):
        rng = np.random.default_rng([seed, int(key)])
        for p in range(permutations):
            orders[p, r] = rng.permutation(players)
    return orders


def permutation_values(
    orders: np.ndarray,
    full: np.ndarray,
    base: np.ndarray,
    masked_outputs: Callable[[np.ndarray], np.ndarray],
    step: int,
) -> np.ndarray:
    """Permutation SHAP contributions rows × players × outputs (shap's ``PermutationExplainer``, vectorised).

    Args:
        orders: Player orders passes × rows × players (``order[r, k]``: the k-th player switched on in row r).
        full: The model's output for the rows, every player on (rows × outputs).
        base: The output with every player off (the background's weighted average).
        masked_outputs: The weighted-average output for masks variants × rows × players (True: the row's
            value, False: the background's) → variants × rows × outputs.
        step: Masks per call of ``masked_outputs`` (memory).

    Returns:
        Each player's average change of the output when it switches on, forward and backward; they add up
        to ``full − base`` row by row.
    """
    n, m = full.shape[0], orders.shape[2]
    phi = np.zeros((n, m, full.shape[1]))
    if m == 1:
        phi[:, 0] = full - base
        return phi
    at = np.arange(n)
    empty = np.broadcast_to(base, full.shape)
    for order in orders:
        rank = np.argsort(order, axis=1)  # rank[r, j]: when player j is switched on
        masks = np.stack([rank < k for k in range(1, m)] + [rank >= k for k in range(1, m)])
        outputs = np.concatenate([masked_outputs(masks[i : i + step]) for i in range(0, len(masks), step)])
        seq_f = [empty, *outputs[: m - 1], full]
        seq_b = [full, *outputs[m - 1 :], empty]
        for k in range(m):
            phi[at, order[:, k]] += seq_f[k + 1] - seq_f[k]
            phi[at, order[:, k]] += seq_b[k] - seq_b[k + 1]
    return phi / (2 * len(orders))


def _matrix(X: Any) -> np.ndarray:
    """Model inputs as one array: floats, or objects when they hold text (a text network reads words)."""
    if not sp.issparse(X) and getattr(getattr(X, "dtype", None), "kind", "") == "O":
        return np.asarray(X)
    return dense(X)


def row_keys(rows: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's values, the same for equal values whatever their dtype.

    Numbers are compared as floats (an edited ``3.0`` matches a stored ``3``), everything
    else as text; missing values hash alike whether NaN, None or NaT.
    """
    canon = {}
    for i in range(rows.shape[1]):
        values = rows.iloc[:, i]
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            canon[i] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            canon[i] = [None if is_missing(v) else str(v) for v in values.to_numpy(dtype=object)]
    frame = pd.DataFrame(canon, index=range(len(rows)))
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _feature_groups(
    sources: list[tuple[str, tuple[str, ...]]], columns: list[str]
) -> tuple[dict[str, list[int]], int] | None:
    """Model feature positions per column when every feature comes from exactly one explained column; else None."""
    if not sources:
        return None
    members: dict[str, list[int]] = {}
    for i, (_, cols) in enumerate(sources):
        if len(cols) != 1 or cols[0] not in columns:
            return None
        members.setdefault(cols[0], []).append(i)
    return members, len(sources)
