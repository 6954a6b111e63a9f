"""The ``sweep`` subcommand's arguments, apart from the sweep itself, so ``python -m core run``
builds its parser without importing the sweep machinery (the store, the backends)."""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    """The ``sweep`` subcommand's arguments."""
    sweep = sub.add_parser("sweep", help="run a grid of settings (times seeds) into one table and the result store")
    sweep.add_argument("name")
    sweep.add_argument("--grid", nargs="+", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="values, or lo:hi:count[:log] for numbers; a list field's values are separated by ;")
    sweep.add_argument("--seeds", type=int, default=1, help="K: every point with seed, seed+1, ..., seed+K-1")
    sweep.add_argument("--backend", choices=("local", "ray"), default="local")
    sweep.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    sweep.add_argument("--workers", type=int, default=None, help="processes (local) or CPUs of a local Ray instance; default: the cores")
    sweep.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when present")
    sweep.add_argument("--out", required=True, metavar="FILE", help="the table: FILE.csv or FILE.parquet")
