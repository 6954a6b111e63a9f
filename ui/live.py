"""When a page redraws the live chart of a run that streams partial curves.

A redraw builds the chart and sends it from the server thread, so it takes time from the run on the
same cores. The pacer keeps that a small share: the next redraw waits at least ``REDRAW_S`` and long
enough that drawing stays within ``SHARE`` of the time (a chart that is slow to build, such as deep
double descent's at about 90 ms, is redrawn less often). And it draws nothing when the run is about
to end: when the final charts follow within ``TAIL_S``, a partial one would only delay them. The
first report only starts the clock (the run's rate is unknown before the second), so a run of
under a second shows its progress bar and then its final charts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: The least time between two redraws.
REDRAW_S = 0.25
#: The most of a run's time the live redraws may take.
SHARE = 0.05
#: No redraw when the run's remaining time, extrapolated from its progress, is shorter than this.
TAIL_S = 1.0


@dataclass
class Pacer:
    """Decides, at each progress report of one run, whether to redraw now."""

    clock: Callable[[], float] = time.perf_counter
    _next: float = 0.0
    _first: tuple[float, float] | None = field(default=None, repr=False)

    def offer(self, fraction: float, draw: Callable[[], None]) -> bool:
        """Call ``draw`` if a redraw is due at this report (``fraction`` of the run done); returns
        whether it drew."""
        now = self.clock()
        if self._first is None:
            self._first = (now, fraction)
            return False
        if now < self._next or self._remaining(now, fraction) < TAIL_S:
            return False
        draw()
        cost = self.clock() - now
        self._next = now + cost + max(REDRAW_S, cost / SHARE)
        return True

    def _remaining(self, now: float, fraction: float) -> float:
        """The run's remaining seconds at its rate since the first report (unknown: infinite)."""
        start, done = self._first
        if fraction <= done:
            return float("inf")
        return (now - start) * (1.0 - fraction) / (fraction - done)
