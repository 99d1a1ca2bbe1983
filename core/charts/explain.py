"""Charts of explanations: SHAP importance, beeswarm, dependence, waterfall, permutation importance."""

from __future__ import annotations

__all__: list[str] = []
