"""Permutation SHAP for a sequence network (:class:`core.keras_sequence.SequenceNetwork`), over its windows.

A sequence network reads a window of rows, not one row, so the pipeline-wide method
(:mod:`core.explain.permutation`), which swaps a row's columns with a background row's, would also
move the row to another entity and time. This method explains the network on its own input:

* the rows to explain and the background rows become windows as the model reads them (each row's
  past from the training rows the model remembers, then from the rows explained with it);
* the players are (step of the window, source column) pairs: the preprocessed features that come from
  one of the person's columns (a one-hot column's levels, a time feature's column) switch together, at
  one step of the window, from the background window's values to the row's; the padding channel is the
  row's throughout;
* Permutation SHAP (one forward-and-backward pass per order, as shap's ``PermutationExplainer``;
  :func:`core.explain.permutation.permutation_values`, shared with the pipeline-wide method),
  vectorised over rows and background rows, gives each pair's contribution; summed over the steps they
  give each source column's. Base value + contributions = the model's output for the row, exactly.

:attr:`SequenceMethod.per_step` keeps the contributions per step of the last rows explained (how
far back what mattered lies).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from core.explain.permutation import evaluations_per_row, permutation_values, row_orders, time_per_evaluation
from core.features import feature_sources
from core.training import transform_only

#: Upper bound on the window values of one batch of masked inputs (memory stays in tens of MB).
BATCH_VALUES = 6_000_000


class SequenceMethod:
    """Permutation SHAP of a sequence network on its windows, against weighted background rows.

    Args:
        trained: The trained model (its pipeline ends in a :class:`~core.keras_sequence.SequenceNetwork`).
        background: Background rows in the person's columns.
        weights: One weight per background row, summing to 1.
        permutations: Forward-and-backward passes per row.
        seed: Seeds each row's orders, with the row's own values (a row alone gets what it gets among others).
    """

    label = "Permutation SHAP over the window"
    background_text = ""

    def __init__(
        self, trained: Any, background: pd.DataFrame, weights: np.ndarray, *, permutations: int = 1, seed: int = 0
    ) -> None:
        self.pipeline = trained.pipeline
        self.network = self.pipeline.steps[-1][1]
        self.inputs = [str(c) for c in getattr(self.pipeline.steps[0][1], "feature_names_in_", background.columns)]
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, (_, cols) in enumerate(feature_sources(self.pipeline)):
            groups.setdefault(tuple(cols), []).append(i)
        self.sources = list(groups)
        self.names = [", ".join(cols) for cols in groups]
        self.group_of = np.empty(self.network.n_features_, dtype=np.int64)
        for g, members in enumerate(groups.values()):
            self.group_of[members] = g
        self.steps = int(self.network.window)
        self.players = self.steps * len(self.sources)
        self.permutations = max(1, int(permutations))
        self.seed = int(seed)
        self.classification = trained.task.is_classification
        self.output = "probability" if self.classification else "value"
        self.background = self._windows(background)
        self.weights = np.asarray(weights, dtype=float)
        self.base = self.weights @ self.network.window_output(self.background)
        self.background_rows = len(self.background)
        self.per_step: np.ndarray | None = None
        self._context: tuple[pd.Index, np.ndarray] | None = None
        self.note = (
            f"Permutation SHAP over the network's windows of {self.steps} rows: each of your columns at each "
            f"step of the window, {self.permutations} forward-and-backward pass(es) per row against "
            f"{self.background_rows} background rows; a column's value is its sum over the steps."
        )

    def _windows(self, rows: pd.DataFrame) -> np.ndarray:
        return self.network.windows(transform_only(self.pipeline, rows[self.inputs]))

    def set_context(self, rows: pd.DataFrame) -> None:
        """Build the windows of all ``rows`` at once: explained in chunks, each row still reads the rows given
        with it before it (as the model predicts them together)."""
        self._context = (rows.index, self._windows(rows)) if rows.index.is_unique else None

    def _windows_of(self, rows: pd.DataFrame) -> np.ndarray:
        context = self._context
        if context is not None:
            at = context[0].get_indexer(rows.index)
            if len(at) and (at >= 0).all():
                return context[1][at]
        return self._windows(rows)

    # ------------------------------------------------------------------ cost

    def evaluations_per_row(self) -> int:
        """Network evaluations (masked windows × background rows) one explained row costs."""
        return evaluations_per_row(self.permutations, self.players, self.background_rows)

    def seconds_per_evaluation(self, *, clock=time.perf_counter, enough: float = 0.2) -> tuple[float, int]:
        """(seconds, windows): the network's time per window, timed on growing batches of background windows."""

        def timed(size: int) -> float:
            batch = self.background[np.arange(size) % len(self.background)]
            started = clock()
            self.network.window_output(batch)
            return clock() - started

        return time_per_evaluation(timed, enough)

    # ------------------------------------------------------------------ explaining

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        """Contributions rows × source columns × outputs (summed over the window's steps)."""
        windows = self._windows_of(rows)
        per_step = np.zeros((len(rows), self.steps, len(self.sources), len(np.atleast_1d(self.base))))
        orders = row_orders(rows[self.inputs], self.seed, self.permutations, self.players)
        size = max(1, BATCH_VALUES // max(1, 2 * self.players * self.background_rows * windows[0].size))
        for start in range(0, len(rows), size):
            part = slice(start, start + size)
            per_step[part] = self._explain_chunk(windows[part], orders[:, part])
        self.per_step = per_step
        return per_step.sum(axis=1)

    def _explain_chunk(self, windows: np.ndarray, orders: np.ndarray) -> np.ndarray:
        """Contributions rows × steps × source columns × outputs: Permutation SHAP over the (step, column) players."""
        n = len(windows)
        step = max(1, BATCH_VALUES // max(1, n * self.background_rows * windows[0].size))
        phi = permutation_values(
            orders,
            self.network.window_output(windows),
            self.base,
            lambda masks: self._masked_outputs(masks, windows),
            step,
        )
        return phi.reshape(n, self.steps, len(self.sources), -1)

    def _masked_outputs(self, masks: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """Weighted-average output per mask (variants × rows × players → variants × rows × outputs)."""
        e, n, _ = masks.shape
        b = len(self.background)
        # players (step, group) → each step's features: on[e, r, step, feature]
        on = masks.reshape(e, n, self.steps, len(self.sources))[..., self.group_of]
        features = self.network.n_features_
        mixed = np.where(
            on[:, :, None, :, :],
            windows[None, :, None, :, :features],
            self.background[None, None, :, :, :features],
        )
        flag = np.broadcast_to(windows[None, :, None, :, features:], (e, n, b, self.steps, 1))
        batch = np.concatenate([mixed, flag], axis=-1).reshape(e * n * b, self.steps, features + 1)
        out = self.network.window_output(batch)
        return np.einsum("enbk,b->enk", out.reshape(e, n, b, -1), self.weights)
