"""The points of a sweep: the product of ``--grid KEY=V1,V2,...`` values times K seeds.

Every value goes through the Config field's own ``coerce``, exactly as ``--set`` and a URL do, so a
grid cannot name a setting that ``python -m core run`` or a page would read differently. Numbers
may be given as ranges (``lo:hi:count``, ``lo:hi:count:log``) because a phase diagram over depth
and init wants evenly spread values, not typed-out lists. A list field (widths) is itself
comma-separated, so its values in a grid are separated by ``;``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from core import contract
from core.contract import ConfigError, Param

#: The field that ``--seeds K`` steps through (seed, seed+1, ..., seed+K-1).
SEED = "seed"


def parse_grid(config_cls: type, items: Sequence[str]) -> dict[str, list[Any]]:
    """``KEY=V1,V2,...`` texts as {field: typed values}, in the order given, each value once."""
    fields = {p.name: p for p in contract.params(config_cls)}
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--grid: {item[:40]!r} is not KEY=V1,V2,...")
        if key not in fields:
            raise ConfigError(f"{key[:40]}: unknown parameter; allowed: {', '.join(fields)}")
        if key in grid:
            raise ConfigError(f"--grid: {key} is given twice; put all its values in one --grid")
        grid[key] = _unique(contract.coerce(fields[key], raw) for raw in _texts(fields[key], text))
    return grid


def _texts(p: Param, text: str) -> list[str]:
    if p.kind is tuple:
        return text.split(";")
    out: list[str] = []
    for item in text.split(","):
        out.extend(_range(p, item) if ":" in item else [item])
    return out


def _range(p: Param, item: str) -> list[str]:
    """``lo:hi:count`` evenly spaced, ``lo:hi:count:log`` evenly spaced in log; integers rounded."""
    parts = item.strip().split(":")
    usage = f"{p.name}: {item.strip()[:40]!r} is not a range; write lo:hi:count or lo:hi:count:log"
    if p.kind not in (int, float) or len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
        raise ConfigError(usage if p.kind in (int, float) else f"{p.name}: ranges are for numbers; {p.allowed()} here")
    try:
        lo, hi, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise ConfigError(usage) from None
    if count < 1:
        raise ConfigError(f"{p.name}: a range needs a count of at least 1")
    if len(parts) == 4 and (lo <= 0 or hi <= 0):
        raise ConfigError(f"{p.name}: a log range needs lo and hi above 0")
    values = np.geomspace(lo, hi, count) if len(parts) == 4 else np.linspace(lo, hi, count)
    # 12 significant digits: 0.1:0.3:3 gives 0.2, not 0.20000000000000004 (a different cache key)
    return [str(round(v)) if p.kind is int else f"{v:.12g}" for v in values]


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def points(config_cls: type, grid: dict[str, list[Any]], seeds: int = 1) -> list[Any]:
    """Every validated Config of the grid, seeds innermost; a setting that two grid values map to
    (a list given in another order) is run once."""
    if seeds < 1:
        raise ConfigError("--seeds: at least 1")
    fields = {p.name: p for p in contract.params(config_cls)}
    if seeds > 1 and SEED not in fields:
        raise ConfigError(f"--seeds: this experiment has no {SEED} field; allowed: {', '.join(fields)}")
    keys = list(grid)
    configs = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        setting = dict(zip(keys, combo))
        first = setting.get(SEED, fields[SEED].default) if SEED in fields else None
        for i in range(seeds):
            if seeds > 1:
                setting[SEED] = first + i
            configs.append(contract.make_config(config_cls, setting))
    return _unique(configs)
