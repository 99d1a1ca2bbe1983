"""Shared services by address, without a browser: what an administrator is told and what the cluster gets.

The whole classroom journey (scheduler, worker and tracking server as separate processes, the app
against them) is ``tests/e2e/test_shared_services.py``; these are the quick checks around it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dask
import pytest

from core import cluster_setup, engine, experiment_store
from core.tracking.store import store_error

ROOT = Path(__file__).resolve().parents[1]


def test_the_embedded_cluster_and_a_classroom_server_read_the_same_dask_settings():
    settings = cluster_setup.cluster_settings()
    assert settings["distributed.scheduler.allowed-failures"] == 0, "a task that killed its worker is not retried"
    assert settings["distributed.worker.daemon"] is False, "a forest's n_jobs=-1 may use every core"
    assert all("." in key and not isinstance(value, dict) for key, value in settings.items())
    # Dask reads the file named by DASK_CONFIG, as the README's service commands set it
    probe = "import dask; print(dask.config.get('distributed.worker.daemon'), dask.config.get('distributed.scheduler.allowed-failures'))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "DASK_CONFIG": str(cluster_setup.CLUSTER_CONFIG)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["False", "0"], out.stderr[-2000:]


def test_where_models_train_says_when_no_worker_is_there_and_can_keep_the_address_to_itself():
    address = "tcp://10.0.0.5:8786"
    idle = engine.EngineInfo(False, address, 0, True).describe()
    assert address in idle and "no worker connected" in idle and "wait" in idle
    hidden = engine.EngineInfo(False, address, 2, True).describe(show_address=False)
    assert address not in hidden and "2 workers" in hidden


def test_a_tracking_server_is_opened_at_its_own_address_and_a_failure_says_what_to_check():
    assert experiment_store.server_address("http://127.0.0.1:5000/") == "http://127.0.0.1:5000"
    assert experiment_store.server_address("sqlite:////srv/mlflow.db") is None
    refused = store_error(
        "http://mlflow.school.lan:5000",
        RuntimeError("API request failed with error code 403 != 200. Response body: 'Invalid Host header - …'"),
        "read",
    )
    assert "--allowed-hosts" in refused.user_message and "folder" not in refused.user_message
    down = store_error("http://127.0.0.1:5000", ConnectionError("Max retries exceeded"), "write to")
    assert "running and reachable" in down.user_message
    assert "writable" in store_error("sqlite:////srv/mlflow.db", OSError("read-only"), "write to").user_message


def test_a_tracking_server_that_is_down_is_given_up_on_soon_unless_the_administrator_says_otherwise(monkeypatch):
    for name in experiment_store.SERVER_RETRIES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "5")
    experiment_store.give_up_soon()
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"
    assert os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "5", "the administrator's value wins"


@pytest.fixture
def scheduler_without_the_code(tmp_path):
    """A ``dask scheduler`` started the way the README says not to: without PYTHONPATH, outside the app's folder."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"),
            *("--no-dashboard", "--scheduler-file", str(scheduler_file)),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert process.poll() is None and time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        yield json.loads(scheduler_file.read_text())["address"]
    finally:
        engine.shutdown()  # the next test gets the embedded cluster again
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_scheduler_without_the_apps_code_is_refused_in_words_at_connection(scheduler_without_the_code):
    engine.shutdown()
    with dask.config.set({"scheduler-address": scheduler_without_the_code}):
        with pytest.raises(engine.EngineUnavailable) as err:
            engine.client()
        assert engine.info().started is False, "no half-checked cluster is kept"
    message = err.value.user_message
    assert scheduler_without_the_code in message and "No module named 'core'" in message
    assert "PYTHONPATH" in message and "Classroom server" in message
