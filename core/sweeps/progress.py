"""The terminal's progress bar for a sweep: points done, failed, and the time left at the pace so far.

A hundred-point sweep runs for many minutes; the ETA tells the user whether to wait or to come
back. Drawn on one line with a carriage return when the stream is a terminal, as whole lines at
every tenth of the way otherwise (a log file should not fill with redraws).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


def clock(seconds: float) -> str:
    """Seconds as h:mm:ss."""
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Bar:
    """Call with (done, total, failed) after each point, from 0 done at the start; ``close`` ends the line."""

    def __init__(self, label: str, stream: TextIO | None = None):
        self.label = label
        self.stream = sys.stderr if stream is None else stream  # the stderr of now, not of import time
        self.live = self.stream.isatty()
        self.start = time.monotonic()
        self._tenths = -1

    def line(self, done: int, total: int, failed: int) -> str:
        if done == 0:
            self.start = time.monotonic()
        elapsed = time.monotonic() - self.start
        left = elapsed / done * (total - done) if done else None
        filled = WIDTH * done // max(total, 1)
        eta = f"eta {clock(left)}" if left is not None else "eta ?"
        failures = f", {failed} failed" if failed else ""
        return (f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}{failures} "
                f"{clock(elapsed)} elapsed, {eta}")

    def __call__(self, done: int, total: int, failed: int) -> None:
        text = self.line(done, total, failed)
        if self.live:
            self.stream.write("\r" + text)
        elif (tenths := 10 * done // max(total, 1)) > self._tenths:
            self._tenths = tenths
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
