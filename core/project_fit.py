"""Fitting a project file onto a loaded table: its own table read back, how a table differs, and the
session's target, plan and settings rebuilt on it (the project file itself: :mod:`core.project`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.cleaning import CleaningPlan
from core.errors import DashboardError
from core.model_card import dataset_fingerprint
from core.project import Project, ProjectError
from core.samples import list_samples
from core.schema import effective_roles, infer_roles
from core.target import TargetChoice, Task, class_labels, match_label, validate_task
from core.training import TrainSetup

if TYPE_CHECKING:
    from core.loading import Dataset

#: Differences listed one by one before the rest are counted.
LISTED = 8


@dataclass
class Rebuilt:
    """A project fitted onto a loaded table: what the session is set to, and how the table differs."""

    choice: TargetChoice
    plan: CleaningPlan
    setup: TrainSetup
    role_overrides: dict[str, str]
    differences: list[str]


def load_table(project: Project) -> tuple[Dataset, bytes] | None:
    """The project's own table, read as it was (its load options): the bundled sample, or the embedded file.

    ``None`` when the project carries neither (an upload too large to embed): the person loads it.
    Raises :class:`core.errors.DataLoadError` when the embedded file cannot be read.
    """
    from core.loading import load_file  # the reader loads with a table (see core.samples)

    table = project.table
    if table.sample is not None:
        sample = next(s for s in list_samples() if s.key == table.sample)
        data = sample.path.read_bytes()
        return load_file(data, sample.file, project.load_options), data
    if table.content is not None:
        return load_file(table.content, table.name, project.load_options), table.content
    return None


def data_differences(project: Project, dataset: Dataset) -> list[str]:
    """How ``dataset`` differs from the table the project was made on, in plain words (empty: the same)."""
    table, frame = project.table, dataset.frame
    if dataset_fingerprint(frame)["sha256"] == table.sha256:
        return []
    found: list[str] = []
    if dataset.name != table.name:
        found.append(f"The project was made on '{table.name}'; this table is '{dataset.name}'.")
    if len(frame) != table.rows:
        found.append(f"The project was made on a table of {table.rows:,} rows; this one has {len(frame):,}.")
    columns = [str(c) for c in frame.columns]
    missing = [c for c in table.columns if c not in set(columns)]
    new = [c for c in columns if c not in set(table.columns)]
    found += [f"Column '{c}' is missing." for c in missing[:LISTED]]
    if len(missing) > LISTED:
        found.append(f"{len(missing) - LISTED:,} more columns are missing.")
    if new:
        listed = ", ".join(f"'{c}'" for c in new[:LISTED]) + (
            f" and {len(new) - LISTED:,} more" if len(new) > LISTED else ""
        )
        found.append(
            f"This table has {len(new):,} column{'s' if len(new) != 1 else ''} the project does not know: {listed}."
        )
    if len(frame) == table.rows and not missing and not new:
        found.append("Its values differ from the project's table (same rows and columns), so the scores will too.")
    return found


def rebuild(project: Project, dataset: Dataset) -> Rebuilt:
    """The target, the plan and the model settings of ``project`` on ``dataset``, ready for the Models page.

    Settings that name columns the table lacks are left out (features, role changes, plan entries, ratio
    features, the time column) and the differences say so; the target must be there.

    Raises:
        ProjectError: The target is not a column of the table, its task does not fit it, no feature is
            left, or the plan does not fit the table's columns.
    """
    frame, choice = dataset.frame, project.choice
    columns = [str(c) for c in frame.columns]
    present = set(columns)
    differences = data_differences(project, dataset)
    if choice.target is not None and choice.target not in present:
        raise ProjectError(
            f"The project's target '{choice.target}' is not a column of '{dataset.name}'.",
            hint="Load the table the project was made on (see 'Open a project file' on the Data page), then open it again.",
        )
    try:
        validate_task(frame, choice.target, choice.task)
    except DashboardError as err:
        raise ProjectError(f"The project's task does not fit this table: {err.user_message}") from None
    features = [c for c in choice.features if c in present]
    if not features:
        raise ProjectError(
            "None of the project's features is a column of this table.", hint="Load the table it was made on."
        )
    positive = choice.positive
    if choice.task == Task.BINARY and positive is not None:
        found = match_label(class_labels(frame[choice.target]), positive)
        if found is None:
            differences.append(
                f"The positive class '{positive}' is not a value of '{choice.target}': the app picks one."
            )
        positive = found
    overrides = {c: r for c, r in project.role_overrides.items() if c in present}
    roles = effective_roles(infer_roles(frame), overrides)
    plan = _fit_plan(project.plan, present)
    try:
        plan.validate(columns, roles)
    except DashboardError as err:
        raise ProjectError(f"The project's cleaning plan does not fit this table: {err.user_message}") from None
    setup = project.setup
    split = setup.split
    if split.time_column is not None and split.time_column not in present:
        differences.append(
            f"The split ordered rows by '{split.time_column}', which is missing: it is a random split now."
        )
        split = dataclasses.replace(split, time_column=None)
    ratios = tuple((a, b) for a, b in setup.options.ratios if a in present and b in present)
    options = dataclasses.replace(setup.options, ratios=ratios)
    setup = dataclasses.replace(setup, split=split, options=options)
    choice = dataclasses.replace(choice, features=features, positive=positive)
    return Rebuilt(choice, plan, setup, overrides, differences)


def _fit_plan(plan: CleaningPlan, present: set[str]) -> CleaningPlan:
    """``plan`` without the entries that name columns not in ``present``."""
    return dataclasses.replace(
        plan,
        drop_columns=[c for c in plan.drop_columns if c in present],
        type_fixes={c: f for c, f in plan.type_fixes.items() if c in present},
        missing_by_column={c: r for c, r in plan.missing_by_column.items() if c in present},
        outlier_columns=[c for c in plan.outlier_columns if c in present],
    )
