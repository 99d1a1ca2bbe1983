"""The one-click demo's recipe (core/demo.py): valid for every bundled sample, steps as data."""

from __future__ import annotations

import pytest

from core import demo
from core.cleaning import apply_row_steps
from core.errors import DashboardError
from core.plan_defaults import default_plan
from core.registry import get_spec
from core.samples import list_samples, load_sample
from core.schema import Role, effective_roles, infer_roles
from core.target import Task
from core.training import make_request
from core.training.request import BUDGET_CHOICES

SAMPLES = [s.key for s in list_samples()]


@pytest.fixture(scope="module")
def tables():
    out = {}
    for key in SAMPLES:
        frame = load_sample(key).frame
        guesses = infer_roles(frame)
        out[key] = (frame, guesses, effective_roles(guesses, {}))
    return out


@pytest.mark.parametrize("key", SAMPLES)
def test_the_recipe_is_valid_for_every_sample(key, tables):
    frame, guesses, roles = tables[key]
    entry = demo.sample(key)
    choice = demo.choose_target(frame, entry, roles, guesses)
    assert choice.target == entry.target and choice.target in frame.columns
    assert choice.task.value == demo.CATALOGUE_TASKS[entry.task]
    assert choice.features and choice.target not in choice.features
    assert all(roles[c].usable for c in choice.features)
    if choice.task == Task.BINARY:
        assert choice.positive in set(frame[choice.target].dropna())

    plan = default_plan(choice.features, roles)
    plan.validate(list(frame.columns), roles)
    rows, report = apply_row_steps(frame, plan, choice.target, choice.features)
    demo.check_row_loss(report)  # no sample loses so many rows that the person must confirm it

    setup = demo.train_setup(choice.task, rows[choice.target])
    assert setup.budget in BUDGET_CHOICES and setup.split.cv_folds == 0
    assert setup.models[0].key == "baseline"
    for run in setup.models:
        spec = get_spec(run.key)
        assert choice.task in spec.tasks, f"{run.key} cannot do {choice.task}"
        assert spec.validate(run.params) == run.params  # every value filled in and valid by the catalogue
        assert run.name == spec.label  # named as the Models page names it
        assert not spec.needs_tensorflow  # see PRESET: TensorFlow's import alone breaks the goal
        spec.build_estimator(choice.task, run.params, seed=0)  # the task's own checks too

    request = make_request(frame, choice.target, choice.task, choice.features, roles, plan, setup, choice.positive)
    assert {m.name for m in setup.models} <= {m.name for m in request.models}  # (+ log-target twins when suggested)


def test_the_preset_has_staged_models_for_live_curves():
    for task in (Task.BINARY, Task.MULTICLASS, Task.REGRESSION):
        keys = [run.key for run in demo.preset(task)]
        assert keys[0] == "baseline"
        assert any(get_spec(k).family == "linear" for k in keys)
        assert sum(get_spec(k).staged for k in keys) >= 1, "the Train page draws a staged model's curve live"


def test_clustering_has_no_demo():
    with pytest.raises(DashboardError, match="needs a target"):
        demo.preset(Task.CLUSTERING)


def test_a_target_that_reads_as_another_task_is_refused(tables):
    frame, guesses, roles = tables["iris"]
    wrong = demo.Sample("iris", "iris.csv", "Iris", "", "species", "regression", "")
    with pytest.raises(DashboardError, match="documented as regression"):
        demo.choose_target(frame, wrong, roles, guesses)
    missing = demo.Sample("iris", "iris.csv", "Iris", "", "colour", "multiclass", "")
    with pytest.raises(DashboardError, match="no column 'colour'"):
        demo.choose_target(frame, missing, roles, guesses)


def test_the_default_plan_fills_text_gaps_with_the_word_the_clean_page_offers():
    roles = {"message": Role.TEXT, "length": Role.NUMERIC}
    plan = default_plan(["message", "length"], roles)
    assert plan.missing_by_role["text"].strategy == "constant"
    assert plan.missing_by_role["text"].fill_value == "missing"
    assert plan.missing_by_role["numeric"].strategy == "median"
    assert plan.drop_duplicates and plan.outliers is None and not plan.drop_columns


def test_a_plan_that_drops_many_rows_is_left_to_the_person():
    from core.cleaning import RowReport

    demo.check_row_loss(RowReport(rows_before=100, duplicates_dropped=1))
    with pytest.raises(DashboardError, match="open the Clean page"):
        demo.check_row_loss(RowReport(rows_before=100, duplicates_dropped=40))


def test_progress_walks_every_step_and_keeps_its_time():
    progress = demo.DemoProgress("iris", "Iris flowers", started_at=100.0)
    assert progress.current == demo.STEPS[0]
    for index, step in enumerate(demo.STEPS):
        assert progress.running and progress.current is step
        progress = progress.advanced(f"note {index}")
    assert progress.status == "finished" and progress.current is None
    assert progress.elapsed is not None and progress.elapsed > 0
    assert [key for key, _ in progress.notes] == [s.key for s in demo.STEPS]
    assert progress.summary().startswith(f"Demo finished in {progress.elapsed:.1f} s")


def test_a_stopped_or_failed_demo_says_what_it_kept():
    progress = demo.DemoProgress("iris", "Iris flowers").advanced("loaded").advanced("species")
    stopped = progress.ended("stopped")
    assert stopped.status == "stopped" and not stopped.running
    assert "sample loaded, target chosen" in stopped.summary()
    failed = progress.ended("failed", "the cluster could not start")
    assert "the cluster could not start" in failed.summary()
    assert failed.step == 2  # what was done stays done
