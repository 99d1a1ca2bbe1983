"""Charts of results: confusion matrix, ROC/PR, calibration, residuals, learning curves, clusters, comparisons."""

from __future__ import annotations

__all__: list[str] = []
