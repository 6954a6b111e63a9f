"""What every session of one server shares: the in-memory cache, the result store on disk, the
compute queue, and the warm start that fills the store in the background."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import streamlit as st

from core import queue
from core.cache import ResultCache
from core.contract import Experiment, Result
from core.device import computing, pick_device, rebalance
from core.memory import release_freed_memory
from core.rendering import Rendered, render
from core.store import ResultStore, open_store
from core.warm import warm


@st.cache_resource
def shared_cache() -> ResultCache:
    """One in-memory result cache per server process, in front of the store."""
    return ResultCache(max_entries=64, max_bytes=64 * 2**20)


@st.cache_resource
def shared_store() -> ResultStore | None:
    """The store on disk (LAB_STORE, default the user's cache directory; off disables it)."""
    return open_store(by_default=True)


@st.cache_resource
def compute_queue() -> queue.ComputeQueue:
    """At most LAB_WORKERS computations at once for the whole server."""
    return queue.from_env()


def compute(experiment: Experiment, config: Any, device: str, session: str, progress: Any = None,
            queued: Any = None) -> tuple[Result, str, tuple[Rendered, ...]]:
    """A visitor's result: from the store on disk, else computed in this session's turn of the
    compute queue and then stored with its charts rendered. Returns it, where a stored result was
    computed ("" when it was computed now) and its rendered charts (empty when whoever stored it
    did not render them). The in-memory cache sits in front of this (ui.page)."""
    store = shared_store()
    stored = store.get(experiment.name, config, device) if store is not None else None
    if stored is not None:
        return stored.result, stored.provenance(), stored.rendered

    def report(*args: Any, **kwargs: Any) -> None:
        rebalance()  # another run may have started or ended: one thread each, or LAB_THREADS alone
        if progress is not None:
            progress(*args, **kwargs)

    with compute_queue().slot(session, experiment.flops(config), queued):
        print(f"[lab] computing {experiment.name} {config!r} on {device}", file=sys.stderr, flush=True)
        with _computing():
            result = experiment.execute(config, report, device)
    rendered = render(experiment, result)  # after the slot: the next run need not wait for it
    if store is not None:
        store.put(experiment.name, config, device, result, rendered)
    return result, "", rendered


@contextlib.contextmanager
def _computing() -> Iterator[None]:
    """One computation under the server's thread policy; the memory it freed goes back after it."""
    try:
        with computing():
            yield
    finally:
        release_freed_memory()


@st.cache_resource
def warm_start() -> threading.Thread | None:
    """Start the warm start once per server process, unless LAB_WARM=0 or the store is off."""
    results = shared_store()
    if results is None or os.environ.get("LAB_WARM", "1") == "0":
        return None
    jobs = compute_queue()
    thread = threading.Thread(target=_warm_in_background, args=(results, jobs), name="lab-warm", daemon=True)
    thread.start()
    return thread


def _warm_in_background(results: ResultStore, jobs: queue.ComputeQueue) -> None:
    @contextlib.contextmanager
    def slot(experiment: Experiment, config: Any) -> Iterator[None]:
        with jobs.slot("warm", experiment.flops(config), background=True), _computing():
            yield

    done = warm(results, pick_device().type, should_pause=lambda: not jobs.idle(), guard=slot,
                report=lambda line: print(f"[lab] warm {line}", file=sys.stderr, flush=True))
    print(f"[lab] warm start done: {done.computed} computed, {done.stored} already stored", file=sys.stderr, flush=True)
