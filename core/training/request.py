"""What a training run is asked to do: the models, the rows, the split, the choices.

:func:`make_request` turns the person's choices (a :class:`TrainSetup`) and the
cleaned table into a :class:`TrainingRequest`; a run turns each :class:`ModelRun`
into a :class:`TrainedModel` or a :class:`ModelFailure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.big_files import SampleOf, sample_of
from core.cleaning import CleaningPlan, RowReport, apply_row_steps
from core.errors import DashboardError, TargetError
from core.features import FeatureOptions, feature_sources, pipeline_inputs
from core.guards.leakage import LeakageScan, scan
from core.guards.time_leak import future_reads
from core.metrics import Metric, default_ranking, primary_metric
from core.registry import get_spec
from core.schema import Role
from core.split import Split, SplitConfig, make_split
from core.target import Task, class_limit, log_target_advice, resolve_positive
from core.time_features import check_split
from core.transformers import LOG_TARGET_FAMILIES

#: The model key of the baseline every supervised run trains as its yardstick.
BASELINE = "baseline"


@dataclass(frozen=True)
class ModelRun:
    """One model to train: its spec key, a unique display name and parameters."""

    key: str
    name: str
    params: dict = field(default_factory=dict)
    #: Regression: fitted on log(1 + target), predictions turned back (``FeatureOptions.log_target``).
    log_target: bool = False
    #: Its planned seconds in the run's time budget (:mod:`core.training.budget`): staged growth and a
    #: network's epochs end once it has run this long (with slack); None: no limit.
    seconds: float | None = None
    #: Shrunk to fit the budget by learning from at most this many training rows; None: all of them.
    max_rows: int | None = None


@dataclass
class TrainingRequest:
    """Everything needed to train: cleaned rows, choices and the split."""

    frame: pd.DataFrame  # rows after the plan's row steps
    target: str | None
    task: Task
    features: list[str]
    roles: dict[str, Role]
    plan: CleaningPlan
    split: Split
    models: list[ModelRun]
    options: FeatureOptions = field(default_factory=FeatureOptions)
    imbalance: str = "none"
    seed: int = 42
    #: What the plan's row steps did to the file's rows (counts per step, rows kept).
    row_report: RowReport | None = None
    #: The leakage scan of the features on this request's training rows.
    leakage: LeakageScan | None = None
    #: The metric models are ranked by (leaderboard, best model, tuning); empty: the task's default.
    metric: str = ""

    #: Binary: the class the probabilities, curves and explanations are about.
    positive: Any = None
    #: The time budget's plan (:class:`core.training.budget.BudgetPlan`): estimates, what was shrunk or left
    #: out, the training sample; None when the run was not planned against a budget.
    budget: Any = None
    #: The table is a sample of a file too big to read whole (:class:`core.big_files.SampleOf`); None: whole.
    sample_of: SampleOf | None = None

    @property
    def ranking(self) -> Metric:
        """The metric the leaderboard, the best model and tuning rank by."""
        return primary_metric(self.task, self.metric or None)

    def xy(self, positions: np.ndarray) -> tuple[pd.DataFrame, pd.Series | None]:
        """The model's input rows (the features, plus the columns time features order and group by) and target."""
        X = self.frame.iloc[positions][pipeline_inputs(self.features, self.options)]
        y = self.frame.iloc[positions][self.target] if self.target is not None else None
        return X, y


@dataclass(frozen=True)
class Refit:
    """The chosen model refitted on training + validation rows (:func:`core.training.choose.refit`), or why not."""

    #: Training + validation rows the refit learned from (or would have).
    rows: int
    seconds: float = 0.0
    #: Networks: the epochs the refit ran (the best epoch found with validation data), else None.
    epochs: int | None = None
    #: Why the model was not refitted (it keeps its fit on the training rows); None when it was.
    error: str | None = None


@dataclass
class TrainedModel:
    """A fitted pipeline with its validation scores and how it got there.

    The chosen model of a finished run is refitted on training + validation rows before its
    test score, export and experiment log (:mod:`core.training.choose`): then ``pipeline`` is
    the refitted one, ``refit`` says so, and ``scores`` (clearly validation scores, from before
    the refit) come from ``before_refit``, the pipeline fitted on the training rows only.
    """

    name: str
    key: str
    params: dict
    pipeline: Any
    task: Task
    scores: dict[str, float]
    train_scores: dict[str, float]
    seconds: float
    cv_scores: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_early: bool = False
    #: What ended its training before the planned epochs or trees: "" (nothing: it ran to the end),
    #: "early stopping" (no more improvement), "stop" (the person pressed Stop), "budget" (its time ran
    #: out) or "diverged" (the loss became infinite). See :func:`core.training.views.status_text`.
    ended_by: str = ""
    sources: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    #: Fitted on log(1 + target) (its run's ``log_target``); predictions and scores are on the target's scale.
    log_target: bool = False
    #: The after-training guard checks (core.guards.model_checks), once they have run; None before.
    checks: list | None = None
    #: Set on the chosen model once it was refitted on training + validation rows (or why not).
    refit: Refit | None = None
    #: When refitted: the pipeline fitted on the training rows only, that ``scores`` come from.
    before_refit: Any = None
    #: How the time budget cut its growth or epochs short, in words ("" when it did not).
    budget_note: str = ""

    @property
    def refitted(self) -> bool:
        """Whether ``pipeline`` was refitted on training + validation rows."""
        return self.refit is not None and self.refit.error is None

    def validated(self) -> TrainedModel:
        """This model as it was scored on the validation rows: before a refit, which learned from them too.

        Anything computed on validation rows (diagnostic charts, the guards' permutation importance) uses
        this, so it stays a look at rows the model did not learn from. A refitted model brought back from
        the experiment log has no earlier fit: it is returned as it is (:attr:`refitted` still says so).
        """
        if self.before_refit is None:
            return self
        # Features (a text vocabulary, rare categories) are learned again by the refit: name the earlier fit's own.
        sources = feature_sources(self.before_refit)
        return replace(self, pipeline=self.before_refit, before_refit=None, refit=None, sources=sources)


@dataclass
class ModelFailure:
    """A model that could not be trained, and why."""

    name: str
    key: str
    message: str


#: The default time budget (seconds of wall time for a run): one minute, for tables up to 100k rows on 2 cores.
BUDGET_SECONDS = 60
#: Budgets the Models page offers (0: no limit), in seconds.
BUDGET_CHOICES = (30, 60, 120, 300, 900, 0)


@dataclass
class TrainSetup:
    """What the person chose on the Models page (plain data)."""

    split: SplitConfig
    models: list[ModelRun]
    options: FeatureOptions = field(default_factory=FeatureOptions)
    imbalance: str = "none"
    #: The metric to rank models by; ``None``: :func:`core.metrics.default_ranking` for the target.
    metric: str | None = None
    #: Seconds the run may take (:mod:`core.training.budget`); 0: no limit.
    budget: float = BUDGET_SECONDS


def suggested_setup(task: Task, y: pd.Series | None) -> TrainSetup:
    """The Models page's starting point for a target.

    Class weights are on (for the models that support them) whenever
    :func:`core.metrics.default_ranking` ranks by balanced accuracy, i.e. the
    classes are imbalanced (:func:`core.target.imbalance`), two classes or more.
    A skewed regression target of values ≥ 0 (:func:`core.target.log_target_advice`)
    also tries its tree and linear models on the log of the target. Cross-validation
    is automatic (:meth:`core.split.SplitConfig.folds_for`).
    """
    metric, _ = default_ranking(task, y)
    imbalanced = task.is_classification and metric == "balanced_accuracy"
    options = FeatureOptions(log_target=task == Task.REGRESSION and log_target_advice(y) is not None)
    return TrainSetup(SplitConfig(), [], options, "class_weight" if imbalanced else "none", metric)


def with_log_target(models: list[ModelRun], task: Task, options: FeatureOptions) -> list[ModelRun]:
    """``models`` plus, when ``options.log_target`` (regression), a log-target twin of each tree and linear model.

    The twin follows its model, named "<name> (log target)"; twins already in ``models`` are kept, not doubled.
    """
    if task != Task.REGRESSION or not options.log_target:
        return list(models)

    names = {m.name for m in models}
    out: list[ModelRun] = []
    for run in models:
        out.append(run)
        twin = ModelRun(run.key, f"{run.name} (log target)", dict(run.params), log_target=True)
        if not run.log_target and get_spec(run.key).family in LOG_TARGET_FAMILIES and twin.name not in names:
            out.append(twin)
    return out


def make_request(
    frame: pd.DataFrame,
    target: str | None,
    task: Task,
    features: list[str],
    roles: dict[str, Role],
    plan: CleaningPlan,
    setup: TrainSetup,
    positive: Any = None,
) -> TrainingRequest:
    """Apply the plan's row steps, split, scan the training rows for leakage, and bundle everything.

    The baseline is added for supervised tasks if the person did not pick it, and log-target twins
    when ``setup.options.log_target`` (:func:`with_log_target`). Binary tasks get
    a positive class: ``positive`` if it is one of the labels, else :func:`core.target.positive_class`.

    Raises:
        TargetError: A classification target has more classes than its rows support
            (:func:`core.target.class_limit`).
    """
    time = setup.options.time
    if time is not None:  # lags on shuffled rows would read the future
        check_split(time, setup.split)
        time.check_columns(frame.columns)
    rows, row_report = apply_row_steps(frame, plan, target, pipeline_inputs(features, setup.options))
    kept = [c for c in features if c in rows.columns]
    limit = class_limit(rows[target]) if task.is_classification else None
    if limit is not None:
        raise TargetError(limit.problem, hint=limit.fix)
    split = make_split(rows, target, task, setup.split)
    leakage = scan(rows.iloc[split.train], target, task, kept, plan.roles_after(roles), seed=setup.split.seed)
    if time is not None:
        dated = time.dated(plan.roles_after(roles))
        leakage.findings = [*leakage.findings, *future_reads(rows.iloc[split.train], time, dates=dated)]
    metric = setup.metric or default_ranking(task, rows[target] if target is not None else None)[0]
    models = with_log_target(list(setup.models), task, setup.options)
    if task.has_target and not any(m.key == BASELINE for m in models):
        models.insert(0, ModelRun(BASELINE, "Baseline", {}))
    if not models:
        raise DashboardError("Choose at least one model to train.")
    positive = resolve_positive(rows[target], positive) if task == Task.BINARY else None
    return TrainingRequest(
        rows,
        target,
        task,
        kept,
        roles,
        plan,
        split,
        models,
        setup.options,
        setup.imbalance,
        setup.split.seed,
        row_report,
        leakage,
        metric,
        positive,
        sample_of=sample_of(frame),
    )
