"""The server's thread policy: a run alone gets every core, concurrent runs one thread each."""

import threading
import time

import torch

from core import device


def test_a_lone_run_gets_every_core_and_company_drops_it_to_one(monkeypatch):
    monkeypatch.delenv("LAB_THREADS", raising=False)
    arrived, measured, leave = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first() -> None:
        with device.computing() as alone:
            seen.append(alone)
            arrived.wait()
            seen.append(device.rebalance())  # its next progress report, with company
            measured.set()
            leave.wait()
            seen.append(device.rebalance())  # the company has gone

    def second() -> None:
        with device.computing() as threads:
            seen.append(threads)
            arrived.set()
            measured.wait()
        leave.set()

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    workers[0].start()
    while not seen:
        time.sleep(0.01)
    workers[1].start()
    for w in workers:
        w.join()
    assert seen == [device.CORES, 1, 1, device.CORES]
    assert device.CORES > 1  # otherwise this test shows nothing (CI has 2 cores)


def test_lab_threads_fixes_the_count(monkeypatch):
    monkeypatch.setenv("LAB_THREADS", "1")
    with device.computing() as threads:
        assert threads == torch.get_num_threads() == 1
    monkeypatch.delenv("LAB_THREADS")
    device.serve_threads()


def test_the_count_is_right_after_many_threads_come_and_go(monkeypatch):
    monkeypatch.delenv("LAB_THREADS", raising=False)
    inside, seen = threading.Barrier(8), []

    def run() -> None:
        with device.computing():
            inside.wait()
            seen.append(device.rebalance())
            inside.wait()

    workers = [threading.Thread(target=run) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert seen == [1] * 8
    assert device.serve_threads() == device.CORES
