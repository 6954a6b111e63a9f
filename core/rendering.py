"""A Result's charts as the browser receives them: Vega-Lite specs and CSVs, built once.

Building the Altair charts and validating them against the Vega-Lite schema costs 20-160 ms a
page on these machines, 30 to 100 times what reading the Result from the store costs. The store
keeps the rendering beside the Result, so a warmed server's first visitor of a page builds no
chart: the visit costs what a visit of a setting already in memory costs, plus the read
(bench/revisit.py times both).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import Experiment, Result


@dataclass(frozen=True)
class Rendered:
    """One figure as the page draws it: title and caption, the Vega-Lite spec, the table as CSV."""

    title: str
    caption: str
    table: str
    spec: dict
    csv: bytes


def render(experiment: Experiment, result: Result) -> tuple[Rendered, ...]:
    """Every figure of ``experiment`` for ``result``, rendered. Not validated against the Vega-Lite
    schema here: that took a third of the time, and the tests validate every experiment's figures
    (tests/test_common.py), so a page does not pay for it on every setting."""
    return tuple(Rendered(f.title, f.caption, f.table, f.chart.to_dict(validate=False),
                          result.tables[f.table].to_csv(index=False).encode())
                 for f in experiment.charts(result))
