"""The server's admission queue (core.admission) and a training run waiting in it (core.training.run).

Queue tests use a clock the test moves, so positions and estimates are exact; the thread test
checks the limit with real threads (no timing asserted). A run's place and its cancellation are
checked on a :class:`TrainingJob` whose cluster would fail the test if it were reached.
"""

from __future__ import annotations

import gc
import threading

import pytest

from core import admission
from core import events as ev
from core.admission import AdmissionQueue, Place, wait_words
from core.training import TrainingJob
from core.training import run as run_module
from tests.conftest import make_training_request


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tickets_are_admitted_first_come_first_served_up_to_the_limit():
    queue = AdmissionQueue(limit=2)
    a, b, c, d = (queue.join(10) for _ in range(4))
    assert [t.admitted for t in (a, b, c, d)] == [True, True, False, False]
    assert queue.status() == admission.QueueStatus(running=2, queued=2, limit=2)

    b.release()
    assert c.admitted and not d.admitted, "the first in the queue takes the freed place"
    a.release()
    assert d.admitted
    c.release()
    d.release()
    d.release()  # twice: nothing more happens
    assert queue.status() == admission.QueueStatus(0, 0, 2)


def test_the_limit_comes_from_the_server_setting(monkeypatch):
    monkeypatch.setenv("NOCODE_MAX_RUNS", "3")
    assert AdmissionQueue().limit == 3
    monkeypatch.setenv("NOCODE_MAX_RUNS", "nonsense")
    assert AdmissionQueue().limit == 2, "an unusable value falls back to the default"


def test_position_and_estimate_move_as_runs_finish():
    clock = Clock()
    queue = AdmissionQueue(limit=2, default_seconds=60, clock=clock)
    a, b = queue.join(30), queue.join(60)  # running
    c, d = queue.join(20), queue.join(None)  # waiting; d brings no estimate of its own
    clock.now += 10

    # Two slots free up after 20 s (a) and 50 s (b); c takes the first, then d the next (at 20 + 20 s).
    assert c.place() == Place(admitted=False, ahead=2, queued_ahead=0, wait_s=20)
    assert d.place() == Place(admitted=False, ahead=3, queued_ahead=1, wait_s=40)
    assert wait_words(c.place()) == "Yours is next, about 20 s"
    assert wait_words(d.place()) == "3 runs ahead of yours, about 40 s"
    assert d.place().position == 2

    clock.now += 5
    a.release()  # after 15 s: c starts
    assert wait_words(c.place()) == "Starting…"
    assert d.place() == Place(admitted=False, ahead=2, queued_ahead=0, wait_s=20), "c's 20 s end before b's 45"

    clock.now += 60  # both overran their estimates: they may end any moment
    assert d.place().wait_s == admission.MIN_REMAINING_S
    b.release()
    assert d.admitted
    # A run without its own estimate is counted at the median of the runs that ended (15 s and 75 s).
    assert queue.typical_seconds() == 45
    _, f = queue.join(None), queue.join(None)
    assert not f.admitted and f.place().wait_s == pytest.approx(45)


def test_leaving_the_queue_moves_the_runs_behind_up_and_never_starts():
    queue = AdmissionQueue(limit=1)
    a, b, c = queue.join(10), queue.join(10), queue.join(10)
    assert c.place().ahead == 2
    assert b.cancel()
    assert b.state == admission.LEFT and not b.admitted
    assert c.place().ahead == 1 and c.place().queued_ahead == 0
    assert not a.cancel(), "a running ticket is not cancelled, it is released"
    a.release()
    assert c.admitted and not b.admitted


def test_a_run_replaced_while_waiting_keeps_its_place_in_the_line():
    queue = AdmissionQueue(limit=1)
    running, mine, theirs = queue.join(10), queue.join(10), queue.join(10)
    again = queue.join(10, instead_of=mine)  # the same person changed the models and pressed Train again
    assert mine.state == admission.LEFT and not mine.wait(lambda: False), "the replaced run leaves, never starts"
    assert queue.place(again).queued_ahead == 0 and queue.place(theirs).queued_ahead == 1, "still ahead of theirs"
    assert queue.status() == admission.QueueStatus(running=1, queued=2, limit=1)
    running.release()
    assert again.admitted and not theirs.admitted
    late = queue.join(10, instead_of=again)  # a run already going is not replaced in the line: the end
    assert again.admitted and queue.place(late).queued_ahead == 1


def test_an_abandoned_ticket_never_blocks_the_queue():
    queue = AdmissionQueue(limit=1)

    class Owner:
        pass

    owner = Owner()
    queue.join(10, owner=owner)
    waiting = queue.join(10)
    assert not waiting.admitted
    del owner
    gc.collect()
    assert waiting.admitted, "the owner went away without releasing: its place is freed"


def test_the_limit_holds_with_real_threads_and_every_run_gets_its_turn():
    queue = AdmissionQueue(limit=2)
    lock = threading.Lock()
    running, most, done = [0], [0], []
    tickets = [queue.join(1) for _ in range(8)]  # joined in this order

    def work(ticket):
        assert ticket.wait(lambda: False)
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        with lock:
            running[0] -= 1
            done.append(ticket.number)
        ticket.release()

    threads = [threading.Thread(target=work, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(done) == [t.number for t in tickets], "every run was admitted once"
    assert most[0] <= 2
    assert queue.status() == admission.QueueStatus(0, 0, 2)


def test_a_waiting_thread_tells_its_place_and_leaves_when_stopped():
    queue = AdmissionQueue(limit=1)
    blocker = queue.join(30)
    ticket = queue.join(5)
    stop = threading.Event()
    events: list[ev.Event] = []
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(admission.wait_turn(ticket, events.append, stop.is_set)))
    waiter.start()
    while not events:
        waiter.join(0.05)
    assert events[0] == ev.RunQueued(position=1, ahead=1, wait_s=events[0].wait_s, at=events[0].at)
    stop.set()
    waiter.join(10)
    assert result == [False] and ticket.state == admission.LEFT
    blocker.release()
    assert queue.status().running == 0, "the ticket that left was not admitted"


# --------------------------------------------------------------------------- a training run in the queue


@pytest.fixture()
def request_():
    return make_training_request("iris", "species", models=["logistic_regression"])


@pytest.fixture()
def no_cluster(monkeypatch):
    """Reaching the cluster fails: a run that must not start would fail instead of stopping."""

    def refuse():
        raise RuntimeError("the cluster was reached")

    monkeypatch.setattr(run_module.engine, "client", refuse)


def test_stop_while_queued_cancels_the_run_and_records_nothing(request_, no_cluster):
    queue = AdmissionQueue(limit=1)
    blocker = queue.join(30)
    calls = []
    job = TrainingJob(request_, after_run=lambda *args: calls.append(args), queue=queue).start()
    assert job.waiting() is not None and job.waiting().ahead == 1
    while not any(isinstance(e, ev.RunQueued) for e in job.snapshot().events):
        job.wait(0.05)
    job.stop()
    assert job.wait(10)
    snap = job.snapshot()
    assert snap.status == "stopped" and snap.error is None
    assert job.outcome() == "stopped: cancelled while waiting in the queue"
    assert job.left_queue and snap.results == []
    assert job.after_run().status == "skipped" and calls == [], "nothing recorded"
    assert not any(isinstance(e, ev.TrainingStarted) for e in snap.events)
    assert queue.status() == admission.QueueStatus(1, 0, 1)
    blocker.release()


def test_a_failed_run_releases_its_place(request_, no_cluster):
    queue = AdmissionQueue(limit=1)
    job = TrainingJob(request_, queue=queue).start()
    behind = queue.join(10)
    assert job.wait(10)
    assert job.snapshot().status == "failed" and "the cluster was reached" in job.snapshot().error
    assert behind.admitted, "the next run starts once the failed one ended"
    behind.release()


def test_a_run_estimates_its_queue_time_from_its_budget_plan(request_):
    from core.training import budget

    assert run_module.queue_seconds(request_) is None, "no plan: the queue's typical run"
    estimates = budget.estimate_all(request_)
    plan = budget.plan(request_, estimates, 60, 1)
    planned = plan.apply(request_)
    slowest = max(m.seconds for m in plan.models)
    assert run_module.queue_seconds(planned) == pytest.approx(plan.seconds + slowest)
