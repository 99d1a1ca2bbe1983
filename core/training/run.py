"""A training run: every chosen model, in order (:func:`run_training`) or as a
job the page polls (:class:`TrainingJob`).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from distributed import Future

from core import admission, engine, worker_cores
from core import events as ev
from core.guards.model_checks import model_findings
from core.jobs import BackgroundJob, explain_failure
from core.target import Task
from core.training.choose import STOPPED, choose, finish, not_refitted, refit, with_agreement
from core.training.fit import ended, train_model
from core.training.request import BASELINE, ModelFailure, ModelRun, Refit, TrainedModel, TrainingRequest


def run_training(
    request: TrainingRequest,
    listener: ev.Listener = ev.ignore,
    should_stop=lambda: False,
    on_result=lambda result: None,
) -> list[TrainedModel | ModelFailure]:
    """Train every model of the request in order, in this process; failures are per model.

    Scripts, tests and benchmarks call this; the app runs the same models as a
    :class:`TrainingJob` on the cluster. ``on_result`` receives each
    :class:`TrainedModel` or :class:`ModelFailure` as soon as it exists, so a
    leaderboard can fill in during the run. At the end the chosen model is refitted
    on training + validation rows (:func:`core.training.choose.finish`; not when stopped).
    """
    started = time.perf_counter()
    listener(ev.TrainingStarted(models=tuple(run.name for run in request.models)))
    results: list[TrainedModel | ModelFailure] = []
    for index, run in enumerate(request.models):
        if should_stop():
            break
        listener(ev.ModelStarted(model=run.name, index=index, total=len(request.models)))
        result = train_model(request, run, listener, should_stop)
        results.append(result)
        on_result(result)
        listener(ended(result))
    stopped = should_stop()
    results = finish(results, request, stopped=stopped)
    listener(_run_ended(results, stopped, started))
    return results


def _run_ended(results: list, stopped: bool, started: float) -> ev.Event:
    if stopped:
        return ev.TrainingStopped(finished=tuple(r.name for r in results if isinstance(r, TrainedModel)))
    return ev.TrainingFinished(seconds=time.perf_counter() - started)


def _train_on_worker(
    request: TrainingRequest, run: ModelRun, index: int, channel: engine.Channel
) -> TrainedModel | ModelFailure:
    """One cluster task: one model of a run, reporting through the job's channel.

    The only model of its run besides the baseline may use every core of its machine when no
    other fit runs there (:func:`core.worker_cores.cores_for_task`).
    """
    channel.listen(ev.ModelStarted(model=run.name, index=index, total=len(request.models)))
    alone = sum(r.key != BASELINE for r in request.models) == 1
    with worker_cores.cores_for_task(alone):
        return train_model(request, run, channel.listen, channel.should_stop)


def _check_on_worker(trained: TrainedModel, request: TrainingRequest) -> list:
    """One cluster task: the after-training guard checks of the best model."""
    return model_findings(trained, request)


def _refit_on_worker(trained: TrainedModel, request: TrainingRequest) -> TrainedModel:
    """One cluster task: the chosen model refitted on training + validation rows."""
    with worker_cores.cores_for_task(alone=True):
        return refit(trained, request)


def _after_run_on_worker(
    hook: AfterRunHook,
    request: TrainingRequest,
    results: list,
    fitted: dict[str, TrainedModel],
    seconds: float,
    outcome: str,
) -> Any:
    """One cluster task: the after-run hook (recording the run), beside the models it needs.

    ``results`` came without their pipelines (:func:`_without_pipelines`); ``fitted`` gives each of
    those models as the worker holding it has it, so no pipeline travels up from the app's process.
    Keras' state is cleared after it as after a fit, when recording held a network
    (:func:`core.worker_cores.after_task`). Nothing more: a full garbage collection after every
    recording takes about a second on a worker with TensorFlow loaded, in the slot queued runs wait
    for, and the 50-run soak stays within its goal without it.
    """
    whole = [
        replace(r, pipeline=fitted[r.name].pipeline, before_refit=fitted[r.name].before_refit)
        if isinstance(r, TrainedModel) and r.name in fitted
        else r
        for r in results
    ]
    try:
        return hook(request, whole, seconds, outcome)
    finally:
        del whole
        worker_cores.after_task()


def _without_pipelines(results: list, on_cluster: dict[str, Future]) -> list:
    """``results`` with the pipelines of the models held on the cluster left out (they are there already)."""
    return [
        replace(r, pipeline=None, before_refit=None) if isinstance(r, TrainedModel) and r.name in on_cluster else r
        for r in results
    ]


# --------------------------------------------------------------------------- the job


def queue_seconds(request: TrainingRequest) -> float | None:
    """The run's own estimate for the server's queue (:mod:`core.admission`): its budget plan's seconds
    plus the refit of its slowest model (the chosen one is refitted; errs long). None without a plan.
    """
    plan = request.budget
    if plan is None or not getattr(plan, "seconds", 0):
        return None
    refit = max((m.seconds for m in plan.models if not m.left_out), default=0.0)
    return float(plan.seconds + refit)


@dataclass(frozen=True)
class AfterRun:
    """Where a job's after-run hook is (e.g. recording the run in the experiment log)."""

    status: str  # "none" (no hook), "pending", "running", "done", "failed", "skipped"
    value: Any = None
    error: str | None = None

    @property
    def pending(self) -> bool:
        return self.status in ("pending", "running")


#: after_run(request, results, seconds, outcome) -> anything; runs once, in the worker thread.
#: ``outcome`` is :meth:`core.jobs.BackgroundJob.outcome` ("finished", "stopped: <why>", …).
#: A hook with a ``runs_on_cluster`` attribute (:class:`core.tracking.Recorder`) runs as a cluster task
#: instead, beside the models, where its workers reach what it writes to (:data:`AFTER_RUN_ON_CLUSTER`).
AfterRunHook = Callable[[TrainingRequest, list, float, str], Any]
#: The attribute of a hook that pickles and may run on a worker: :data:`THIS_MACHINE` (what it writes to
#: is reached from this machine only: a file, a server at a loopback address) or :data:`ANY_MACHINE`.
AFTER_RUN_ON_CLUSTER = "runs_on_cluster"
THIS_MACHINE, ANY_MACHINE = "this machine", "any machine"
#: Queued by :meth:`TrainingJob.when_after_run`: called with the hook's final state, in the worker thread.
AfterRunCall = Callable[[AfterRun], Any]


class TrainingJob(BackgroundJob):
    """A training run on the cluster (:mod:`core.engine`), owned by one browser session.

    Each model is one cluster task, so models train side by side when workers are
    free; the request's rows go to the cluster once. The session keeps only this
    handle: a thread that passes on the tasks' events and results
    (:meth:`~core.jobs.BackgroundJob.snapshot`) and passes Stop on.
    :meth:`stop` asks the run to end at the next safe point (between stages, at
    the end of a Keras epoch); models not started yet are cancelled, finished
    models are kept. A worker that dies takes only its model with it.

    Once the run has ended and its status is final, the chosen model (:func:`core.training.choose.choose`)
    gets the after-training guard checks (stored in its ``checks``) and, when the run finished, is
    refitted on training + validation rows (:func:`core.training.choose.refit`, replacing it among the
    results): two cluster tasks side by side; :attr:`checking` is true meanwhile and :attr:`refitting`
    names the model being refitted. Then ``after_run`` (optional), once, in the handle's thread, with
    the request, the results, the run's seconds and how it ended (:meth:`outcome`); the page never waits for
    either. Whatever the hook returns or raises is kept in :meth:`after_run` —
    its failure never loses the trained models. What needs the hook's result but is asked for while
    it still runs (a test score for the model's run in the experiment log) waits on the job
    (:meth:`when_after_run`) and runs in the same thread right after it.

    Before anything goes to the cluster, the run waits for a free place in the server's queue
    (:mod:`core.admission`; joined by :meth:`start`, so in the order of the clicks), sending a
    :class:`core.events.RunQueued` whenever its place changes (:meth:`waiting` gives it live). Stop
    while it waits makes it leave the queue: it ends "stopped" with the reason
    :data:`core.admission.CANCELLED`, no results, nothing recorded (:attr:`left_queue`). Its place is
    released once its cluster work (the refit and checks included) has ended, before the after-run hook.
    """

    name = "training-job"

    def __init__(
        self,
        request: TrainingRequest,
        after_run: AfterRunHook | None = None,
        queue: admission.AdmissionQueue | None = None,
    ) -> None:
        self.request = request
        self._queue = queue  # None: the server's (core.admission.server_queue)
        self._ticket: admission.Ticket | None = None  # its place in the server's queue, from start()
        self.left_queue = False  # stopped while waiting for a free place: nothing ran
        self._after_hook = after_run
        self._after = AfterRun("none" if after_run is None else "pending")
        self.checking = True
        self.refitting: str | None = None  # the chosen model's name while it is refitted
        self._shared: Future | None = None  # the request, scattered to the cluster for this run
        self._held: dict[str, Future] = {}  # each finished model, still on the worker that trained it
        self._chosen: tuple[str, Future] | None = None  # the chosen model as finally fitted, kept on its worker
        self._calls: list[AfterRunCall] = []  # queued by when_after_run until the hook has ended
        self._calls_open = after_run is not None
        self._calls_lock = threading.Lock()
        super().__init__()  # the work is _execute: one cluster task per model

    def _execute(self) -> list[TrainedModel | ModelFailure]:
        request = self.request
        if self._ticket is None:  # started without start() (a test calling _run)
            self._join()
        assert self._ticket is not None
        if not admission.wait_turn(self._ticket, self._listen, self._stop.is_set):
            self.left_queue = True
            self.stop_reason = admission.cancelled_reason(self.stop_reason)
            self._listen(ev.TrainingStopped(finished=()))
            return []
        self.started_at, started = time.time(), time.perf_counter()  # the run's time starts when it is admitted
        self._listen(ev.TrainingStarted(models=tuple(run.name for run in request.models)))
        client = engine.client()
        channel = engine.Channel.new("training", client)
        # The rows travel once per worker, not once per model; every worker holds them, so one
        # that dies does not take the other models' input with it.
        self._shared = client.scatter(request, hash=False, broadcast=True)
        futures = {
            client.submit(
                _train_on_worker,
                self._shared,
                run,
                index,
                channel,
                key=f"{channel.name}-{index}{worker_cores.LIGHT if run.key == BASELINE else ''}",
                pure=False,
            ): run
            for index, run in enumerate(request.models)
        }
        begun: set[str] = set()

        def message(kind: str, item: Any) -> None:
            if isinstance(item, ev.ModelStarted):
                begun.add(item.model)
            (self._listen if kind == "event" else self._keep)(item)

        def done(future: Future) -> None:
            run = futures[future]
            try:
                result = engine.result_of(future, run.name)
            except engine.WorkerLost as err:
                result = ModelFailure(run.name, run.key, err.user_message)
            except Exception as exc:  # the task itself broke (not the model): that model fails, the run goes on
                result = ModelFailure(run.name, run.key, explain_failure(exc))
            if isinstance(result, TrainedModel):
                self._held[run.name] = future
            self._keep(result)
            self._listen(ended(result))

        engine.follow(futures, channel, message, self._stop.is_set, lambda f: futures[f].name in begun, done)
        order = {run.name: index for index, run in enumerate(request.models)}
        with self._lock:
            self._results.sort(key=lambda r: order.get(r.name, len(order)))
            results = list(self._results)
        self._listen(_run_ended(results, self._stop.is_set(), started))
        return results

    def start(self, instead_of: TrainingJob | None = None):
        """Join the server's queue (in the order of the clicks), then start the handle's thread.

        ``instead_of``: the session's previous run; if it is still waiting in the queue, this run
        takes its place in the line (the previous one then ends as left the queue; stop it).
        """
        if self._thread is None and self._ticket is None:
            self._join(instead_of._ticket if instead_of is not None else None)
        return super().start()

    def _join(self, instead_of: admission.Ticket | None = None) -> None:
        queue = self._queue or admission.server_queue()
        self._ticket = queue.join(queue_seconds(self.request), owner=self, instead_of=instead_of)

    def waiting(self) -> admission.Place | None:
        """Its place in the server's queue while it waits for a free place; None once admitted (or not started)."""
        ticket = self._ticket
        if ticket is None or not ticket.queued or self.snapshot().status != "running":
            return None
        return ticket.place()

    def _run(self) -> None:
        shared, held = None, {}
        try:
            super()._run()
            self._finish(self.snapshot().status)
        except Exception:  # checks or a refit that fail must not lose the run; the models stay as trained
            pass
        finally:
            if self._ticket is not None:  # the cluster work has ended: the next run in the queue may start
                self._ticket.release()
            self.refitting = None
            self.checking = False
            # The rows and the models as the cluster holds them, for the after-run hook only; then the
            # cluster may forget them, except the chosen one (see on_cluster).
            shared, held = self._shared, self._fitted_on_cluster()
            self._shared, self._held = None, {}
        snap = self.snapshot()
        if self._after_hook is None:
            return
        if not snap.results:
            self._settle(AfterRun("skipped"))
            return
        self._after = AfterRun("running")
        seconds = (snap.finished_at or time.time()) - snap.started_at
        try:
            after = AfterRun("done", self._call_after_hook(snap.results, seconds, shared, held))
        except Exception as exc:  # report, never raise in a thread
            after = AfterRun("failed", error=explain_failure(exc))
        del shared, held
        self._settle(after)

    def _fitted_on_cluster(self) -> dict[str, Future]:
        """Each trained model's future on the cluster, as finally fitted (the chosen one refitted)."""
        held = dict(self._held)
        if self._chosen is not None:
            held[self._chosen[0]] = self._chosen[1]
        return {name: future for name, future in held.items() if future.status == "finished"}

    def _call_after_hook(self, results: list, seconds: float, shared: Future | None, held: dict[str, Future]) -> Any:
        """The after-run hook, as a cluster task when the workers reach what it writes to, else in this thread.

        On the cluster, the hook's work (recording a run writes every model's bundle: seconds of Python
        for a run of several models) leaves the app's one interpreter to the pages; the models go as
        the futures of the tasks that fitted them. A worker lost meanwhile or a cluster gone: the hook
        runs here after all. A hook that raises there raises here.
        """
        hook = self._after_hook
        assert hook is not None
        outcome = self.outcome()

        def here() -> Any:
            return hook(self.request, results, seconds, outcome)

        reach = getattr(hook, AFTER_RUN_ON_CLUSTER, None)
        if shared is None or reach not in (THIS_MACHINE, ANY_MACHINE):
            return here()
        if reach == THIS_MACHINE and not engine.workers_on_this_machine():
            return here()
        try:
            future = engine.client().submit(
                _after_run_on_worker,
                hook,
                shared,
                _without_pipelines(results, held),
                held,
                seconds,
                outcome,
                key=f"after-run-{uuid.uuid4().hex}{worker_cores.LIGHT}",
                pure=False,
                priority=1,  # before the tasks of runs started since: the person waits for this one
            )
        except Exception:  # the cluster is gone (shut down, restarting): here, then
            return here()
        try:
            return engine.result_of(future, "recording the run")
        except engine.WorkerLost:
            return here()

    def _settle(self, after: AfterRun) -> None:
        """Run the calls queued for the hook's end (those queued meanwhile too), then make ``after`` public."""
        while True:
            with self._calls_lock:
                calls, self._calls = self._calls, []
                if not calls:
                    self._calls_open = False
                    self._after = after
                    return
            for call in calls:
                with contextlib.suppress(Exception):  # one queued call that fails must not stop the others
                    call(after)

    def when_after_run(self, call: AfterRunCall) -> bool:
        """Queue ``call(after_run)`` for right after the after-run hook, in the job's thread; False when too late.

        For work that needs the hook's result but may be asked for while the hook still runs: a
        test score scored while the run is being recorded goes onto the model's run in the
        experiment log this way, with no thread or wait of its own. Queued calls run in order once
        the hook has returned (or failed, or was skipped), before :meth:`after_run` stops being
        pending, so whatever waits for the recording (the Train page, the leave guard, :meth:`wait`)
        waits for them too; one that raises is ignored.

        Returns:
            True when queued. False when the job has no hook or its hook has ended: ``call`` is not
            called, and the caller acts on :meth:`after_run` itself.
        """
        with self._calls_lock:
            if not self._calls_open:
                return False
            self._calls.append(call)
            return True

    def _finish(self, status: str) -> None:
        """The chosen model's checks and (when the run finished) its refit, side by side on the cluster."""
        request = self.request
        choice = choose(self.snapshot().results, request)
        if choice is None:
            return
        best = choice.model
        wanted = request.task.has_target and status == "finished"
        self.refitting = best.name if wanted else None  # said first: the Results page holds the test score back
        checks = None if best.checks is not None else self._submit(_check_on_worker, best, light=True)
        refitted = self._submit(_refit_on_worker, best) if wanted else None
        if checks is not None:
            with contextlib.suppress(Exception):  # checks that fail leave the model without checks
                best.checks = self._gather(checks, "the checks")
        kept = self._held.get(best.name)
        if not request.task.has_target:
            self._chosen = (best.name, kept) if kept is not None else None
            if request.task == Task.ANOMALY:  # each detector's agreement with the others, now that all are here
                agreed = with_agreement(self.snapshot().results, request)  # scored outside the lock
                with self._lock:
                    self._results = agreed
            return
        if refitted is None:
            done = not_refitted(best, request, STOPPED if status == "stopped" else f"the run {status}")
        else:
            try:
                done = self._gather(refitted, f"refitting {best.name}")
                kept = refitted if isinstance(refitted, Future) else None
            except Exception as exc:  # a lost worker or a broken task: keep the model as trained, say why
                why = getattr(exc, "user_message", None) or explain_failure(exc)
                done = replace(best, refit=Refit(request.split.choice_rows, error=why))
        # The same pipeline as ``done`` (only its refit note and checks differ).
        self._chosen = (best.name, kept) if kept is not None else None
        done.checks = best.checks  # judged on validation rows, before the refit
        with self._lock:
            self._results = [done if r is best else r for r in self._results]

    def _submit(self, task: Callable, best: TrainedModel, light: bool = False) -> Any:
        """``task(best, request)`` on the cluster (the request is already there), or a thunk here without it.

        The model goes as the future of the task that trained it, so it moves between workers instead
        of travelling up from this process again. A ``light`` task does not count as a fit beside
        another (:func:`core.worker_cores.task_threads`).
        """
        if self._shared is None:
            return lambda: task(best, self.request)
        key = f"{task.__name__}-{uuid.uuid4().hex}{worker_cores.LIGHT if light else ''}"
        model = self._held.get(best.name, best)
        return engine.client().submit(task, model, self._shared, key=key, pure=False)

    def on_cluster(self, name: str) -> Future | None:
        """The chosen model, still on the worker that fitted it last, when ``name`` is that model.

        A task that needs it (an explanation) takes this future instead of sending the pipeline
        up from this process again (a full-depth forest pickles to 100 MB and more). Held while
        the session holds this job; None for other models, before the run has ended, for a
        restored run, and once the worker holding it is gone.
        """
        chosen = self._chosen
        if chosen is None or self.checking or chosen[0] != name or chosen[1].status != "finished":
            return None
        return chosen[1]

    def _gather(self, pending: Any, what: str) -> Any:
        return engine.result_of(pending, what) if isinstance(pending, Future) else pending()

    @classmethod
    def restored(cls, request: TrainingRequest, results: list, recorded: Any = None) -> TrainingJob:
        """A finished job holding models brought back from the experiment log (:mod:`core.restore`).

        Its events say the models finished (so progress and the leaderboard read as after a run),
        and ``recorded`` stands for what recording the run returned (model run ids for test scores).
        """
        job = cls(request)
        names = tuple(r.name for r in results)
        job._events = [ev.TrainingStarted(models=names)]
        for index, result in enumerate(results):
            job._events.append(ev.ModelStarted(model=result.name, index=index, total=len(results)))
            if isinstance(result, TrainedModel):
                job._events.append(ev.ModelFinished(model=result.name, scores=result.scores, seconds=result.seconds))
            else:
                job._events.append(ev.ModelFailed(model=result.name, message=result.message))
        job._events.append(ev.TrainingFinished(seconds=sum(getattr(r, "seconds", 0.0) for r in results)))
        job._results = list(results)
        job._status = "finished"
        job.started_at = job.finished_at = time.time()
        job.checking = False
        job._after = AfterRun("done", recorded) if recorded is not None else AfterRun("none")
        return job

    def after_run(self) -> AfterRun:
        """The after-run hook's state and result."""
        return self._after
