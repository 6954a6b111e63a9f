"""The fair compute queue: a bound on concurrent runs, first-come or shortest-first order, a
session's newer request replacing its older waiting one, and background work that gives way.
Threads are synchronised with events, never with sleeps."""

import threading

import pytest

import core.queue
from core.queue import ComputeQueue, Superseded


class Job(threading.Thread):
    """Takes a slot, records when it started, holds it until released."""

    def __init__(self, queue, owner, flops=1.0, log=None, background=False):
        super().__init__(daemon=True)
        self.queue, self.owner, self.flops, self.background = queue, owner, flops, background
        self.log = log if log is not None else []
        self.waiting, self.started, self.release = threading.Event(), threading.Event(), threading.Event()
        self.ready = threading.Event()  # set once it waits in the queue or has its slot
        self.error = None
        self.ahead = []

    def on_wait(self, ahead, eta):
        self.ahead.append((ahead, eta))
        self.waiting.set()
        self.ready.set()

    def run(self):
        try:
            with self.queue.slot(self.owner, self.flops, self.on_wait, background=self.background):
                self.log.append(self.owner)
                self.started.set()
                self.ready.set()
                assert self.release.wait(30)
        except Superseded as err:
            self.error = err
            self.ready.set()


def _start(job):
    job.start()
    assert job.ready.wait(30)
    return job


def _finish(job):
    job.release.set()
    job.join(30)


@pytest.mark.parametrize(("policy", "aging_s", "expected"), [
    ("fifo", 30.0, ["first", "big", "small", "mid"]),
    ("shortest", 30.0, ["first", "small", "mid", "big"]),
    ("shortest", 0.0, ["first", "big", "small", "mid"]),  # every request has waited too long: arrival order
])
def test_one_worker_serves_waiting_runs_in_policy_order(policy, aging_s, expected, monkeypatch):
    monkeypatch.setattr(core.queue, "AGING_S", aging_s)
    queue, log = ComputeQueue(1, policy), []
    first = _start(Job(queue, "first", 1.0, log))
    assert first.started.wait(30)
    waiting = [_start(Job(queue, name, flops, log)) for name, flops in [("big", 9.0), ("small", 1.0), ("mid", 4.0)]]
    assert queue.stats() == (1, 3)
    _finish(first)
    for name in expected[1:]:
        job = next(j for j in waiting if j.owner == name)
        assert job.started.wait(30)
        assert queue.stats()[0] == 1  # never more than one at once
        _finish(job)
    assert log == expected


def test_a_waiting_run_is_told_how_many_are_ahead_and_roughly_how_long():
    queue = ComputeQueue(1)
    first = _start(Job(queue, "a", 5e9))
    second = _start(Job(queue, "b", 1e9))
    assert second.ahead[0][0] == 1 and second.ahead[0][1] > 0
    third = _start(Job(queue, "c", 1e9))
    assert third.ahead[0][0] == 2
    for job in (first, second, third):
        _finish(job)


def test_two_workers_run_two_at_once_and_no_more():
    queue = ComputeQueue(2)
    a, b = _start(Job(queue, "a")), _start(Job(queue, "b"))
    assert a.started.wait(30) and b.started.wait(30)
    c = _start(Job(queue, "c"))
    assert not c.started.is_set() and queue.stats() == (2, 1)
    _finish(a)
    assert c.started.wait(30)
    _finish(b)
    _finish(c)


def test_a_newer_request_from_the_same_session_replaces_its_waiting_one():
    queue = ComputeQueue(1)
    running = _start(Job(queue, "other"))
    old = _start(Job(queue, "session-1"))
    new = _start(Job(queue, "session-1"))
    old.join(30)
    assert isinstance(old.error, Superseded)
    _finish(running)
    assert new.started.wait(30)
    _finish(new)
    assert queue.stats() == (0, 0)


def test_background_work_waits_while_a_visitor_waits_and_reports_idle():
    queue = ComputeQueue(1)
    visitor = _start(Job(queue, "visitor"))
    assert not queue.idle()
    warm = _start(Job(queue, "warm", background=True))
    second = _start(Job(queue, "visitor-2", 100.0))
    _finish(visitor)
    assert second.started.wait(30)  # the visitor first, though the warm run arrived before it
    assert not warm.started.is_set()
    _finish(second)
    assert warm.started.wait(30)
    assert queue.idle()  # only background work runs
    _finish(warm)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="workers"):
        ComputeQueue(0)
    with pytest.raises(ValueError, match="policy"):
        ComputeQueue(1, "random")
