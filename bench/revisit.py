"""Benchmark: server time of a cached revisit of every page at its defaults.

Each page is run once through Streamlit's AppTest (which computes and caches the result), then
re-run several times; a re-run finds its Result in the shared cache, so what remains is the page's
own work: widgets, the cost row, building and serialising the charts. Prints the median per page.
Run: python bench/revisit.py [reruns]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.catalog import PHENOMENA  # noqa: E402


def main(reruns: int = 5) -> None:
    print(f"cached revisit, server time, median of {reruns} re-runs (AppTest, this machine)")
    for spec in PHENOMENA:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.run()
        at.switch_page(spec.path)
        start = time.perf_counter()
        at.run()
        first = time.perf_counter() - start
        times = []
        for _ in range(reruns):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        print(f"{spec.url_path:20s} first visit {first:6.2f} s   cached revisit {1000 * statistics.median(times):6.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
