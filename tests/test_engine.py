"""The job engine: runs on a Dask cluster (embedded by default, or one named by address)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import numpy as np
import pytest

from core import cluster_setup, engine, worker_cores
from core import events as ev
from core.server_settings import WORKER_NICENESS
from core.training import ModelFailure, ModelRun, TrainedModel, TrainingJob
from tests.test_training import request_for

ROOT = Path(__file__).resolve().parents[1]
SLOW_FOREST = {"n_estimators": 2000}


def wait_for(condition, timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def growing(job: TrainingJob, model: str) -> bool:
    return any(isinstance(e, ev.StepEnded) and e.model == model for e in job.snapshot().events)


def test_the_embedded_cluster_is_sized_to_the_machine():
    gib = 1024**3
    assert cluster_setup.embedded_size(cores=2, memory=24 * gib) == 2
    assert cluster_setup.embedded_size(cores=16, memory=8 * gib) == 4, "each worker keeps at least 2 GB"
    assert cluster_setup.embedded_size(cores=4, memory=1 * gib) == 1, "never fewer than one"


def test_where_models_train_is_said_in_words():
    assert "embedded Dask cluster" in engine.EngineInfo(True, None, 0, False).describe()
    named = engine.EngineInfo(False, "tcp://10.0.0.5:8786", 3, True).describe()
    assert "tcp://10.0.0.5:8786" in named and "3 workers" in named
    engine.client()
    live = engine.info()
    assert live.started and live.embedded and live.workers >= 1
    assert f"{live.workers} worker process" in live.describe()


def test_the_address_is_read_from_dasks_own_configuration(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.1.2.3:8786")
    dask.config.refresh()
    try:
        assert engine.configured_address() == "tcp://10.1.2.3:8786"
    finally:
        monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
        dask.config.refresh()
    assert engine.configured_address() is None


class _Scheduler:
    """A running client of a cluster by address whose workers are at ``addresses``."""

    status = "running"

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    def scheduler_info(self, n_workers: int = 5) -> dict:
        return {"workers": {address: {} for address in self.addresses}}


def test_workers_are_on_this_machine_when_each_answers_at_one_of_its_addresses(monkeypatch):
    """Catches recording sent to workers that cannot reach this machine's store (a classroom worker on
    another machine writing to a SQLite file or a loopback tracking server that is not its own)."""
    engine.client()  # the embedded cluster: its workers always are
    assert engine.workers_on_this_machine()
    monkeypatch.setattr(engine, "configured_address", lambda: "tcp://scheduler.school.lan:8786")
    monkeypatch.setattr(engine, "_client", _Scheduler("tcp://127.0.0.1:40001", "tcp://127.0.0.1:40002"))
    assert engine.workers_on_this_machine()
    monkeypatch.setattr(engine, "_client", _Scheduler("tcp://127.0.0.1:40001", "tcp://10.255.255.77:40002"))
    assert not engine.workers_on_this_machine(), "one worker elsewhere is enough to record here"
    monkeypatch.setattr(engine, "_client", _Scheduler())
    assert not engine.workers_on_this_machine()


def test_a_fit_alone_on_its_machine_gets_its_idle_cores_and_shares_them_otherwise():
    here = "tcp://10.0.0.5:4001"
    beside = {here: ("mine",), "tcp://10.0.0.5:4002": ("other-run-3",), "tcp://10.0.0.9:4003": ("far",)}
    assert worker_cores.task_threads(8, "mine", here, beside, alone=True) is None, "another fit on this machine"
    light = {here: ("mine",), "tcp://10.0.0.5:4002": (f"run-0{worker_cores.LIGHT}",), "tcp://10.0.0.9:4003": ("far",)}
    assert worker_cores.task_threads(8, "mine", here, light, alone=True) == 8, "a baseline or a fit on another machine"
    assert worker_cores.task_threads(8, "mine", here, light, alone=False) is None, "its own run fits beside it"
    assert worker_cores.task_threads(8, "mine", here, light, alone=True, idle=5.8) == 6, "other people's work"
    assert worker_cores.task_threads(2, "mine", here, light, alone=True, idle=0.3) is None, "a busy machine: the share"


def _omp_blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_cores_for_task_sets_the_threads_it_decides(monkeypatch):
    from threadpoolctl import threadpool_limits

    monkeypatch.setattr(
        worker_cores, "_worker_view", lambda: ("mine", "tcp://10.0.0.5:1", {"tcp://10.0.0.5:1": ("mine",)})
    )
    monkeypatch.setattr(worker_cores, "idle_cores", lambda cores: 1.9)
    monkeypatch.setattr(worker_cores.os, "cpu_count", lambda: 2)
    with threadpool_limits(limits=1):  # a worker's share on 2 cores
        with worker_cores.cores_for_task(alone=True):
            assert _omp_blas_threads() == 2
        monkeypatch.setattr(worker_cores, "idle_cores", lambda cores: 0.4)
        with worker_cores.cores_for_task(alone=True):
            assert _omp_blas_threads() == 1, "a busy machine keeps the share"


def _blas_threads(alone: bool) -> int:
    with worker_cores.cores_for_task(alone):
        return _omp_blas_threads()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every share is the whole machine")
def test_on_the_cluster_a_fit_beside_another_keeps_its_share():
    cluster = engine.client()
    share = max(1, os.cpu_count() // cluster_setup.embedded_size())
    assert cluster.submit(_blas_threads, False, pure=False).result() == share
    assert share <= cluster.submit(_blas_threads, True, pure=False).result() <= os.cpu_count()
    busy = cluster.submit(time.sleep, 5, key="other-session-fit", pure=False)
    wait_for(lambda: any("other-session-fit" in keys for keys in cluster.processing().values()), what="the fit")
    assert cluster.submit(_blas_threads, True, pure=False).result() == share
    busy.cancel()


def _task_niceness() -> tuple[int, int]:
    """On a worker: the niceness of the task's thread and of a thread it starts (as OpenMP does)."""
    import threading

    started: list[int] = []
    helper = threading.Thread(target=lambda: started.append(os.getpriority(os.PRIO_PROCESS, 0)))
    helper.start()
    helper.join()
    return os.getpriority(os.PRIO_PROCESS, 0), started[0]


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no process priorities here")
def test_work_on_the_workers_yields_the_cpu_to_the_pages():
    cluster = engine.client()
    own = os.getpriority(os.PRIO_PROCESS, 0)
    task, started = cluster.submit(_task_niceness, pure=False).result()
    assert task >= max(own, int(WORKER_NICENESS.value())), "a fit runs below the app's process"
    assert started >= int(WORKER_NICENESS.value()), "so do the threads a fit starts"
    assert os.getpriority(os.PRIO_PROCESS, 0) == own, "the app's own process keeps its priority"


def test_the_workers_niceness_is_a_server_setting_from_0_to_19():
    from core import server_settings

    assert WORKER_NICENESS.value({}) == 10
    assert WORKER_NICENESS.value({"NOCODE_WORKER_NICENESS": "0"}) == 0, "0: the app's own priority"
    assert WORKER_NICENESS.value({"NOCODE_WORKER_NICENESS": "25"}) == 10
    said = server_settings.problems({"NOCODE_WORKER_NICENESS": "25"})
    assert said == ["NOCODE_WORKER_NICENESS='25' is not a number from 0 to 19; using the default, 10."]
    assert server_settings.problems({"NOCODE_MAX_RUNS": "0"}) == [
        "NOCODE_MAX_RUNS='0' is not a positive number; using the default, 2 runs."
    ]


def test_background_work_runs_in_order_in_one_thread_that_ends_when_idle():
    import threading

    ran: list[tuple[str, str]] = []
    done = threading.Event()
    engine.in_background(lambda: ran.append(("first", threading.current_thread().name)))
    engine.in_background(lambda: 1 / 0)  # a failure is the work's own business: the next one still runs
    engine.in_background(lambda: (ran.append(("second", threading.current_thread().name)), done.set()))
    assert done.wait(120)  # after whatever this process queued before (a cluster's start, a page's GPU check)
    assert ran == [("first", "engine-background"), ("second", "engine-background")]
    wait_for(lambda: not any(t.name == "engine-background" for t in threading.enumerate()), 30, "the thread to end")


def test_a_cluster_job_passes_events_results_and_stop_through_dask():
    def work(listen, should_stop, keep):
        for step in range(1, 1000):
            listen(ev.StepEnded(model="w", step=step, steps=999, metrics={"pid": float(os.getpid())}))
            keep(step)
            if should_stop():
                return step
            time.sleep(0.01)
        return -1

    job = engine.ClusterJob(work).start()
    wait_for(lambda: len(job.snapshot().results) >= 3, what="three results")
    job.stop()
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.status == "stopped" and 3 <= job.value < 999
    assert snap.results == list(range(1, len(snap.results) + 1)), "results in order, none lost"
    pids = {e.metrics["pid"] for e in snap.events}
    assert pids and os.getpid() not in pids, "the work ran in a worker process, not in this one"


def test_a_failing_task_fails_the_job_with_its_reason():
    def work(listen, should_stop, keep):
        raise ValueError("this table has no rows")

    job = engine.ClusterJob(work).start()
    assert job.wait(30)
    assert job.snapshot().status == "failed"
    assert "this table has no rows" in job.snapshot().error


def test_a_worker_that_dies_mid_run_costs_only_its_model():
    models = [ModelRun("random_forest_clf", "Forest", SLOW_FOREST), ModelRun("logistic_regression", "LR")]
    job = TrainingJob(request_for("breast_cancer", "diagnosis", request_task(), models)).start()
    wait_for(lambda: growing(job, "Forest"), what="the forest to grow")
    client = engine.client()
    doing = client.processing()
    worker = next(w for w, keys in doing.items() if any(str(k).endswith("-1") for k in keys))
    pid = client.run(os.getpid, workers=[worker])[worker]
    os.kill(pid, signal.SIGKILL)  # the worker process dies, as when the system runs out of memory
    assert job.wait(120)
    snap = job.snapshot()
    assert snap.status == "finished"
    by_name = {r.name: r for r in snap.results}
    assert isinstance(by_name["Baseline"], TrainedModel) and isinstance(by_name["LR"], TrainedModel)
    lost = by_name["Forest"]
    assert isinstance(lost, ModelFailure) and "stopped before it finished" in lost.message
    assert any(isinstance(e, ev.ModelFailed) and e.model == "Forest" for e in snap.events)
    wait_for(
        lambda: len(client.scheduler_info(n_workers=-1)["workers"]) >= cluster_setup.embedded_size(), 60, "a new worker"
    )
    if hasattr(os, "setpriority"):
        niceness = client.run(lambda: os.getpriority(os.PRIO_PROCESS, 0))
        assert min(niceness.values()) >= int(WORKER_NICENESS.value()), "the restarted worker is set up again"


def test_two_sessions_runs_at_once_never_mix():
    iris = TrainingJob(
        request_for("iris", "species", request_task("multiclass"), [ModelRun("random_forest_clf", "Forest")])
    )
    cancer = TrainingJob(
        request_for("breast_cancer", "diagnosis", request_task(), [ModelRun("random_forest_clf", "Forest")])
    )
    iris.start(), cancer.start()
    assert iris.wait(120) and cancer.wait(120)
    for job, classes in ((iris, {"setosa", "versicolor", "virginica"}), (cancer, {"benign", "malignant"})):
        snap = job.snapshot()
        assert [r.name for r in snap.results] == ["Baseline", "Forest"]
        assert set(map(str, snap.results[1].pipeline.classes_)) == classes, "each run got its own rows back"
        started = [e for e in snap.events if isinstance(e, ev.ModelStarted)]
        assert len(started) == 2, "no event of the other run"


def test_a_cluster_job_takes_a_value_already_on_the_cluster():
    cluster = engine.client()
    [held] = cluster.scatter([{"rows": 3}], hash=False)

    def work(listen, should_stop, keep, value, extra):
        return value["rows"] + extra, type(value).__name__

    job = engine.ClusterJob(work, held, 4).start()
    assert job.wait(30) and job.snapshot().status == "finished"
    assert job.value == (7, "dict"), "the work got the future's value, on the worker"


def _has(module: str) -> bool:
    return module in sys.modules


def test_warm_imports_a_module_on_every_worker_without_waiting():
    cluster = engine.client()
    assert not any(cluster.run(_has, "tabnanny").values())
    assert engine.warm(["tabnanny", "no_such_module_here"]) == len(cluster.scheduler_info(n_workers=-1)["workers"])
    wait_for(lambda: all(cluster.run(_has, "tabnanny").values()), 30, "every worker to import it")


def test_a_jobs_own_cost_is_timed_once_per_cluster():
    first = engine.job_seconds()
    assert 0 < first < 10 and engine.job_seconds() == first


def test_the_chosen_model_stays_on_its_worker_for_an_explanation():
    from core import explain as ce

    models = [ModelRun("logistic_regression", "LR"), ModelRun("decision_tree_clf", "Tree")]
    job = TrainingJob(request_for("breast_cancer", "diagnosis", request_task(), models)).start()
    assert job.wait(120)
    snap = job.snapshot()
    chosen = next(r for r in snap.results if isinstance(r, TrainedModel) and r.refit is not None)
    other = next(r.name for r in snap.results if r.name not in (chosen.name, "Baseline"))
    held = job.on_cluster(chosen.name)
    assert held is not None and job.on_cluster(other) is None and job.on_cluster("Baseline") is None
    request = job.request
    X_valid, _ = request.xy(request.split.valid)
    X_train, _ = request.xy(request.split.train)
    here = ce.explain(chosen, X_valid, X_train, max_rows=20)
    remote = ce.ExplainJob(None, X_valid, X_train, on_cluster=held, max_rows=20).start()  # no model sent from here
    assert remote.wait(60) and remote.snapshot().status == "finished", remote.snapshot().error
    np.testing.assert_allclose(remote.snapshot().results[0].values, here.values, atol=1e-9)


def request_task(kind: str = "binary"):
    from core.target import Task

    return Task.MULTICLASS if kind == "multiclass" else Task.BINARY


@pytest.fixture
def external_cluster(tmp_path):
    """A scheduler and one worker started as separate processes, the way Dask users start them."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    dask_cli = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen(
        [*dask_cli, "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = [scheduler]
    stack = contextlib.ExitStack()
    try:
        wait_for(scheduler_file.exists, 120, "the scheduler")
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        log = stack.enter_context((tmp_path / "worker.log").open("wb"))
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--name",
                "classroom-worker",
                "--no-dashboard",
            ],
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        processes.append(worker)
        yield address
    finally:
        engine.shutdown()  # the next test gets the embedded cluster again
        print((tmp_path / "worker.log").read_text()[-3000:])
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        stack.close()


def test_a_scheduler_address_is_honoured(external_cluster):
    engine.shutdown()
    with dask.config.set({"scheduler-address": external_cluster}):
        client = engine.client()
        wait_for(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 1, 180, "the worker to join")
        where = engine.info()
        assert not where.embedded and where.address == external_cluster and where.workers == 1
        assert external_cluster in where.describe()
        job = TrainingJob(
            request_for("iris", "species", request_task("multiclass"), [ModelRun("logistic_regression", "LR")])
        ).start()
        assert job.wait(120)
        snap = job.snapshot()
        assert snap.status == "finished" and [r.name for r in snap.results] == ["Baseline", "LR"]
        names = {info["name"] for info in client.scheduler_info(n_workers=-1)["workers"].values()}
        assert names == {"classroom-worker"}, "the run used the cluster at the address, not an embedded one"


def test_an_unreachable_address_says_so():
    engine.shutdown()
    with dask.config.set({"scheduler-address": "tcp://127.0.0.1:9"}), pytest.raises(engine.EngineUnavailable) as err:
        engine.client()
    assert "tcp://127.0.0.1:9" in err.value.user_message and "DASK_SCHEDULER_ADDRESS" in err.value.user_message
    engine.shutdown()


def test_a_worker_process_re_importing_the_app_file_does_not_run_the_app():
    """multiprocessing's spawn runs the parent's __main__ file (Streamlit's: app.py) in every worker as __mp_main__."""
    probe = "import runpy, sys; runpy.run_path('app.py', run_name='__mp_main__'); print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False", "the app ran inside a worker process"
