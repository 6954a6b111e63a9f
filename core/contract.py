"""The experiment contract: one declaration drives the page, the cache and the command line.

A Config is a frozen dataclass whose fields carry their default, bounds and help in
``dataclasses.field(metadata=...)``; parsing and validation live here once, so the three faces
(page, cache key, CLI) can never disagree about what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import time
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


@dataclass(frozen=True)
class Status:
    """How a run ended: ok, or a warning whose message the page shows beside the results it kept
    (a divergence, a singular system). Typed, so no caller compares prose against "ok"."""

    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.message

    def __str__(self) -> str:
        return self.message or "ok"


OK = Status()


def warning(message: str) -> Status:
    """A run that finished with something the reader must know about."""
    return Status(message)


@dataclass
class Result:
    """What every experiment returns: scalar metrics and tidy tables.

    ``run()`` returns the science only; ``Experiment.execute`` then puts the status first and the
    cost row last into ``metrics``. ``flops`` is set by a run that counts its FLOPs better than
    the estimate (e.g. one that stopped early).
    """

    metrics: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    status: Status = OK
    flops: float | None = None


#: Metric keys every experiment reports, shown as the cost row on every page.
COST_METRICS = ("params", "p_over_n", "flops", "wall_s", "device")
COST_LABELS = {"params": "parameters (largest model)", "p_over_n": "parameters per sample p/n",
               "flops": "training FLOPs", "wall_s": "run time (s)", "device": "device", "status": "status"}


@dataclass(frozen=True)
class Figure:
    """One chart and the name of the table behind it (offered as a CSV download)."""

    title: str
    chart: Any
    table: str
    caption: str = ""


@dataclass(frozen=True)
class Experiment:
    """A phenomenon's identity and its science.

    ``name`` is the URL path and the CLI name; the science lives in ``core/experiments/<module>``
    and the page in ``app_pages/<module>.py`` (``module`` is the name with underscores), so the
    navigation, the home cards, the CLI and the tests all derive from this one declaration.

    ``run(config, progress, device)`` gets a resolved ``torch.device`` and returns the science;
    ``charts(result)`` must also accept a partial result (the tables a progress report carries) so
    pages can draw while training runs. ``size(config)`` gives the cost row's (parameters of the
    largest model, training samples); ``backend`` labels runs that ignore the device (numpy).
    ``presets`` are named settings that make the point: the page offers them, the warm start
    computes them ahead of the first visitor, and each is checked to be valid at import.
    ``labels`` name metrics and table columns in words for readers (legends, the comparison
    table); the keys themselves stay as they are in the URL, the CLI and the JSON.
    """

    name: str
    title: str
    claim: str
    icon: str
    order: int
    config: type
    run: Callable[[Any, Progress | None, Any], Result]
    flops: Callable[[Any], float]
    charts: Callable[[Result], list[Figure]]
    size: Callable[[Any], tuple[int, int]]
    backend: str | None = None
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        check_declarations(self.config)
        for preset, overrides in self.presets.items():
            try:
                make_config(self.config, overrides)
            except ConfigError as err:
                raise TypeError(f"{self.name}: preset {preset!r} is not a valid setting ({err})") from None

    def label(self, key: str) -> str:
        """What a reader sees for a field, metric or column: its declared words, else the key
        with spaces (the cost row's words are shared by every experiment)."""
        if key in self.labels:
            return self.labels[key]
        fields = {p.name: p.label for p in params(self.config)}
        return fields.get(key) or COST_LABELS.get(key) or key.replace("_", " ")

    @property
    def module(self) -> str:
        return self.name.replace("-", "_")

    @property
    def page(self) -> str:
        return f"app_pages/{self.module}.py"

    def check_budget(self, config: Any) -> float:
        """Refuse a configuration whose estimated training FLOPs exceed the shared budget."""
        estimate = float(self.flops(config))
        if estimate > FLOP_BUDGET:
            raise BudgetError(
                f"this setting needs about {estimate:.2g} training FLOPs, over the limit of "
                f"{FLOP_BUDGET:.0e}; use fewer steps, smaller widths or fewer samples"
            )
        return estimate

    def check(self, config: Any) -> float:
        """Everything that must hold before a run: each field, the rules between fields, and the
        budget. Raises ConfigError naming what fails; returns the FLOP estimate."""
        validate(config)
        return self.check_budget(config)

    def execute(self, config: Any, progress: Progress | None = None, device: str | None = None) -> Result:
        """Validate, check the budget, resolve the device, run and time it, fill the cost row:
        the single entry every face (page, CLI, tests) goes through."""
        from core.device import describe, resolve_device  # torch stays out of the contract's import

        estimate = self.check(config)
        dev = resolve_device(device)
        start = time.perf_counter()
        result = self.run(config, progress, dev)
        wall = time.perf_counter() - start
        params, n = self.size(config)
        flops = estimate if result.flops is None else result.flops
        cost = cost_metrics(params, n, flops, wall, self.backend or describe(dev))
        result.metrics = {"status": str(result.status), **result.metrics, **cost}
        return result


def check_declarations(config_cls: type) -> None:
    """Fail at import, naming the field, when a Config declares what its faces cannot honour: a
    default outside its own bounds or choices, a default not in canonical form (a list that is
    read back sorted), or a number with no bounds to draw a widget from."""
    for p in params(config_cls):
        where = f"{config_cls.__module__}.{config_cls.__qualname__}.{p.name}"
        if p.kind in (int, float, tuple) and not p.choices and (p.lo is None or p.hi is None):
            raise TypeError(f"{where}: a numeric field needs lo= and hi= (the widget's range)")
        if p.lo is not None and p.hi is not None and p.lo > p.hi:
            raise TypeError(f"{where}: lo={p.lo:g} is above hi={p.hi:g}")
        if p.log and p.lo is not None and p.lo <= 0:
            raise TypeError(f"{where}: a log-scale field needs lo > 0")
        try:
            canonical = coerce(p, p.default)
        except ConfigError as err:
            raise TypeError(f"{where}: the default is not allowed by its own declaration ({err})") from None
        if canonical != p.default:  # else the default and the same setting typed in are two cache keys
            raise TypeError(f"{where}: write the default as its faces read it back: {canonical!r}")


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
