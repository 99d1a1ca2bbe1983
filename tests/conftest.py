"""Shared test set-up: a throw-away MLflow store, and training requests built as the app builds them.

The app records every training run (core.tracking) in ``data/mlflow.db`` unless
``MLFLOW_TRACKING_URI`` says otherwise; tests point it at a temporary SQLite file
for the whole session (AppTest runs in this process; the browser journeys'
Streamlit server inherits the environment), so they never touch the project's
own store or a team's tracking server.

Tests that need a training request call :func:`make_training_request` (imported as
``from tests.conftest import make_training_request``) rather than repeating the roles,
features, split and set-up the app derives from a table. Page tests that share a costly
journey (a trained run, an explanation) keep what the session held after it
(:func:`session_of`) and open it in a fresh AppTest per test (:func:`opened`), so no
test depends on what an earlier one clicked.
"""

from __future__ import annotations

import copy
import os

import pytest

#: Runs admitted at once in the test processes and the journeys' servers (the server's default is 2): a run an
#: earlier test left going must not make the next test's run wait its turn. The queue's own tests make their
#: own queue with a limit (tests/test_admission.py, tests/test_pages_admission.py).
os.environ.setdefault("NOCODE_MAX_RUNS", "16")


@pytest.fixture(scope="session", autouse=True)
def throwaway_tracking_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-store")
    previous = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_DISABLE_TELEMETRY")}
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    yield os.environ["MLFLOW_TRACKING_URI"]
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def make_training_request(
    frame,
    target: str | None,
    task=None,
    *,
    models=(),
    features: list[str] | None = None,
    roles=None,
    plan=None,
    split=None,
    seed: int | None = None,
    positive=None,
    **setup,
):
    """A training request built as the app builds it, for tests (``from tests.conftest import make_training_request``).

    ``frame`` is a table or the name of a bundled sample. What is not given is what the app would use:
    ``task`` detected from the target (``None``: clustering), ``roles`` inferred, ``features`` the ones
    the Target page ticks, an empty cleaning ``plan``, ``SplitConfig(seed=seed or 0)``. ``models`` are
    ``ModelRun``\\ s, model keys or ``(key, params)`` pairs (a key is also the model's name); ``seed``
    replaces the seed of a given ``split``; the other keywords go to ``TrainSetup`` (``options``,
    ``imbalance``, ``metric``, ``budget``).
    """
    # Imported when called: this file is loaded by every test run, the browser journeys' too.
    from dataclasses import replace

    from core.cleaning import CleaningPlan
    from core.samples import load_sample
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import default_features, detect_task
    from core.training import TrainSetup, make_request

    if isinstance(frame, str):
        frame = load_sample(frame).frame
    roles = effective_roles(infer_roles(frame), {}) if roles is None else roles
    if features is None:
        features = [c for c, (use, _) in default_features(list(frame.columns), roles, target).items() if use]
    task = detect_task(frame, target).task if task is None else task
    if split is None:
        split = SplitConfig(seed=seed or 0)
    elif seed is not None:
        split = replace(split, seed=seed)
    config = TrainSetup(split, [_model_run(m) for m in models], **setup)
    return make_request(frame, target, task, features, roles, plan or CleaningPlan(), config, positive=positive)


def _model_run(model):
    """A ``ModelRun`` as it is; a key ``"ridge"`` or a pair ``("ridge", {"alpha": 2})`` as one named by its key."""
    from core.training import ModelRun

    if isinstance(model, ModelRun):
        return model
    key, params = (model, {}) if isinstance(model, str) else model
    return ModelRun(key, key, dict(params))


def session_of(at) -> dict:
    """What an AppTest session holds after a journey: ``ui.state``'s keys (data, plan, jobs, …) and its memos.

    Widget values are left out: a session opened from this starts every widget afresh.
    """
    from ui import state

    keys = {value for name, value in vars(state).items() if name.isupper() and isinstance(value, str)}
    return {key: value for key, value in at.session_state.items() if key in keys or key.startswith("memo.")}


def opened(session: dict, page: str):
    """A new AppTest session holding ``session`` (see :func:`session_of`), run on ``page``.

    Lists and dicts are copied, so what one test adds (a test score, a kept choice) the next does not
    see; the jobs themselves are shared (the same run, the same explanation).
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in session.items():
        at.session_state[key] = copy.copy(value) if isinstance(value, dict | list | set) else value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
