"""Benchmark: the server time of a page run against the same run through the command line.

A page run adds its widgets, the live redraws of the partial chart while it trains, the cost row
and the final charts. Each round runs the same uncached setting (a fresh seed per round) both ways,
interleaved, one thread each as the server gives each of several concurrent runs: the CLI path
(``Experiment.execute``, what ``python -m core run`` times) and the page in Streamlit's AppTest,
timed inside the script thread (AppTest's own polling is not server time). Prints the medians and
their ratio per page.
Run: python bench/page_overhead.py [rounds] [page ...]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("LAB_STORE", "off")
os.environ.setdefault("LAB_WARM", "0")
os.environ.setdefault("LAB_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.revisit import timed_page  # noqa: E402
from core import contract, registry  # noqa: E402
from core.device import serve_threads  # noqa: E402

PAGES = ("optimization", "deep-double-descent", "spectral-bias")


def page_seconds(name: str, seed: int) -> float:
    exp = registry.get(name)
    at = AppTest.from_function(timed_page, args=(str(ROOT / exp.page), str(ROOT)), default_timeout=600)
    at.query_params = {"seed": str(seed)}
    at.run()
    assert not at.exception, at.exception
    return at.session_state["_server_s"]


def cli_seconds(name: str, seed: int) -> float:
    exp = registry.get(name)
    start = time.perf_counter()
    exp.execute(contract.make_config(exp.config, {"seed": str(seed)}), device="cpu")
    return time.perf_counter() - start


def main(rounds: int = 5, pages: tuple[str, ...] = PAGES) -> None:
    serve_threads()
    print(f"server time of an uncached page run against the CLI's run, median of {rounds} interleaved rounds")
    for name in pages:
        page, cli = [], []
        for seed in range(1000, 1000 + rounds):
            cli.append(cli_seconds(name, seed))
            page.append(page_seconds(name, seed + 500))
        ratio = statistics.median(page) / statistics.median(cli)
        print(f"{name:22s} CLI {statistics.median(cli):6.2f} s   page {statistics.median(page):6.2f} s   "
              f"page/CLI {ratio:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, tuple(sys.argv[2:]) or PAGES)
