"""Benchmark: server time of a cached revisit of every page at its defaults.

Each page script runs inside Streamlit's AppTest and times itself in the script thread (AppTest's
own polling, about 100 ms a run, is not server time). The first run computes and caches the
Result; the re-runs find it in the shared cache, so what remains is the page's own work: widgets,
the cost row, building and serialising the charts. Prints the median per page.

The first visit computes, unless LAB_STORE names a store that holds the page's defaults: then it
is what a visitor of a freshly started, warmed server waits for (read from disk, charts built once).
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


def main(reruns: int = 5) -> None:
    print(f"page script time in the server thread, median of {reruns} cached re-runs (this machine)")
    for spec in phenomena():
        at = AppTest.from_function(timed_page, args=(str(ROOT / spec.page), str(ROOT)), default_timeout=300)
        at.run()
        first = at.session_state["_server_s"]
        times = []
        for _ in range(reruns):
            at.run()
            times.append(at.session_state["_server_s"])
        print(f"{spec.name:20s} first visit {first:6.2f} s   cached revisit {1000 * statistics.median(times):6.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
