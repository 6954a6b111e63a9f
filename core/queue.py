"""A fair compute queue: at most ``workers`` computations at once, the rest wait their turn.

On a small shared server, runs that all start at once share the cores and everyone finishes with
the slowest; run one (or a few) at a time and the first visitors get their charts at once while
the rest wait no longer than they would have anyway. Waiting requests are served by policy:
``fifo`` (first come) or ``shortest`` (smallest estimated FLOPs first, with the arrival order as
the tie-break). Background work (the warm start) has the lowest priority: it only gets a slot
when no visitor's run is waiting, and ``idle()`` tells it when to pause.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core import cores

#: Computations at once by default: one per core the process may use. Each concurrent run then
#: gets one thread (core.device.rebalance); the app's small models use a second thread poorly (a
#: small run: 0.06 s on one thread, 0.07-0.17 s on two, bench/threads.py), so one run per core finished the
#: queue sooner than one two-thread run at a time in five of six recorded runs (close in the other, on an
#: idle machine). Measured in tests/test_fair_queue.py; figures in docs/measurements/queue.txt and the README.
DEFAULT_WORKERS = cores.usable()
POLICIES = ("fifo", "shortest")
#: Default policy: shortest estimated FLOPs first (measured: the median visitor gets the result
#: sooner than first come, with the same longest wait; see DEFAULT_WORKERS).
DEFAULT_POLICY = "shortest"
#: Seconds after which a waiting visitor's request goes ahead of shorter ones that came later.
AGING_S = 30.0


class Superseded(Exception):
    """A waiting request replaced by a newer one from the same session."""


@dataclass(order=True)
class _Ticket:
    priority: tuple
    owner: str = field(compare=False)
    flops: float = field(compare=False)
    background: bool = field(compare=False, default=False)
    superseded: bool = field(compare=False, default=False)
    arrived: float = field(compare=False, default_factory=time.monotonic)


class ComputeQueue:
    """Admits at most ``workers`` computations; the others wait in policy order."""

    def __init__(self, workers: int = DEFAULT_WORKERS, policy: str = DEFAULT_POLICY):
        if workers < 1:
            raise ValueError("workers: at least 1")
        if policy not in POLICIES:
            raise ValueError(f"policy: {policy!r}; allowed: {', '.join(POLICIES)}")
        self.workers, self.policy = workers, policy
        self._cond = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._running: list[_Ticket] = []
        self._arrivals = itertools.count()
        self._rate = 50e9  # FLOP/s, refined by every finished run

    def _priority(self, flops: float, background: bool) -> tuple:
        order = next(self._arrivals)
        return (background, flops if self.policy == "shortest" else 0.0, order)

    @contextlib.contextmanager
    def slot(self, owner: str, flops: float, on_wait: Callable[[int, float], None] | None = None,
             background: bool = False) -> Iterator[None]:
        """Hold a compute slot for the body. While waiting, ``on_wait(runs_ahead, eta_seconds)`` is
        called about every 0.2 s (a page redraws its notice there, and Streamlit may interrupt it);
        a newer request from the same ``owner`` makes this one raise Superseded."""
        ticket = _Ticket(self._priority(flops, background), owner, flops, background)
        with self._cond:
            for other in self._waiting:
                if other.owner == owner and not background:
                    other.superseded = True
            self._waiting.append(ticket)
            self._cond.notify_all()
        try:
            self._wait_for_turn(ticket, on_wait)
        except BaseException:
            with self._cond:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            raise
        started = time.perf_counter()
        try:
            yield
        finally:
            with self._cond:
                self._running.remove(ticket)
                elapsed = time.perf_counter() - started
                if flops > 0 and elapsed > 0.05:
                    self._rate = 0.7 * self._rate + 0.3 * flops / elapsed
                self._cond.notify_all()

    def _wait_for_turn(self, ticket: _Ticket, on_wait: Callable[[int, float], None] | None) -> None:
        while True:
            with self._cond:
                if ticket.superseded:
                    raise Superseded(f"replaced by a newer request from {ticket.owner}")
                ahead = self._ahead(ticket)
                if ahead is None:
                    self._waiting.remove(ticket)
                    self._running.append(ticket)
                    return
                count, flops = ahead
            if on_wait is not None:
                on_wait(count, flops / self._rate)
            with self._cond:
                self._cond.wait(timeout=0.2)

    def _ahead(self, ticket: _Ticket) -> tuple[int, float] | None:
        """None when ``ticket`` may start now, else (runs ahead of it, their estimated FLOPs)."""
        now = time.monotonic()
        before = [t for t in self._waiting if self._rank(t, now) < self._rank(ticket, now)]
        free = self.workers - len(self._running)
        if ticket.background and any(not t.background for t in self._waiting):
            free = 0
        if len(before) < free:
            return None
        ahead = [*self._running, *before]
        return len(ahead), sum(t.flops for t in ahead)

    @staticmethod
    def _rank(ticket: _Ticket, now: float) -> tuple:
        """Policy order, except that a visitor's request waiting longer than AGING_S goes first (in
        arrival order): shortest-first must not starve a large run under a stream of small ones."""
        background, flops, order = ticket.priority
        aged = not background and now - ticket.arrived > AGING_S
        return (background, not aged, 0.0 if aged else flops, order)

    def idle(self) -> bool:
        """True when no visitor's run waits or runs: the moment for background work."""
        with self._cond:
            return not any(not t.background for t in (*self._waiting, *self._running))

    def stats(self) -> tuple[int, int]:
        """(running, waiting) now."""
        with self._cond:
            return len(self._running), len(self._waiting)


def from_env() -> ComputeQueue:
    """The server's queue: ``LAB_WORKERS`` slots (default DEFAULT_WORKERS), ``LAB_QUEUE`` policy
    (default DEFAULT_POLICY)."""
    workers = int(os.environ.get("LAB_WORKERS", DEFAULT_WORKERS))
    return ComputeQueue(max(1, workers), os.environ.get("LAB_QUEUE", DEFAULT_POLICY))
