"""TreeSHAP and LinearSHAP on a pipeline's final estimator, over its transformed features.

shap's tree and linear explainers do not accept a whole ``Pipeline``, so these
explain the final estimator on ``transform_only(pipeline, rows)`` and return
per-feature values; :mod:`core.explain.explainer` sums them back to the person's
columns. Every method is called on a frame of rows in the person's columns and
returns an array rows × features × outputs, plus ``base`` (one value per output).

shap is imported inside the constructors: ``import core.explain`` must stay light.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.explain.background import dense
from core.training import transform_only

#: Seconds per row per unit of Σ leaves × depth² for exact path-dependent TreeSHAP (measured here, 2 cores).
EXACT_SECONDS_PER_LD2 = {"sklearn": 2.0e-9, "lightgbm": 1.1e-8}
#: Seconds per row per unit of Σ depth for the approximate (Saabas) mode.
APPROX_SECONDS_PER_DEPTH = 7.0e-8


def unwrap_target(model: Any) -> tuple[Any, float, float] | None:
    """(inner model, scale, offset) so that output = inner output × scale + offset.

    A ``TransformedTargetRegressor`` with a standard scaler (or no transformer)
    is linear in its inner model's output, so SHAP values of the inner model
    scale back to the target's units exactly. None when the transform is not linear.
    """
    if not hasattr(model, "regressor_"):
        return model, 1.0, 0.0
    transformer = getattr(model, "transformer_", None)
    if transformer is None or (type(transformer).__name__ == "FunctionTransformer" and transformer.func is None):
        return model.regressor_, 1.0, 0.0
    scale, mean = getattr(transformer, "scale_", None), getattr(transformer, "mean_", None)
    if scale is not None and mean is not None and np.size(scale) == 1:
        return model.regressor_, float(np.ravel(scale)[0]), float(np.ravel(mean)[0])
    return None


def import_shap() -> Any:
    """shap, imported on first use (its plotting colours raise deprecation warnings on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap
    return shap


def _as_3d(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[..., None] if values.ndim == 2 else values


class _FeatureMethod:
    """Shared parts of the methods that work on the transformed features."""

    label = ""
    output = "value"
    note = ""
    #: Which rows the values are measured against, in words (set by whoever chooses them).
    background_text = ""

    def __init__(self, trained: Any) -> None:
        self.pipeline = trained.pipeline
        unwrapped = unwrap_target(self.pipeline.steps[-1][1])
        if unwrapped is None:
            raise DashboardError("The target transform of this model is not linear.")
        self.model, self.scale, self.offset = unwrapped
        self.names = [name for name, _ in trained.sources]
        self.sources = [cols for _, cols in trained.sources]
        self.base = np.zeros(1)

    def present(self, rows: pd.DataFrame) -> Any:
        """rows × features, sparse: True where the model's input is not zero (a word appears, a category is set)."""
        import scipy.sparse as sp

        Xt = transform_only(self.pipeline, rows)
        return sp.csr_matrix(Xt != 0) if sp.issparse(Xt) else sp.csr_matrix(np.asarray(Xt) != 0)

    def _check_width(self, Xt: Any) -> None:
        if Xt.shape[1] != len(self.names):
            raise DashboardError(
                f"The model sees {Xt.shape[1]} features but {len(self.names)} feature names are known.",
                hint="Retrain the model.",
            )

    def _rescale(self, values: np.ndarray, base: Any) -> np.ndarray:
        self.base = np.atleast_1d(np.asarray(base, dtype=float)) * self.scale + self.offset
        return values * self.scale


class TreeMethod(_FeatureMethod):
    """TreeSHAP on the final tree model: exact (path-dependent, no background needed) or approximate (Saabas).

    The output is what the trees add up: probabilities for scikit-learn forests
    and single trees, log-odds (raw margins) for gradient boosting classifiers,
    the target's units for regression.
    """

    def __init__(self, trained: Any, approximate: bool = False) -> None:
        shap = import_shap()
        super().__init__(trained)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.explainer = shap.TreeExplainer(self.model)
        ensemble = self.explainer.model
        self.approximate_available = ensemble.model_type == "internal"
        classification = trained.task.is_classification
        if classification:
            self.output = "probability" if ensemble.tree_output == "probability" else "log-odds"
        self.background_text = "the training rows the trees were grown on"  # the trees' own row counts
        if _class_weighted(self.model):
            # The trees' row counts were weighted by class: their average is not the mean prediction.
            self.background_text += ", each class weighted equally (class weights were on)"
        self._set_mode(approximate)

    def _set_mode(self, approximate: bool) -> None:
        self.approximate = bool(approximate and self.approximate_available)
        self.label = "TreeSHAP (approximate)" if self.approximate else "TreeSHAP (exact)"
        self.note = (
            "Approximate TreeSHAP (Saabas): one path per tree, fast but it over-weights splits near the leaves."
            if self.approximate
            else "Exact TreeSHAP (path-dependent): uses the trees' own training-row counts, no background needed."
        )

    def with_mode(self, approximate: bool) -> TreeMethod:
        """The same prepared method in the exact or approximate mode (shap reads the trees once)."""
        other = copy.copy(self)
        other._set_mode(approximate)
        return other

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        Xt = dense(transform_only(self.pipeline, rows))
        self._check_width(Xt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = self.explainer.shap_values(Xt, approximate=self.approximate, check_additivity=False)
        return self._rescale(_as_3d(values), self.explainer.expected_value)


def _class_weighted(model: Any) -> bool:
    """Whether a (tree) model was fitted with class weights, which weight the trees' row counts."""
    inner = getattr(model, "regressor", model)
    params = inner.get_params() if hasattr(inner, "get_params") else {}
    return params.get("class_weight") not in (None, {}, "")


class LinearMethod(_FeatureMethod):
    """LinearSHAP: coefficient × (value − background mean) per feature, exact for linear models.

    Classifiers are explained in log-odds (the scale on which they are linear).
    """

    label = "LinearSHAP"

    def __init__(self, trained: Any, background_t: Any) -> None:
        shap = import_shap()
        super().__init__(trained)
        if not hasattr(self.model, "coef_"):
            raise DashboardError("This model has no coefficients.")
        masker = shap.maskers.Independent(background_t, max_samples=background_t.shape[0])
        self.explainer = shap.LinearExplainer(self.model, masker)
        self.output = "log-odds" if trained.task.is_classification else "value"
        self.note = f"LinearSHAP against the mean of {background_t.shape[0]} background rows."
        self.background_rows = int(background_t.shape[0])

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        Xt = transform_only(self.pipeline, rows)
        self._check_width(Xt)
        values = self.explainer.shap_values(Xt)
        return self._rescale(_as_3d(values), self.explainer.expected_value)


# --------------------------------------------------------------------------- cost rules


def tree_stats(model: Any) -> list[tuple[int, int]]:
    """(leaves, depth) of every tree of a fitted tree model (empty if unknown)."""
    if hasattr(model, "tree_"):
        return [(int(model.tree_.n_leaves), int(model.tree_.max_depth))]
    if hasattr(model, "estimators_"):
        return [(int(e.tree_.n_leaves), int(e.tree_.max_depth)) for e in np.ravel(model.estimators_)]
    if hasattr(model, "_predictors"):  # scikit-learn's histogram gradient boosting
        return [
            (int(p.nodes["is_leaf"].sum()), int(p.nodes["depth"].max())) for stage in model._predictors for p in stage
        ]
    if hasattr(model, "booster_"):  # LightGBM: depth from the leaf count (trees grow leaf-wise)
        leaves = int(model.get_params().get("num_leaves", 31))
        depth = int(model.get_params().get("max_depth", -1))
        depth = depth if depth > 0 else int(np.ceil(np.log2(max(2, leaves)))) + 2
        return [(leaves, depth)] * int(model.booster_.num_trees())
    return []


def tree_seconds_per_row(trained: Any) -> tuple[float, float]:
    """Rule-of-thumb seconds per row for exact and approximate TreeSHAP on this model."""
    unwrapped = unwrap_target(trained.pipeline.steps[-1][1])
    model = unwrapped[0] if unwrapped else trained.pipeline.steps[-1][1]
    stats = tree_stats(model)
    if not stats:
        return 1e-3, 1e-4
    leaves, depth = np.asarray(stats, dtype=float).T
    family = "lightgbm" if hasattr(model, "booster_") else "sklearn"
    exact = EXACT_SECONDS_PER_LD2[family] * float((leaves * depth**2).sum())
    approx = APPROX_SECONDS_PER_DEPTH * float(depth.sum())
    return max(exact, 2e-6), max(approx, 1e-6)
