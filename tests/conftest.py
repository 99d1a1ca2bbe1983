"""Shared test set-up: training runs made by tests are recorded in a throw-away MLflow store.

The app records every training run (core.tracking) in ``data/mlflow.db`` unless
``MLFLOW_TRACKING_URI`` says otherwise; tests point it at a temporary SQLite file
for the whole session (AppTest runs in this process; the browser journeys'
Streamlit server inherits the environment), so they never touch the project's
own store or a team's tracking server.
"""

from __future__ import annotations

import os

import pytest


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
