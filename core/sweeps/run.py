"""Running a sweep: the points the store already holds are read back, the rest go to a backend,
each finished point is stored at once, and the table comes out in grid order.

Storing as points finish (in the driver, the one writer, whichever machine computed them) is what
makes an interrupted sweep resumable and lets the app serve every swept setting instantly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.contract import Experiment
from core.store import ResultStore
from core.sweeps.backends import Backend, Task
from core.sweeps.table import frame, row


@dataclass
class Outcome:
    """The table of every point that finished, and how each got there."""

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    computed: int = 0
    stored: int = 0
    failed: int = 0
    interrupted: bool = False


def run(experiment: Experiment, configs: Sequence[Any], device: str, results: ResultStore | None, backend: Backend, *,
        say: Callable[[str], None] = lambda line: None,
        progress: Callable[[int, int, int], None] = lambda done, total, failed: None) -> Outcome:
    """Compute the points the store lacks; ``progress(done, total, failed)`` after each. Ctrl-C
    stops handing out points and returns what finished, marked ``interrupted``."""
    outcome = Outcome()
    rows: dict[int, dict[str, Any]] = {}
    tasks = []
    for index, config in enumerate(configs):
        kept = results.get(experiment.name, config, device) if results is not None else None
        if kept is None:
            tasks.append(Task(index, experiment.name, config, device))
        else:
            rows[index] = row(experiment.name, config, kept.result)
            outcome.stored += 1
    say(f"{len(configs)} points: {outcome.stored} already stored, {len(tasks)} to compute")
    try:
        if tasks:
            progress(0, len(tasks), 0)
            for index, result, error in backend(tasks):
                if result is None:
                    outcome.failed += 1
                else:
                    if results is not None:
                        results.put(experiment.name, configs[index], device, result)
                    outcome.computed += 1
                rows[index] = row(experiment.name, configs[index], result, error)
                progress(outcome.computed + outcome.failed, len(tasks), outcome.failed)
    except KeyboardInterrupt:
        outcome.interrupted = True
    outcome.table = frame([rows[i] for i in sorted(rows)])
    return outcome
