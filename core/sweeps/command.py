"""``python -m core sweep``: parse the grid, refuse what no point may run, run, write the table,
record the sweep for the app, and say what happened in one line."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from core import contract, cores, registry
from core.contract import ConfigError, Experiment
from core.store import open_store
from core.sweeps import backends, table
from core.sweeps.grid import SEED, parse_grid, points
from core.sweeps.index import Recorded, SweepIndex
from core.sweeps.progress import Bar
from core.sweeps.run import run

#: The exit status of a sweep stopped by Ctrl-C (the shell's for SIGINT).
INTERRUPTED = 130


def _point(config: Any, keys: list[str]) -> str:
    return " ".join(f"{k}={contract.to_text(getattr(config, k))}" for k in keys) or "defaults"


def check_points(experiment: Experiment, configs: list[Any], keys: list[str]) -> None:
    """Every point through the page's validation and budget before any runs: a sweep that would
    fail on its largest setting after an hour is refused now, naming that setting."""
    refused = []
    for config in configs:
        try:
            experiment.check(config)
        except ConfigError as err:
            refused.append(f"{_point(config, keys)}: {err}")
    if refused:
        raise ConfigError(f"{len(refused)} of {len(configs)} points refused; first {refused[0]}")


def main(args: argparse.Namespace) -> int:
    from core.device import resolve_device

    experiment = registry.get(args.name)
    out = table.check_path(args.out)
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers: at least 1")
    grid = parse_grid(experiment.config, [item for group in args.grid for item in group])
    configs = points(experiment.config, grid, args.seeds)
    keys = [*grid, *([SEED] if args.seeds > 1 and SEED not in grid else [])]
    check_points(experiment, configs, keys)
    device = resolve_device(args.device).type
    workers = args.workers or cores.usable()
    backend = (functools.partial(backends.local, workers=workers) if args.backend == "local"
               else functools.partial(backends.on_ray, address=args.address, workers=workers))
    results = open_store(by_default=True)
    if results is None:
        sys.stderr.write("the result store is off (LAB_STORE=off): the app will not see these points, a rerun computes them again\n")
    bar = Bar(f"sweep {experiment.name}")
    outcome = run(experiment, configs, device, results, backend, say=lambda line: sys.stderr.write(line + "\n"), progress=bar)
    bar.close()
    table.write(outcome.table, out)
    if results is not None and len(outcome.table):
        grid_texts = {k: [contract.to_text(v) for v in values] for k, values in grid.items()}
        SweepIndex(results.directory).record(Recorded(experiment.name, grid_texts, args.seeds, device, outcome.table))
    stopped = "; interrupted: run the same command again to resume" if outcome.interrupted else ""
    sys.stdout.write(f"{len(outcome.table)} of {len(configs)} points in {out}: {outcome.computed} computed, "
                     f"{outcome.stored} already stored, {outcome.failed} failed{stopped}\n")
    return INTERRUPTED if outcome.interrupted else 1 if outcome.failed else 0
