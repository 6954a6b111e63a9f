"""Where a sweep's points run: a process pool on this machine, or Ray tasks on a cluster.

Both run each point through ``Experiment.execute`` on one thread, so many points share the cores
instead of oversubscribing them, and a point gives bit for bit what ``python -m core run`` gives
on one thread. Both yield points as they finish, each with its Result or its error message, so the
driver stores every finished point at once and an interrupted sweep keeps them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import registry
from core.contract import ConfigError, Result

CORE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Task:
    """One point: what a worker needs to compute it (picklable, so it can travel to a cluster)."""

    index: int
    experiment: str
    config: Any
    device: str


#: (task index, its Result or None, the error message or None)
Done = tuple[int, Result | None, str | None]
Compute = Callable[[Task], Result]
Backend = Callable[[Sequence[Task]], Iterator[Done]]


def compute(task: Task) -> Result:
    """Run one point on one thread, through the same validation and budget as every face."""
    os.environ["LAB_THREADS"] = "1"
    from core.device import rebalance  # torch is imported in the worker, not by the sweep's planning

    rebalance()
    return registry.get(task.experiment).execute(task.config, device=task.device)


def error_text(err: BaseException) -> str:
    """A failed point's message for the table: the exception's kind and its first line."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


#: Read by OpenMP and MKL when torch loads, which a worker does after it starts: a run's thread
#: count set only later (torch.set_num_threads) left steps twice as slow here (1000 steps of
#: widths 200 and 500: 2.8 s against 1.5 s), as Ray's workers, which start with these, were not.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LAB_THREADS": "1"}


def _start_worker() -> None:
    """One thread from the start; and Ctrl-C is the driver's to handle, not the worker's."""
    os.environ.update(ONE_THREAD_ENV)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def local(tasks: Sequence[Task], workers: int, run: Compute = compute) -> Iterator[Done]:
    """A pool of ``workers`` processes (spawned: a forked torch may deadlock in OpenMP)."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker)
    finished = False
    try:
        futures: dict[Future, int] = {pool.submit(run, task): task.index for task in tasks}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result(), None
            except Exception as err:  # the point failed; the sweep goes on
                yield futures[future], None, error_text(err)
        finished = True
    finally:
        if not finished:  # Ctrl-C: points already handed to a worker would otherwise run on after the summary
            for process in list(pool._processes.values()):  # Python 3.14 names this terminate_workers()
                process.terminate()
        pool.shutdown(wait=finished, cancel_futures=True)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray: ray is not installed; pip install -r requirements-cluster.txt") from None
    return ray


def start_ray(address: str | None, workers: int) -> None:
    """Connect to the cluster at ``address``, or start a local Ray instance of ``workers`` CPUs
    (a new one, even where ``ray start`` left a cluster running: that one takes ``--address auto``);
    core/ travels to every worker, so a cluster's nodes need the requirements but not this repo."""
    try:
        _ray().init(address=address or "local", num_cpus=None if address else workers, include_dashboard=False,
                    log_to_driver=False, logging_level=logging.WARNING,
                    runtime_env={"py_modules": [str(CORE)], "excludes": ["__pycache__"]})
    except ConnectionError as err:
        raise ConfigError(f"--address: no Ray cluster answered at {address} ({err})") from None


def on_ray(tasks: Sequence[Task], address: str | None, workers: int, run: Compute = compute) -> Iterator[Done]:
    """Each point a Ray task, retried once when it fails (a worker lost, a node out of memory),
    then recorded as failed. Uses the Ray instance this process already holds, if any."""
    ray = _ray()
    from ray.exceptions import RayError, RayTaskError

    started = not ray.is_initialized()
    if started:
        start_ray(address, workers)
    remote = ray.remote(num_cpus=1, max_retries=1, retry_exceptions=True)(run)
    pending = {remote.remote(task): task.index for task in tasks}
    try:
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ref)
            try:
                yield index, ray.get(ref), None
            except RayTaskError as err:
                yield index, None, error_text(err.cause if err.cause is not None else err)
            except RayError as err:
                yield index, None, error_text(err)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if started:
            ray.shutdown()
