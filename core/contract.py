"""The experiment contract: one declaration drives the page, the cache and the command line.

A Config is a frozen dataclass whose fields carry their default, bounds and help in
``dataclasses.field(metadata=...)``; parsing and validation live here once, so the three faces
(page, cache key, CLI) can never disagree about what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

#: Training FLOPs above which a run is refused: about ten seconds of this machine's 2 cores,
#: so no single visitor can tie up a shared lecture server for minutes.
FLOP_BUDGET = 2e12


class ConfigError(ValueError):
    """Bad input, with a one-line message naming the parameter and what is allowed."""


class BudgetError(ConfigError):
    """A valid configuration whose estimated cost exceeds FLOP_BUDGET."""


def param(
    default: Any,
    help: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: Sequence[str] | None = None,
    label: str | None = None,
    log: bool = False,
    step: float | None = None,
    max_len: int = 12,
    ordered: bool = False,
) -> Any:
    """Declare a Config field with its bounds, so widgets, URL and CLI derive from one place."""
    meta = {
        "help": help,
        "lo": lo,
        "hi": hi,
        "choices": tuple(choices) if choices else None,
        "label": label,
        "log": log,
        "step": step,
        "max_len": max_len,
        "ordered": ordered,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Param:
    """One Config field as the faces see it."""

    name: str
    kind: type  # int, float, str, bool, or tuple (a tuple of ints)
    default: Any
    help: str
    lo: float | None
    hi: float | None
    choices: tuple[str, ...] | None
    label: str
    log: bool
    step: float | None
    max_len: int
    ordered: bool

    def allowed(self) -> str:
        """The one-line description of what this parameter accepts."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is tuple:
            return f"a comma-separated list of up to {self.max_len} integers from {_fmt(self.lo)} to {_fmt(self.hi)}"
        kind = "an integer" if self.kind is int else "a number"
        if self.lo is not None and self.hi is not None:
            return f"{kind} from {_fmt(self.lo)} to {_fmt(self.hi)}"
        return kind


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:g}"


def params(config_cls: type) -> list[Param]:
    """The declared parameters of a Config class, in declaration order."""
    hints = typing.get_type_hints(config_cls)
    out = []
    for f in dataclasses.fields(config_cls):
        hint = hints[f.name]
        kind = tuple if typing.get_origin(hint) is tuple else hint
        m = f.metadata
        out.append(
            Param(
                name=f.name,
                kind=kind,
                default=f.default,
                help=m.get("help", ""),
                lo=m.get("lo"),
                hi=m.get("hi"),
                choices=m.get("choices"),
                label=m.get("label") or f.name.replace("_", " "),
                log=m.get("log", False),
                step=m.get("step"),
                max_len=m.get("max_len", 12),
                ordered=m.get("ordered", False),
            )
        )
    return out


def coerce(p: Param, raw: Any) -> Any:
    """Turn a raw value (a CLI/URL string or a Python value) into the field's type, or raise."""
    try:
        value = _convert(p, raw)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{p.name}: {str(raw)[:40]!r} is not valid; allowed: {p.allowed()}") from None
    _check(p, value)
    return value


def _convert(p: Param, raw: Any) -> Any:
    if p.kind is tuple:
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        parsed = [_to_int(str(v).strip()) for v in items if str(v).strip()]
        values = tuple(parsed) if p.ordered else tuple(sorted(set(parsed)))
        if not values:
            raise ValueError("empty list")
        return values
    if p.kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(text)
    if p.kind is int:
        return _to_int(raw)
    if p.kind is float:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError("not finite")
        return value
    return str(raw).strip()


def _to_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("bool")
    value = float(raw)
    if not math.isfinite(value) or value != int(value):
        raise ValueError("not an integer")
    return int(value)


def _check(p: Param, value: Any) -> None:
    if p.choices and value not in p.choices:
        raise ConfigError(f"{p.name}: {str(value)[:40]!r} is not allowed; allowed: {p.allowed()}")
    numbers = value if p.kind is tuple else (value,) if p.kind in (int, float) else ()
    if p.kind is tuple and len(value) > p.max_len:
        raise ConfigError(f"{p.name}: {len(value)} values is too many; allowed: {p.allowed()}")
    for v in numbers:
        if (p.lo is not None and v < p.lo) or (p.hi is not None and v > p.hi):
            raise ConfigError(f"{p.name}: {v:g} is out of range; allowed: {p.allowed()}")


def make_config(config_cls: type, raw: Mapping[str, Any] | None = None) -> Any:
    """Build and validate a Config from raw values; unknown keys and bad values raise ConfigError."""
    raw = dict(raw or {})
    known = {p.name: p for p in params(config_cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown parameter; allowed: {', '.join(known)}")
    values = {name: coerce(known[name], value) for name, value in raw.items()}
    return config_cls(**values)


def validate(config: Any) -> None:
    """Check every field of an already-built Config (e.g. one constructed in Python)."""
    for p in params(type(config)):
        coerce(p, getattr(config, p.name))
    check = getattr(config, "check", None)
    if check is not None:
        check()


def nearest_valid(p: Param, raw: Any) -> Any:
    """The valid value closest to a bad one: links with bad values open at the nearest settings."""
    try:
        return coerce(p, raw)
    except ConfigError:
        pass
    try:
        value = _convert(p, raw)
    except (TypeError, ValueError, OverflowError):
        return p.default
    if p.kind in (int, float) and p.lo is not None and p.hi is not None:
        return p.kind(min(max(value, p.lo), p.hi))
    if p.kind is tuple and p.lo is not None and p.hi is not None:
        clipped = [int(min(max(v, p.lo), p.hi)) for v in value]
        clipped = clipped if p.ordered else sorted(set(clipped))
        return tuple(clipped[: p.max_len])
    return p.default


def as_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly view of a Config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


class Progress(Protocol):
    """Reports how far a run has got; ``tables`` carries partial results to draw while it trains."""

    def __call__(self, fraction: float, message: str = "", tables: Mapping[str, pd.DataFrame] | None = None) -> None: ...


@dataclass
class Result:
    """What every experiment returns: scalar metrics and tidy tables."""

    metrics: dict[str, Any]
    tables: dict[str, pd.DataFrame]


#: Metric keys every experiment reports, shown as the cost row on every page.
COST_METRICS = ("params", "p_over_n", "flops", "wall_s", "device")


@dataclass(frozen=True)
class Figure:
    """One chart and the name of the table behind it (offered as a CSV download)."""

    title: str
    chart: Any
    table: str
    caption: str = ""


@dataclass(frozen=True)
class Experiment:
    """A registered phenomenon: its name, Config class, run, cost estimate and charts.

    ``run(config, progress=None, device=None)``; ``charts(result)`` must also accept a partial
    result (the tables a progress report carries) so pages can draw while training runs.
    """

    name: str
    title: str
    config: type
    run: Callable[..., Result]
    flops: Callable[[Any], float]
    charts: Callable[[Result], list[Figure]]
    summary: str = ""

    def check_budget(self, config: Any) -> float:
        """Refuse a configuration whose estimated training FLOPs exceed the shared budget."""
        estimate = float(self.flops(config))
        if estimate > FLOP_BUDGET:
            raise BudgetError(
                f"this setting needs about {estimate:.2g} training FLOPs, over the limit of "
                f"{FLOP_BUDGET:.0e}; use fewer steps, smaller widths or fewer samples"
            )
        return estimate

    def execute(self, config: Any, progress: Progress | None = None, device: str | None = None) -> Result:
        """Validate, check the budget, then run: the single entry every face goes through."""
        validate(config)
        self.check_budget(config)
        return self.run(config, progress=progress, device=device)


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (each experiment module calls this once)."""
    REGISTRY[experiment.name] = experiment
    return experiment


def experiments() -> dict[str, Experiment]:
    """Every registered experiment (importing core.experiments registers them all)."""
    import core.experiments  # noqa: F401

    return REGISTRY


def get(name: str) -> Experiment:
    """Look up an experiment by name, with a one-line error listing the known names."""
    if name not in experiments():
        raise ConfigError(f"experiment: unknown {name!r}; allowed: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def cost_metrics(params: int, n: int, flops: float, wall_s: float, device: str) -> dict[str, Any]:
    """The cost row every experiment reports (see COST_METRICS), so cost sits beside accuracy."""
    return {"params": int(params), "p_over_n": round(params / n, 3), "flops": float(flops), "wall_s": round(wall_s, 3), "device": device}


def to_text(value: Any) -> str:
    """A field value as the CLI and the URL write it: lists comma-separated, booleans lower-case."""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
