"""core.tuning: randomized search on the training split only, with a budget."""

import math
import time

from core import events as ev
from core.target import Task
from core.training import ModelRun
from core.tuning import TuningJob, random_search
from tests.test_training import request_for

LOGREG = ModelRun("logistic_regression", "Logistic regression", {})


def test_search_tries_the_current_settings_first_then_random_ones():
    req = request_for("iris", "species", Task.MULTICLASS, [LOGREG])
    seen: list[ev.Event] = []
    result = random_search(req, LOGREG, trials=4, folds=3, seed=1, listener=seen.append)
    assert [t.number for t in result.trials] == [1, 2, 3, 4]
    assert result.trials[0].params == {}
    assert len({str(sorted(t.params.items())) for t in result.trials[1:]}) == 3
    assert result.best.score >= result.trials[0].score
    steps = [e for e in seen if isinstance(e, ev.StepEnded)]
    assert len(steps) == 4 and steps[-1].metrics["best"] == result.best.score


def test_search_never_looks_at_validation_or_test_rows():
    req = request_for("iris", "species", Task.MULTICLASS, [LOGREG])
    clean = random_search(req, LOGREG, trials=3, seed=2)
    held_out = list(req.split.valid) + list(req.split.test)
    req.frame.loc[req.frame.index[held_out], "species"] = "poison"
    poisoned = random_search(req, LOGREG, trials=3, seed=2)
    assert [t.score for t in clean.trials] == [t.score for t in poisoned.trials]


def test_same_seed_same_trials_and_budget_in_seconds():
    req = request_for("iris", "species", Task.MULTICLASS, [LOGREG])
    a = random_search(req, LOGREG, trials=3, seed=5)
    b = random_search(req, LOGREG, trials=3, seed=5)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    quick = random_search(req, LOGREG, trials=1000, seconds=0.0, seed=5)
    assert len(quick.trials) == 1


def test_a_failing_draw_is_recorded_and_the_search_goes_on():
    req = request_for("iris", "species", Task.MULTICLASS, [LOGREG])
    broken = ModelRun("knn_clf", "kNN", {"n_neighbors": 500})
    result = random_search(req, broken, trials=2, seed=0)
    assert result.trials[0].error and math.isnan(result.trials[0].score)
    assert len(result.trials) == 2


def test_tuning_job_runs_in_a_thread_and_can_stop():
    req = request_for("breast_cancer", "diagnosis", Task.BINARY, [LOGREG])
    job = TuningJob(req, LOGREG, trials=50, folds=3, seed=0).start()
    while not job.snapshot().results:
        time.sleep(0.01)
    job.stop()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "stopped" and 1 <= len(snap.results) < 50
    assert job.value.best is not None
