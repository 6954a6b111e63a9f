"""Benchmark: server time of every page at its defaults, first visited and then revisited.

Each page script runs inside Streamlit's AppTest and times itself in the script thread (AppTest's
own polling, about 100 ms a run, is not server time). The first visit computes and caches the
Result; then a new visitor (a new session) and a rerun of the first session find it in the shared
cache, so what remains is the page's own work: widgets, the cost row, drawing the rendered charts.
A new visitor also has its link checked once. Prints the medians per page.

The first visit computes, unless LAB_STORE names a store that holds the page's defaults: then it
is what a visitor of a freshly started, warmed server waits for (the Result and its rendered
charts read from disk).
Run: python bench/revisit.py [reruns]
     LAB_STORE=DIR python -m core warm --defaults-only && LAB_STORE=DIR python bench/revisit.py [reruns]
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("LAB_STORE", "off")  # a first visit computes unless a store is named
os.environ.setdefault("LAB_WARM", "0")

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.catalog import phenomena  # noqa: E402


def timed_page(path: str, root: str) -> None:
    """The AppTest script: run one page file and record how long it took in session state."""
    import runpy
    import sys
    import time

    import streamlit as st

    sys.path.insert(0, root)
    start = time.perf_counter()
    runpy.run_path(path)
    st.session_state["_server_s"] = time.perf_counter() - start


def visit(page: str) -> AppTest:
    """A new visitor (a new session) opens ``page``."""
    at = AppTest.from_function(timed_page, args=(str(ROOT / page), str(ROOT)), default_timeout=300)
    at.run()
    return at


def main(reruns: int = 5) -> None:
    # A server's start-up (imports, opening the store) falls on its first visitor, usually on the
    # home page; the bench pays it there, untimed, so the first page timed is not charged for it.
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    print(f"page script time in the server thread; cached: medians of {reruns} (this machine)")
    print(f"{'page':20s} {'first visit':>12s} {'new visitor, cached':>20s} {'rerun, cached':>14s}")
    for spec in phenomena():
        at = visit(spec.page)
        first = at.session_state["_server_s"]
        reruns_s, visitors_s = [], []
        for _ in range(reruns):
            at.run()
            reruns_s.append(at.session_state["_server_s"])
            visitors_s.append(visit(spec.page).session_state["_server_s"])
        print(f"{spec.name:20s} {1000 * first:9.0f} ms {1000 * statistics.median(visitors_s):17.0f} ms "
              f"{1000 * statistics.median(reruns_s):11.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
