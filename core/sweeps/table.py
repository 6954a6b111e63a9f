"""A sweep's tidy table: one row per point, its Config fields, every scalar metric, the status and
the error of a point that failed; written and read as CSV or Parquet.

The first column names the experiment, so a table read back from a file (the Sweeps page's
upload) says which of its columns are settings and which are measurements.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import contract, registry
from core.contract import ConfigError, Experiment, Result

EXPERIMENT = "experiment"
STATUS = "status"
ERROR = "error"
FAILED = "failed"
FORMATS = (".csv", ".parquet")


def _cell(value: Any) -> Any:
    """A field or metric as one table cell: lists as the CLI writes them, numpy scalars as Python."""
    if isinstance(value, tuple):
        return contract.to_text(value)
    return value.item() if isinstance(value, np.generic) else value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, int | float | str | bool | np.generic)


def row(name: str, config: Any, result: Result | None, error: str | None = None) -> dict[str, Any]:
    """One point's row; a failed point (no Result) has its status ``failed`` and its message."""
    out = {EXPERIMENT: name, **{p.name: _cell(getattr(config, p.name)) for p in contract.params(type(config))}}
    metrics = result.metrics if result is not None else {STATUS: FAILED}
    for key, value in metrics.items():
        if key in out:
            raise TypeError(f"{name}: the metric {key!r} has the name of a Config field; rename the metric")
        if _scalar(value):
            out[key] = _cell(value)
    out[ERROR] = error
    return out


def frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The rows as one table, the error column last whatever row came first."""
    columns = [*dict.fromkeys(k for r in rows for k in r if k != ERROR), ERROR]
    return pd.DataFrame(list(rows), columns=columns)


def experiment_of(table: pd.DataFrame) -> Experiment:
    """The experiment a table's rows ran, from its first column."""
    names = table[EXPERIMENT].dropna().unique() if EXPERIMENT in table else []
    if len(names) != 1:
        raise ConfigError(f"a sweep table needs one experiment in its {EXPERIMENT!r} column; found {len(names)}")
    return registry.get(str(names[0]))


def settings(table: pd.DataFrame) -> list[str]:
    """The columns that are Config fields of the table's experiment."""
    fields = [p.name for p in contract.params(experiment_of(table).config)]
    return [c for c in table.columns if c in fields]


def check_path(path: str | Path) -> Path:
    """Refuse an output the sweep could not write before any point runs."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ConfigError(f"--out: {path.name[:40]!r} must end in .csv or .parquet")
    if path.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ConfigError("--out: .parquet needs pyarrow (pip install -r requirements-cluster.txt); or write .csv")
    return path


def write(table: pd.DataFrame, path: str | Path) -> None:
    path = check_path(path)
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)


def read(data: bytes, name: str) -> pd.DataFrame:
    """A sweep table from a file's bytes (the page's upload), by its name's ending."""
    suffix = check_path(name).suffix
    buffer = io.BytesIO(data)
    table = pd.read_parquet(buffer) if suffix == ".parquet" else pd.read_csv(buffer)
    settings(table)  # fails with one line when it is not a sweep table
    if STATUS not in table:
        raise ConfigError(f"a sweep table needs a {STATUS!r} column")
    return table

