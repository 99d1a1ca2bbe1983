"""The one-click demo: what it does with a bundled sample, step by step, as plain data.

The demo walks a sample through the journey with the choices a person makes by leaving
every page at its default: the sample's documented target (checked against
:func:`core.target.detect_task`), the features the Target page ticks, the plan the Clean
page starts from, and a small, fast preset of models. The UI (``ui/demo_views.py``) stores
each object through the session's usual setters, so afterwards every page shows the run
as if the person had clicked through it.

Importing this module is light (the Data page lists the demo before any table exists):
pandas, scikit-learn and Dask load with the functions that need them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from core.errors import DashboardError
from core.samples import Sample, list_samples

if TYPE_CHECKING:
    import pandas as pd

    from core.cleaning import RowReport
    from core.schema import Role, RoleGuess
    from core.target import TargetChoice, Task
    from core.training import ModelRun, TrainSetup

#: Seconds the demo's run may take (one of the Models page's budget choices).
BUDGET_SECONDS = 30
#: Validation rows the explanation covers: enough for the charts, quick on any model.
EXPLAIN_ROWS = 40
#: The goal for the whole demo, from the button to the explanation, on two cores (seconds).
GOAL_SECONDS = 30

#: The fast preset by kind of task: (model key, parameters changed from the catalogue's defaults).
#: A baseline to beat, a linear model, a random forest with few trees and gradient boosting with few
#: rounds. Both ensembles grow in stages, so the Train page draws their validation curves live.
#: No Keras network: on two busy cores importing TensorFlow on a worker took 3-5 s before the first
#: epoch, and a chosen network is then refitted and explained by Permutation SHAP; together that broke
#: the 30-second goal. The staged ensembles give the live curve instead (score per tree or round).
PRESET: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "classification": (
        ("baseline", {}),
        ("logistic_regression", {}),
        ("random_forest_clf", {"n_estimators": 60}),
        ("hist_gradient_boosting_clf", {"max_iter": 60}),
    ),
    "regression": (
        ("baseline", {}),
        ("ridge", {}),
        ("random_forest_reg", {"n_estimators": 60}),
        ("hist_gradient_boosting_reg", {"max_iter": 60}),
    ),
}
#: What training imports on a worker, asked of the workers as the demo starts (while the app reads the
#: sample and makes its choices) instead of when the first model arrives: about 4 s on two busy cores.
#: shap is not among them: it would hold the first models back another 2 s; the workers import it
#: while the chosen model is refitted (``core.explain.warm_workers``, as the Explain page does).
WARM_MODULES = ("core.training.run", "sklearn.linear_model", "sklearn.ensemble")
#: The task each sample's catalogue entry names (``sample_data/catalog.json``).
CATALOGUE_TASKS = {
    "binary": "binary classification",
    "multiclass": "multiclass classification",
    "regression": "regression",
}


@dataclass(frozen=True)
class DemoStep:
    """One step of the demo: the journey step it completes, what the person reads, what "done" means."""

    key: str  # the journey step (ui.journey.STEPS) it completes
    doing: str  # shown while it runs
    done: str  # shown once done, before the step's note
    meaning: str  # what "done" means, in the session's terms (ui.journey.is_done)


STEPS: tuple[DemoStep, ...] = (
    DemoStep("data", "Loading the sample…", "Sample loaded", "a dataset is loaded"),
    DemoStep("target", "Choosing the target…", "Target chosen", "a target and its features are saved"),
    DemoStep("clean", "Making the cleaning plan…", "Cleaning plan", "a cleaning plan is saved"),
    DemoStep("models", "Choosing the models…", "Models chosen", "the split and the models are saved"),
    DemoStep("train", "Training the models (live curves below)…", "Trained", "the training run has ended"),
    DemoStep(
        "results",
        "Scoring the chosen model on the test split…",
        "Test score",
        "the chosen model's test score is logged",
    ),
    DemoStep("explain", "Explaining the chosen model…", "Explanation", "an explanation of the chosen model exists"),
)


@dataclass(frozen=True)
class DemoProgress:
    """A demo in one session: which sample, how far it got, what each step said, how long it took.

    Plain data, kept in the session (``ui.state.DEMO``); the objects themselves (dataset, target,
    plan, models, jobs) are kept by the session's usual setters, not here.
    """

    sample: str  # the sample's key
    title: str  # the sample's title
    started_at: float = field(default_factory=time.time)
    step: int = 0  # index into STEPS of the step to do next
    notes: tuple[tuple[str, str], ...] = ()  # (step key, what it did in words), in order
    status: str = "running"  # "running", "finished", "stopped", "failed"
    error: str | None = None  # why it failed, or why it stopped when the person did not stop it
    elapsed: float | None = None  # seconds from the button to the end (finished, stopped or failed)
    version: int | None = None  # the dataset version the demo loaded (other data loaded since stops it)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def current(self) -> DemoStep | None:
        """The step being done now, or None when the demo is over."""
        return STEPS[self.step] if self.running and self.step < len(STEPS) else None

    def note(self, key: str) -> str | None:
        """What step ``key`` did, once done."""
        return dict(self.notes).get(key)

    def seconds(self, now: float | None = None) -> float:
        """Seconds since the button was pressed (until the end, once it has ended)."""
        if self.elapsed is not None:
            return self.elapsed
        return (time.time() if now is None else now) - self.started_at

    def advanced(self, note: str, **changes: Any) -> DemoProgress:
        """This demo with its current step done (said in ``note``); finished after the last step."""
        done = replace(self, step=self.step + 1, notes=(*self.notes, (STEPS[self.step].key, note)), **changes)
        return done.ended("finished") if done.step >= len(STEPS) else done

    def ended(self, status: str, error: str | None = None) -> DemoProgress:
        """This demo ended as ``status`` ("finished", "stopped", "failed"), with its time taken."""
        return replace(self, status=status, error=error, elapsed=time.time() - self.started_at)

    def summary(self) -> str:
        """One sentence on how the demo ended."""
        took = f"{self.seconds():.1f} s"
        if self.status == "finished":
            return f"Demo finished in {took} — look around: every page shows this run."
        done = ", ".join(s.done.lower() for s in STEPS[: self.step]) or "nothing yet"
        if self.status == "stopped":
            why = f" ({self.error})" if self.error else ""
            return f"Demo stopped after {took}{why}. Kept what was done: {done}."
        if self.status == "failed":
            return f"The demo could not finish ({took}): {str(self.error).rstrip('.')}. Kept what was done: {done}."
        return f"Demo running for {took}."


def sample(key: str) -> Sample:
    """The bundled sample called ``key``."""
    for entry in list_samples():
        if entry.key == key:
            return entry
    raise DashboardError(f"There is no bundled sample called {key!r}.")


def preset(task: Task) -> list[ModelRun]:
    """The demo's models for ``task``, named as the Models page names them, every parameter filled in."""
    from core.registry import get_spec
    from core.training import ModelRun

    if not task.has_target:
        raise DashboardError(f"The demo needs a target to predict; {task.value} has none.")
    runs = []
    for key, changed in PRESET["classification" if task.is_classification else "regression"]:
        spec = get_spec(key)
        runs.append(ModelRun(key, spec.label, spec.validate({**spec.defaults(), **changed})))
    return runs


def choose_target(
    frame: pd.DataFrame, entry: Sample, roles: dict[str, Role], guesses: dict[str, RoleGuess]
) -> TargetChoice:
    """What the Target page saves for the sample's documented target when nothing is changed there.

    The task it detects, the features it ticks (usable roles, never the target), the positive
    class it suggests, the reason it gives.

    Raises:
        DashboardError: The documented target is missing or refused by the Target page's checks, or
            it reads as another task than the catalogue says.
    """
    from core.target import TargetChoice, Task, default_features, detect_task, positive_class, target_warnings

    target = entry.target
    if target not in frame.columns:
        raise DashboardError(f"The sample '{entry.title}' has no column '{target}' to predict.")
    guess = detect_task(frame, target)
    refused = [w.message for w in target_warnings(frame, target, guess.task, roles.get(target)) if w.level == "error"]
    if refused:
        raise DashboardError(" ".join(refused))
    if guess.task.value != CATALOGUE_TASKS.get(entry.task):
        raise DashboardError(
            f"The sample '{entry.title}' is documented as {entry.task}, but its target reads as {guess.task.value}."
        )
    reasons = {c: g.reason for c, g in guesses.items()}
    notes = {c: g.note for c, g in guesses.items() if g.note}
    ticked = default_features(list(frame.columns), roles, target, reasons, notes)
    features = [c for c, (use, _) in ticked.items() if use]
    if not features:
        raise DashboardError(f"The sample '{entry.title}' has no column to learn from.")
    positive = positive_class(frame[target]) if guess.task == Task.BINARY else None
    return TargetChoice(target, guess.task, guess.reason, features, positive)


def check_row_loss(report: RowReport) -> None:
    """Stop when the plan's row steps lose many rows: that is the person's decision, on the Clean page.

    Raises:
        DashboardError: A row step drops more than the guard's share of the rows.
    """
    from core.cleaning import row_losses

    losses = row_losses(report)
    if losses:
        raise DashboardError(
            " ".join(loss.message(report.rows_before) for loss in losses),
            hint="The demo does not confirm that for you: open the Clean page and decide.",
        )


def train_setup(task: Task, y: pd.Series | None) -> TrainSetup:
    """The Models page's suggested setup for this target with the fast preset and the demo's budget.

    Cross-validation is off: five more fits of every model cost the demo seconds it does not
    have, so the validation split chooses the model (the Models page offers cross-validation).
    """
    from core.split import SplitConfig
    from core.training import suggested_setup

    setup = suggested_setup(task, y)
    return replace(setup, split=SplitConfig(cv_folds=0), models=preset(task), budget=BUDGET_SECONDS)


def prewarm() -> None:
    """Start the cluster and have its workers import :data:`WARM_MODULES`, without waiting
    (:func:`core.engine.in_background`).

    The demo calls it as it starts, so the workers' imports (scikit-learn, shap: seconds on two
    busy cores) overlap with reading the sample and choosing the target, plan and models. A
    failure here is left for the run itself to report.
    """
    from core import engine

    engine.in_background(lambda: engine.warm(WARM_MODULES) if engine.client() else None)
