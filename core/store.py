"""Results that outlive the process: a store on disk shared by every server process and the CLI.

Community Cloud restarts the app often, and a lecture hall asks for the same settings again and
again; a result computed once (by a page, ``python -m core run`` or ``python -m core warm``) is
then served at once by every process on the machine. diskcache does the storage: SQLite
transactions make concurrent writers from several processes safe, and it bounds the size with
least-recently-used eviction. An entry is keyed by the experiment, its Config, the device kind and
a hash of the code that computed it, so an upgrade never serves a stale result. Beside the Result
it keeps the charts rendered (core.rendering), so serving a stored result builds no chart.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import diskcache

from core.contract import Result, as_dict
from core.rendering import Rendered

#: ``LAB_STORE`` names the store's directory; ``off`` disables it.
STORE_ENV = "LAB_STORE"
#: Bytes the store may hold before it evicts the least recently used results.
SIZE_LIMIT = 512 * 2**20
CORE = Path(__file__).resolve().parent


#: The libraries whose versions change a stored result (torch computes it) or its rendering
#: (Altair writes the Vega-Lite spec the store keeps beside it).
LIBRARIES = ("torch", "altair")


@functools.cache
def code_version() -> str:
    """A hash of every source file of the science (core/) and of the versions of LIBRARIES, read
    once per process: any change to an engine, an experiment, the contract or one of those
    libraries gives every result a new key."""
    digest = hashlib.sha256()
    for path in sorted(CORE.rglob("*.py")):
        digest.update(str(path.relative_to(CORE)).encode())
        digest.update(path.read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Stored:
    """A stored result, its charts rendered (empty when whoever stored it did not render them:
    the page then renders on the first visit), and where it came from, so the page can say so."""

    result: Result
    computed_at: float
    host: str
    rendered: tuple[Rendered, ...] = ()

    def provenance(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.computed_at))
        return f"computed {when} on {self.host}"


class ResultStore:
    """Results on disk, bounded in size; unreadable entries are dropped, never raised."""

    def __init__(self, directory: str | os.PathLike, size_limit: int = SIZE_LIMIT):
        self.directory = Path(directory)
        self._cache = diskcache.Cache(str(self.directory), size_limit=size_limit,
                                      eviction_policy="least-recently-used")

    @staticmethod
    def key(name: str, config: Any, device: str) -> str:
        """The entry's key: experiment, Config, device kind and code version, hashed."""
        text = json.dumps({"experiment": name, "config": as_dict(config), "device": device,
                           "code": code_version()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, name: str, config: Any, device: str) -> Stored | None:
        key = self.key(name, config, device)
        try:
            value = self._cache.get(key)
        except Exception:  # a corrupt or unreadable entry is recomputed, never an error
            self._discard(key)
            return None
        if value is not None and not isinstance(value, Stored):
            self._discard(key)
            return None
        return value

    def put(self, name: str, config: Any, device: str, result: Result, rendered: tuple[Rendered, ...] = ()) -> None:
        self._cache.set(self.key(name, config, device), Stored(result, time.time(), socket.gethostname(), rendered))

    def __contains__(self, item: tuple[str, Any, str]) -> bool:
        return self.key(*item) in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def _discard(self, key: str) -> None:
        with contextlib.suppress(Exception):  # the store may be unwritable too; the caller recomputes either way
            self._cache.delete(key)


def default_directory() -> Path:
    """The user's cache directory (XDG on Linux)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "overparameterization-lab"


def open_store(*, by_default: bool) -> ResultStore | None:
    """The store ``LAB_STORE`` names; without it, the default directory when ``by_default`` (the
    app) or none (the CLI and benchmarks compute afresh unless asked)."""
    value = os.environ.get(STORE_ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return ResultStore(value)
    return ResultStore(default_directory()) if by_default else None
