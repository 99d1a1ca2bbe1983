"""Everything the guards say about one model of a run, as sentences for the report and the model card."""

from __future__ import annotations

from typing import Any

from core.cleaning import row_losses
from core.guards.findings import Finding, worst_first


def run_findings(request: Any, model: Any) -> list[Finding]:
    """The model's after-training checks (when they have run) and the leakage scan of the run's training rows."""
    scan = request.leakage.findings if request.leakage is not None else []
    return worst_first([*(model.checks or []), *scan])


def run_warnings(request: Any, model: Any) -> list[str]:
    """Rows the cleaning plan dropped beyond the limit, what the time budget changed, then every finding.

    ``request`` is a :class:`core.training.TrainingRequest`, ``model`` one of its
    :class:`core.training.TrainedModel`.
    """
    lines: list[str] = []
    if getattr(request, "sample_of", None) is not None:  # a file too big to read whole: said first
        lines.append(request.sample_of.trained_note())
    report = request.row_report
    if report is not None:
        lines += [
            f"{loss.message(report.rows_before)} This was confirmed on the Clean page." for loss in row_losses(report)
        ]
    if getattr(request, "budget", None) is not None:
        lines += request.budget.notes()
    if getattr(model, "budget_note", ""):
        lines.append(f"{model.name} {model.budget_note}.")
    return lines + [finding.text for finding in run_findings(request, model)]
