"""The nearest setting that runs: a shared link whose values each lie in bounds can still break a
rule between fields (p must exceed n + 1) or the compute budget. Rather than open on an error, the
page runs the closest setting that satisfies everything and says what it changed.

"Closest" moves one field as little as possible, along the straight line from the asked value to the
field's default (on a log scale for log fields): validity along that line is monotone for every
rule the experiments declare (a bound between two fields, a cost that grows with size), so bisection
finds the boundary. When no single field can fix it, fields are given up (reset to their defaults)
one at a time in declaration order until one move does; the defaults themselves always run.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from core.contract import ConfigError, Experiment, Param, params, to_text

#: Bisection steps for a float field: 2^-40 of the way from the asked value to the default.
FLOAT_STEPS = 40


def nearest_setting(experiment: Experiment, config: Any) -> tuple[Any, list[str]]:
    """``config`` itself when it runs; else the nearest setting that does, and one notice per change."""
    problem = _problem(experiment, config)
    if problem is None:
        return config, []
    repaired = config
    for p in _changed(experiment, config):
        moves = [m for m in (_move_one(experiment, repaired, q) for q in _changed(experiment, repaired)) if m is not None]
        if moves:
            _, q, value = min(moves, key=lambda m: m[0])
            repaired = dataclasses.replace(repaired, **{q.name: value})
            break
        repaired = dataclasses.replace(repaired, **{p.name: p.default})  # no single move helps: give one up
    changes = ", ".join(f"{p.name} = {to_text(getattr(repaired, p.name))}" for p in params(experiment.config)
                        if getattr(repaired, p.name) != getattr(config, p.name))
    return repaired, [f"{problem} — using {changes}, the nearest setting that runs"]


def _changed(experiment: Experiment, config: Any) -> list[Param]:
    return [p for p in params(experiment.config) if getattr(config, p.name) != p.default]


def _problem(experiment: Experiment, config: Any) -> str | None:
    """Why ``config`` cannot run, or None when it can."""
    try:
        experiment.check(config)
    except ConfigError as err:
        return str(err)
    return None


def _move_one(experiment: Experiment, config: Any, p: Param) -> tuple[float, Param, Any] | None:
    """The value of ``p`` closest to the asked one that makes ``config`` run (others unchanged),
    with its distance as a fraction of the field's range; None when even the default does not."""
    runs = lambda value: _problem(experiment, dataclasses.replace(config, **{p.name: value})) is None  # noqa: E731
    asked = getattr(config, p.name)
    if not runs(p.default):
        return None
    if p.kind not in (int, float) or p.choices:
        return 1.0, p, p.default
    value = _bisect_int(runs, asked, p.default) if p.kind is int else _bisect_float(runs, asked, p)
    return _distance(p, asked, value), p, value


def _bisect_int(runs: Any, bad: int, good: int) -> int:
    while abs(good - bad) > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if runs(mid) else (good, mid)
    return good


def _bisect_float(runs: Any, bad: float, p: Param) -> float:
    to_line, from_line = (math.log, math.exp) if p.log else (float, float)
    lo, hi = to_line(bad), to_line(p.default)
    for _ in range(FLOAT_STEPS):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if runs(from_line(mid)) else (mid, hi)
    exact = from_line(hi)
    readable = float(f"{exact:.3g}")  # a value a person can read back in the link
    return readable if runs(readable) else exact


def _distance(p: Param, a: float, b: float) -> float:
    if p.log:
        return abs(math.log(a) - math.log(b)) / (math.log(p.hi) - math.log(p.lo))
    return abs(a - b) / (p.hi - p.lo)
