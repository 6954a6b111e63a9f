"""The shared result cache: bounded, computes a shared setting once, survives interrupted runs."""

import threading
import time

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


def test_concurrent_identical_requests_compute_once():
    cache = ResultCache()
    calls, results = [], []

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return _result()

    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute))) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
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
    cache = ResultCache()
    started, polls = threading.Event(), []

    def slow():
        started.set()
        time.sleep(0.5)
        return _result()

    worker = threading.Thread(target=lambda: cache.get_or_compute("k", slow))
    worker.start()
    started.wait()
    cache.get_or_compute("k", _result, wait=lambda: polls.append(1))
    worker.join()
    assert polls and cache.runs == 1
