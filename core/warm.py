"""The warm start: every page's defaults and presets computed into the store before anyone asks.

The first visitor of a page after a restart would otherwise wait for a full training run. The
server runs this in a background thread (``LAB_WARM=0`` turns it off) and ``python -m core warm``
runs it by hand; both walk the pages in menu order, so the first pages a lecture opens come first.
Background work must never slow a visitor down: ``should_pause`` is asked at every progress report,
and a warm run that is asked to pause is abandoned (it stores nothing) and retried once the server
is idle again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from core import contract, registry
from core.contract import ConfigError, Experiment
from core.rendering import render
from core.store import ResultStore


class Paused(Exception):
    """A visitor's run is waiting: the warm run gives way."""


@dataclass
class WarmReport:
    computed: int = 0
    stored: int = 0
    failed: int = 0


def settings(experiment: Experiment, presets: bool = True) -> Iterator[Any]:
    """The page's defaults, then each preset (unless ``presets`` is False), as Configs; each
    distinct setting once."""
    seen = set()
    for overrides in ({}, *(experiment.presets.values() if presets else ())):
        config = contract.make_config(experiment.config, overrides)
        if config not in seen:
            seen.add(config)
            yield config


Guard = Callable[[Experiment, Any], AbstractContextManager]


def _unguarded(experiment: Experiment, config: Any) -> AbstractContextManager:
    return contextlib.nullcontext()


def warm(results: ResultStore, device: str, *, names: Sequence[str] = (), should_pause: Callable[[], bool] = lambda: False,
         guard: Guard = _unguarded, report: Callable[[str], None] = lambda line: None,
         idle_poll_s: float = 0.5, presets: bool = True) -> WarmReport:
    """Compute the settings the store lacks of the pages ``names`` (default: all), in menu order.
    ``guard`` wraps each computation (the server takes a background slot of its queue there)."""
    done = WarmReport()
    chosen = [registry.get(name) for name in names] if names else registry.experiments()
    for experiment in sorted(chosen, key=lambda e: e.order):
        for config in settings(experiment, presets):
            if (experiment.name, config, device) in results:
                done.stored += 1
                continue
            _warm_one(experiment, config, results, device, should_pause, guard, idle_poll_s, done)
            report(f"{experiment.name}: {done.computed} computed, {done.stored} stored, {done.failed} failed")
    return done


def _warm_one(experiment: Experiment, config: Any, results: ResultStore, device: str,
              should_pause: Callable[[], bool], guard: Guard, idle_poll_s: float, done: WarmReport) -> None:
    def progress(*_: Any, **__: Any) -> None:
        if should_pause():
            raise Paused

    while True:
        while should_pause():
            time.sleep(idle_poll_s)
        try:
            with guard(experiment, config):
                result = experiment.execute(config, progress, device)
        except Paused:
            continue
        except ConfigError:
            done.failed += 1
            return
        results.put(experiment.name, config, device, result, render(experiment, result))
        done.computed += 1
        return
