"""The shared result cache: bounded, computes a shared setting once, survives interrupted runs."""

import threading

import pandas as pd
import pytest

from core.cache import ResultCache, result_bytes
from core.contract import Result


def _result(rows=10):
    return Result({"status": "ok"}, {"t": pd.DataFrame({"x": range(rows)})})


def test_entries_are_bounded_least_recently_used_first():
    cache = ResultCache(max_entries=3)
    for key in "abcd":
        cache.put(key, _result())
    assert len(cache) == 3 and cache.get("a") is None
    cache.get("b")  # touch b, so c is now the oldest
    cache.put("e", _result())
    assert cache.get("c") is None and cache.get("b") is not None


def test_bytes_are_bounded():
    one = result_bytes(_result(1000))
    cache = ResultCache(max_entries=100, max_bytes=int(2.5 * one))
    for key in range(5):
        cache.put(key, _result(1000))
    assert len(cache) == 2 and cache.total_bytes() <= 2.5 * one
    cache.put("huge", _result(10_000))  # larger than the whole budget: not stored
    assert cache.get("huge") is None


#: How long a test waits for an event before it fails (never reached when the cache works).
DEADLINE_S = 30


def test_concurrent_identical_requests_compute_once():
    """The computation is held until every other caller is known to be waiting for it (each has
    polled at least once), so none can arrive after it finished and pass as a cache hit."""
    callers = 20
    cache = ResultCache()
    calls, results, waiting = [], [], set()
    lock, all_waiting = threading.Lock(), threading.Event()

    def compute():
        calls.append(1)
        assert all_waiting.wait(DEADLINE_S), f"only {len(waiting)} of {callers - 1} callers waited"
        return _result()

    def wait():
        with lock:
            waiting.add(threading.get_ident())
            if len(waiting) == callers - 1:
                all_waiting.set()

    errors = []

    def caller():
        try:
            results.append(cache.get_or_compute("k", compute, wait))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"{len(errors)} callers failed, e.g. {errors[0]!r}"
    assert len(results) == callers and len(waiting) == callers - 1
    assert len(calls) == 1 and cache.runs == 1
    assert sum(1 for _, cached in results if not cached) == 1
    assert all(r is results[0][0] for r, _ in results)


class Interrupted(BaseException):
    """Stands in for Streamlit's RerunException, which is a BaseException."""


def test_an_interrupted_run_stores_nothing_and_frees_the_key():
    cache = ResultCache()

    def interrupted():
        raise Interrupted

    with pytest.raises(Interrupted):
        cache.get_or_compute("k", interrupted)
    assert cache.get("k") is None
    result, cached = cache.get_or_compute("k", _result)
    assert not cached and result.metrics["status"] == "ok"


def test_a_waiting_caller_is_polled_so_it_can_be_interrupted():
    """The computation finishes only after the waiting caller's first poll: no sleep, no race."""
    cache = ResultCache()
    started, polled, polls = threading.Event(), threading.Event(), []

    def slow():
        started.set()
        assert polled.wait(DEADLINE_S), "the waiting caller was never polled"
        return _result()

    def wait():
        polls.append(1)
        polled.set()

    worker = threading.Thread(target=lambda: cache.get_or_compute("k", slow))
    worker.start()
    assert started.wait(DEADLINE_S)
    result, cached = cache.get_or_compute("k", _result, wait=wait)
    worker.join()
    assert polls and cached and cache.runs == 1 and result is cache.get("k")


def test_a_waiting_caller_interrupted_while_polled_leaves_the_computation_alone():
    """A waiting session whose poll raises (a newer slider value) leaves; the computing one still
    stores its result, and the next caller gets it from the cache."""
    cache = ResultCache()
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        assert release.wait(DEADLINE_S)
        return _result()

    def interrupted_wait():
        release.set()
        raise Interrupted

    worker = threading.Thread(target=lambda: cache.get_or_compute("k", slow))
    worker.start()
    assert started.wait(DEADLINE_S)
    with pytest.raises(Interrupted):
        cache.get_or_compute("k", _result, wait=interrupted_wait)
    worker.join()
    _, cached = cache.get_or_compute("k", _result)
    assert cached and cache.runs == 1 and not cache._inflight
