"""The live chart's pacing: a long run draws at its second report, drawing stays within its share of
the run, and nothing is drawn when the run is about to end (so a run of under a second draws none)."""

import itertools

from ui import live


class Clock:
    """A clock the test moves; a draw advances it by the draw's cost."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _drawer(clock: Clock, cost: float, drawn: list[float]):
    def draw() -> None:
        drawn.append(clock.now)
        clock.now += cost

    return draw


def _run(cost: float, seconds: float, reports: int) -> list[float]:
    """A run of ``seconds`` with evenly spaced progress reports and a chart costing ``cost`` to draw;
    the times at which it drew."""
    clock, drawn = Clock(), []
    pacer = live.Pacer(clock)
    for k in range(1, reports + 1):
        clock.now = max(clock.now, seconds * k / reports)
        pacer.offer(k / reports, _drawer(clock, cost, drawn))
    return drawn


def test_a_long_run_draws_at_its_second_report():
    assert _run(cost=0.09, seconds=10.0, reports=100)[0] == 0.2


def test_drawing_stays_within_its_share_of_a_long_run():
    cost, seconds = 0.09, 20.0  # deep double descent's chart, a 20 s run
    drawn = _run(cost, seconds, reports=400)
    assert len(drawn) * cost <= live.SHARE * seconds + cost  # the first draw is the only one over the share
    gaps = [b - a for a, b in itertools.pairwise(drawn)]
    assert min(gaps) >= cost / live.SHARE - 1e-9  # 1.8 s apart
    assert len(drawn) >= 9  # and it does keep drawing: a new curve every 1.9 s or so


def test_a_cheap_chart_is_redrawn_every_quarter_second():
    drawn = _run(cost=0.001, seconds=5.0, reports=500)
    gaps = [b - a for a, b in itertools.pairwise(drawn)]
    assert min(gaps) >= live.REDRAW_S
    assert max(gaps) < live.REDRAW_S + 0.02  # reports every 10 ms: never much later than due


def test_nothing_is_drawn_within_the_tail_of_the_run():
    """A three-second run draws until a second before its end, then nothing."""
    drawn = _run(cost=0.001, seconds=3.0, reports=300)
    assert drawn[0] == 0.02
    assert 3.0 - live.TAIL_S - live.REDRAW_S - 0.02 <= max(drawn) <= 3.0 - live.TAIL_S + 0.01


def test_a_run_of_under_a_second_draws_no_partial_chart():
    assert _run(cost=0.04, seconds=0.9, reports=200) == []


def test_a_run_that_reports_no_progress_is_not_cut_off():
    """Reports without progress (fraction unchanged) give no estimate of the end: keep drawing."""
    clock, drawn = Clock(), []
    pacer = live.Pacer(clock)
    for k in range(40):
        clock.now = 0.1 * k
        pacer.offer(0.0, _drawer(clock, 0.001, drawn))
    assert len(drawn) >= 12
