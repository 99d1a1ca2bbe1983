"""A classroom server: the app against a Dask scheduler, a worker and an MLflow tracking server of its own.

The three services are started as separate processes with the README's commands ("Classroom
server"), on free ports in a temporary folder; the app gets them by address only
(``DASK_SCHEDULER_ADDRESS``, ``MLFLOW_TRACKING_URI``). A person trains on a bundled sample and
sees where the run trained and that it is recorded; the tracking server holds the run and its
model, its artefact store the files, and the worker the training tasks. Every process is
stopped at the end, whatever happened.

Run with ``pytest -m e2e tests/e2e/test_shared_services.py`` (needs Debian's Chromium).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import REPO_ROOT, VIEWPORT, serve_app
from tests.e2e.helpers import SLOW, assert_clean, go_to, keep_only_models, start_on_models, train_and_wait, wait_idle

LOGISTIC = "Logistic regression"
#: Worker processes: the Models page asks one whether TensorFlow finds a GPU (it imports TensorFlow there, as a
#: class's first visit does) while the run trains on the other.
WORKERS = 2
#: Seconds a service may take to answer after it was started (the machine may be busy).
START_S = 120.0
#: Recording a run on the tracking server (two model folders uploaded through it) on a busy machine (ms).
RECORDING_MS = 120_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_command(name: str) -> str:
    """A console script of the project's virtual environment (``dask``, ``mlflow``), as the README runs it."""
    script = REPO_ROOT / ".venv" / "bin" / name
    return str(script) if script.exists() else name


@dataclass(frozen=True)
class Services:
    """The addresses the app is given, the tracking server's artefact folder, the processes and their logs."""

    scheduler: str
    tracking: str
    artifacts: Path
    processes: dict[str, subprocess.Popen]
    logs: dict[str, Path]

    def wait(self, ready, what: str) -> None:
        """Until ``ready()``; fails with the log of a service that exited, or after :data:`START_S`."""
        deadline = time.monotonic() + START_S
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(f"{name} exited with {process.returncode}:\n{self.logs[name].read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what} was not ready after {START_S:.0f} s")
            time.sleep(0.25)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _workers(address: str) -> int:
    from distributed import Client

    try:
        with Client(address, timeout=2, set_as_default=False) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])
    except OSError:
        return 0


@contextlib.contextmanager
def running_services(folder: Path) -> Iterator[Services]:
    """The README's three service commands, each its own process; all stopped when the block ends."""
    scheduler_port, tracking_port = free_port(), free_port()
    scheduler = f"tcp://127.0.0.1:{scheduler_port}"
    tracking = f"http://127.0.0.1:{tracking_port}"
    artifacts = folder / "mlartifacts"
    # What the README sets for the service commands: the app's code and its Dask settings; no MLflow job runners.
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DASK_CONFIG": str(REPO_ROOT / "core" / "cluster.yaml"),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    commands = {
        "dask scheduler": [
            venv_command("dask"), "scheduler", "--host", "127.0.0.1", "--port", str(scheduler_port), "--no-dashboard",
        ],
        "dask worker": [
            venv_command("dask"), "worker", scheduler, "--nworkers", str(WORKERS), "--nthreads", "1",
            "--memory-limit", "2GiB", "--host", "127.0.0.1", "--no-dashboard", "--name", "classroom-worker",
        ],
        "mlflow server": [
            venv_command("mlflow"), "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(artifacts), "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(tracking_port), "--workers", "1",
        ],
    }  # fmt: skip
    processes: dict[str, subprocess.Popen] = {}
    logs = {name: folder / f"{name.replace(' ', '-')}.log" for name in commands}
    try:
        for name, command in commands.items():
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        yield Services(scheduler, tracking, artifacts, processes, logs)
    finally:  # each service is its own process group (its workers, MLflow's uvicorn): stop the whole group
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_for_services(services: Services) -> None:
    """Until the tracking server answers and the worker has joined the scheduler."""
    services.wait(lambda: _answers(f"{services.tracking}/health"), "the MLflow tracking server")
    services.wait(lambda: _workers(services.scheduler) == WORKERS, "the Dask workers")


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Iterator[tuple[Services, str]]:
    """The services and the app run against them (``streamlit run app.py``), started side by side."""
    with running_services(tmp_path_factory.mktemp("classroom")) as services:
        env = {"DASK_SCHEDULER_ADDRESS": services.scheduler, "MLFLOW_TRACKING_URI": services.tracking}
        with serve_app(env=env) as app:
            wait_for_services(services)
            yield services, app.url


@pytest.fixture
def page_on_classroom(chromium_browser, classroom) -> Iterator[Page]:
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.base_url = classroom[1]
    try:
        yield page
    finally:
        context.close()


def tasks_run_by_the_workers(scheduler: str, prefix: str) -> dict[str, int]:
    """Per worker: the tasks whose key starts with ``prefix`` and whose result it computed."""
    from distributed import Client

    def computed(dask_worker) -> int:
        keys = {str(entry[0]) for entry in dask_worker.state.log if entry[1] == "executing" and entry[2] == "memory"}
        return sum(key.startswith(prefix) for key in keys)

    with Client(scheduler, timeout=10, set_as_default=False) as client:
        names = {address: info["name"] for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
        return {names[address]: count for address, count in client.run(computed).items()}


def test_a_classroom_server_trains_on_its_cluster_and_records_on_its_tracking_server(page_on_classroom, classroom):
    page = page_on_classroom
    services, _ = classroom
    start_on_models(page, "iris", "species")
    keep_only_models(page, [LOGISTIC])
    train_and_wait(page, "Train 1 model + baseline")
    where = f"Models train on the Dask cluster at {services.scheduler}: {WORKERS} workers."
    expect(page.get_by_text(where)).to_be_visible()
    note = page.get_by_text(re.compile(r"Recorded 2 model runs in the experiment log"))
    expect(note).to_be_visible(timeout=RECORDING_MS)
    ran = tasks_run_by_the_workers(services.scheduler, "nocode-training-")
    assert all(name.startswith("classroom-worker") for name in ran), ran
    assert sum(ran.values()) >= 2, f"the baseline and the model ran on the workers: {ran}"
    # the workers are on this machine and reach the tracking server: they recorded the run, not the app
    recorded_by = tasks_run_by_the_workers(services.scheduler, "after-run-")
    assert sum(recorded_by.values()) == 1, f"the run was recorded by a worker: {recorded_by}"

    go_to(page, "9. Experiments")
    expect(page.get_by_text(f"Runs are recorded in the tracking server at {services.tracking}")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_contain_text(LOGISTIC, timeout=SLOW)
    served = page.get_by_test_id("stCode").filter(has_text=services.tracking)
    expect(served).to_have_count(2)  # the server's own UI, and the command that serves the run's model

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=services.tracking)
    experiment = client.get_experiment_by_name("nocode-ml-dashboard")
    assert experiment is not None and experiment.artifact_location.startswith("mlflow-artifacts:")
    [run] = client.search_runs([experiment.experiment_id], f"tags.`nocode.model` = '{LOGISTIC}'")
    assert run.info.status == "FINISHED"
    recorded = {artifact.path for artifact in client.list_artifacts(run.info.run_id)}
    assert {"bundle", "model", "model_card.json"} <= recorded
    stored = services.artifacts / experiment.experiment_id / run.info.run_id / "artifacts"
    assert (stored / "model" / "MLmodel").is_file(), "the model files are in the server's artefact store"

    page.locator(".st-key-experiments_reload button").click()  # the model comes back through the server
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="(experiment run ")).to_contain_text(
        "is loaded", timeout=SLOW
    )
    assert_clean(page)
