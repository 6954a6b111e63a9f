"""The command line: ``python -m core list``, ``run NAME [--set k=v ...]``, ``warm [NAME ...]`` and
``sweep NAME --grid k=v1,v2 ... --out FILE`` (core.sweeps).

Nothing is printed until the run has finished, so a failure never leaves half an output; bad
input exits with status 2 and one line naming the parameter and what is allowed.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from core import contract, registry
from core.contract import ConfigError
from core.device import resolve_device
from core.sweeps.arguments import add_parser as sweep_parser


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Overparameterization Lab experiments.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="experiments, their parameters, defaults and bounds")
    run = sub.add_parser("run", help="run one experiment and print its result")
    run.add_argument("name")
    run.add_argument("--set", nargs="+", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--format", choices=("json", "csv"), default="json")
    run.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when present")
    warm = sub.add_parser("warm", help="compute every page's defaults and presets into the result store")
    warm.add_argument("names", nargs="*", metavar="NAME", help="only these experiments (default: all)")
    warm.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when present")
    warm.add_argument("--defaults-only", action="store_true", help="each page's defaults, not its presets")
    sweep_parser(sub)
    return parser


def parse_sets(groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Turn repeated ``--set k=v [k=v ...]`` into a dict; a repeated key keeps its last value."""
    values = {}
    for item in (i for group in groups for i in group):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set: {item!r} is not KEY=VALUE")
        values[key.strip()] = value
    return values


def list_text() -> str:
    lines = []
    for exp in sorted(registry.experiments(), key=lambda e: e.name):
        lines.append(f"{exp.name}: {exp.title}")
        for p in contract.params(exp.config):
            lines.append(f"  {p.name} = {contract.to_text(p.default)}  ({p.allowed()}) {p.help}")
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    clean = df.astype(object).where(df.notna(), None)
    return [{k: _jsonable(v) for k, v in row.items()} for row in clean.to_dict(orient="records")]


def result_text(name: str, config: Any, result: contract.Result, fmt: str) -> str:
    if fmt == "json":
        payload = {
            "experiment": name,
            "config": contract.as_dict(config),
            "metrics": {k: _jsonable(v) for k, v in result.metrics.items()},
            "tables": {t: _records(df) for t, df in result.tables.items()},
        }
        return json.dumps(payload, allow_nan=False) + "\n"
    out = io.StringIO()
    for table, df in result.tables.items():
        out.write(f"# {table}\n")
        df.to_csv(out, index=False)
    return out.getvalue()


def _keep(name: str, config: Any, device: str, result: contract.Result) -> None:
    """With LAB_STORE set, the result goes into the store the app serves from, its charts rendered."""
    from core.rendering import render
    from core.store import open_store

    results = open_store(by_default=False)
    if results is not None:
        results.put(name, config, device, result, render(registry.get(name), result))


def _warm(names: Sequence[str], device: str | None, presets: bool) -> int:
    from core.store import open_store
    from core.warm import warm

    results = open_store(by_default=True)
    if results is None:
        raise ConfigError("warm: the store is off (LAB_STORE=off); nothing to warm")
    done = warm(results, resolve_device(device).type, names=names, presets=presets,
                report=lambda line: sys.stderr.write(line + "\n"))
    sys.stdout.write(f"{done.computed} computed, {done.stored} already stored, {done.failed} failed, in {results.directory}\n")
    return 1 if done.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            sys.stdout.write(list_text())
            return 0
        if args.command == "warm":
            return _warm(args.names, args.device, presets=not args.defaults_only)
        if args.command == "sweep":
            from core.sweeps.command import main as sweep

            return sweep(args)
        exp = registry.get(args.name)
        config = contract.make_config(exp.config, parse_sets(args.set))
        device = resolve_device(args.device).type  # the store's key names the device kind actually used
        result = exp.execute(config, device=device)
        _keep(exp.name, config, device, result)
        text = result_text(exp.name, config, result, args.format)
    except ConfigError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    sys.stdout.write(text)
    return 0
