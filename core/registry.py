"""Where experiments are found: one module (or package) per phenomenon in ``core.experiments``,
imported only when asked for, so ``python -m core run NAME`` loads NAME's science alone."""

from __future__ import annotations

import importlib
import pkgutil

import core.experiments
from core.contract import ConfigError, Experiment


def names() -> list[str]:
    """Every experiment's name (= URL path = CLI name), from the modules present; imports nothing."""
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(core.experiments.__path__))


def get(name: str) -> Experiment:
    """The experiment called ``name``, importing its module only; a one-line error otherwise."""
    known = names()
    if name not in known:
        raise ConfigError(f"experiment: unknown {name[:40]!r}; allowed: {', '.join(known)}")
    module = importlib.import_module(f"core.experiments.{name.replace('-', '_')}")
    experiment: Experiment = module.EXPERIMENT
    if experiment.name != name:
        raise TypeError(f"{module.__name__} declares the name {experiment.name!r}; its file says {name!r}")
    return experiment


def experiments() -> list[Experiment]:
    """Every experiment, in menu order (imports them all)."""
    return sorted((get(name) for name in names()), key=lambda e: e.order)
