"""Cheap settings per experiment, shared by every test that runs all of them (tests/test_common.py,
the property test, the page tests).

``QUICK`` holds a URL query's worth of overrides per experiment that make a run take well under a
second here while it still trains. An experiment without an entry runs at its defaults when those
are cheap (at most ``CHEAP_FLOPS`` estimated training FLOPs); otherwise ``cheap()`` fails and says
what to add here. ``TIMED`` names the columns an experiment measures with the clock (they differ
between two identical runs); ``MAY_BE_MISSING`` the columns where a missing value is part of the
science (a width that never converged, the theory where it has no formula).

Below them: the checks several test files make on a Result (the cost row, finite tables), the
out-of-bounds values of a field, and the AppTest helpers that open a page as a link and read back
the Config it ran with (from its Share box) and the data it drew.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from core import contract
from core.contract import Experiment

#: Estimated training FLOPs a "cheap" setting may need: about 0.2 s of this machine on one thread.
CHEAP_FLOPS = 3e9

QUICK: dict[str, dict[str, str]] = {
    "optimization": {"widths": "10, 50", "steps": "200", "n": "40"},
    "scaling": {"widths": "8, 16", "batch": "32"},
    "implicit-bias": {"steps": "300"},
    "benign-overfitting": {"p": "600", "repeats": "2"},
    "lazy-training": {"widths": "16, 64", "steps": "50", "n": "16", "alphas": "1, 16", "scale_width": "32",
                      "scale_n": "32", "scale_steps": "50"},
    "double-descent": {"n": "40", "points": "12", "repeats": "2"},
    "width-depth": {"budget": "1000", "depths": "1, 4", "steps": "100", "n": "40"},
    "mode-connectivity": {"width": "32", "sweep_widths": "8, 16", "steps": "300", "curve_steps": "50", "points": "7",
                          "batch_size": "10", "lr": "0.003", "spawn_step": "5", "spawn_sweep": "0, 5, 20"},
    "lottery-ticket": {"hidden": "16", "rounds": "2", "steps": "50", "repeats": "1"},
    "spectral-bias": {"frequencies": "1, 2", "n": "16", "width": "64", "steps": "100"},
    "deep-double-descent": {"n": "50", "widths": "4, 16, 64", "steps": "100", "repeats": "1"},
}

#: {experiment: {table: columns}} measured by the clock, excluded where two runs are compared
#: ("metrics" names metrics computed from them).
TIMED: dict[str, dict[str, set[str]]] = {
    "scaling": {"measured": {"seconds_per_step"}, "metrics": {"time_slope"}},
}

#: {experiment: {table: columns}} that may hold missing values (NaN, <NA>) in a run that is ok.
MAY_BE_MISSING: dict[str, dict[str, set[str]]] = {
    # never converged; the tuned-rate grid: a diverged rate has no losses, the others no divergence step
    "optimization": {"summary": {"converged_step"}, "grid": {"mean_converged_step", "final_loss", "diverged_by_step"}},
    "benign-overfitting": {"risk": {"repeat"}},
    "double-descent": {"curve": {"theory_test_mse"}},
    "implicit-bias": {"plane": {"step"}},
    "mode-connectivity": {"barrier_vs_width": {"barrier_aligned"}},  # align=false
    "spectral-bias": {"half_lives": {"linearised", "predicted"}},  # a mode that never halves (lr past its stability limit)
}


def overrides(exp: Experiment) -> dict[str, str]:
    """The cheap setting's raw values (empty when the defaults are cheap), or a failure naming the fix."""
    raw = QUICK.get(exp.name)
    if raw is not None:
        return dict(raw)
    estimate = exp.flops(exp.config())
    if estimate > CHEAP_FLOPS:
        pytest.fail(f"{exp.name}: its defaults need {estimate:.2g} estimated FLOPs (over {CHEAP_FLOPS:.0e}); "
                    f"add a cheap setting for it to QUICK in tests/quick.py", pytrace=False)
    return {}


def cheap(exp: Experiment) -> Any:
    """The experiment's cheap Config (see ``overrides``)."""
    return contract.make_config(exp.config, overrides(exp))


def timed(exp: Experiment, table: str) -> set[str]:
    return TIMED.get(exp.name, {}).get(table, set())


def may_be_missing(exp: Experiment, table: str) -> set[str]:
    return MAY_BE_MISSING.get(exp.name, {}).get(table, set())


# --- checks on a Result that several test files make -------------------------------------------


def assert_cost_row(exp: Experiment, config: Any, result: Any) -> None:
    """status first, the cost row last, each filled from the Config and the run."""
    keys = list(result.metrics)
    assert keys[0] == "status" and result.metrics["status"] == str(result.status), keys[:1]
    assert tuple(keys[-len(contract.COST_METRICS):]) == contract.COST_METRICS, keys
    params, n = exp.size(config)
    m = result.metrics
    assert m["params"] == params > 0
    assert m["p_over_n"] == round(params / n, 3)
    assert m["flops"] == (exp.flops(config) if result.flops is None else result.flops) > 0
    assert isinstance(m["wall_s"], float) and m["wall_s"] >= 0
    assert m["device"] == exp.backend if exp.backend else m["device"].split(" ")[0] in ("cpu", "cuda")


def assert_tables_finite(exp: Experiment, tables: dict[str, Any]) -> None:
    """Non-empty tables; numbers finite; missing values only where MAY_BE_MISSING allows them."""
    import numpy as np
    import pandas as pd

    assert tables, "no tables"
    for table, df in tables.items():
        assert len(df) > 0, f"table {table} is empty"
        optional = may_be_missing(exp, table)
        for column in df.columns:
            values = df[column]
            missing = int(values.isna().sum())
            assert missing == 0 or column in optional, (
                f"{table}.{column} has {missing} missing values; if that is science, list it in tests/quick.py MAY_BE_MISSING")
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                assert np.isfinite(values.dropna().to_numpy(dtype=float)).all(), f"{table}.{column} has infinite values"


def out_of_bounds(p: contract.Param) -> list[str]:
    """Raw texts the field must refuse (none for a free text field)."""
    if p.choices:
        return ["no-such-choice", ""]
    if p.kind is bool:
        return ["maybe", "2"]
    if p.kind is str:
        return []
    below, above = p.lo - (abs(p.lo) or 1), p.hi + (abs(p.hi) or 1)
    if p.kind is tuple:
        bad = [f"{int(p.lo)},{int(below)}", f"{int(above)}", "abc", ""]
        if p.hi - p.lo >= p.max_len:
            bad.append(",".join(str(int(p.lo) + i) for i in range(p.max_len + 1)))
        return bad
    bad = [f"{below:g}", f"{above:g}", "nan", "inf", "abc"]
    return [*bad, f"{p.lo + 0.5:g}"] if p.kind is int else bad


# --- a page in Streamlit's AppTest ----------------------------------------------------------------

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE_TIMEOUT = 180


def open_page(exp: Experiment, query: dict[str, Any] | None = None) -> Any:
    """The experiment's page opened as a link with ``query`` (a dict of URL values)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=PAGE_TIMEOUT)
    at.run()  # the first run registers st.navigation's pages, so switch_page finds dashed url paths
    at.query_params = dict(query or {})
    at.switch_page(exp.page)
    at.run()
    return at


def share_query(at: Any) -> dict[str, list[str]]:
    """The query of the link in the page's Share box (every non-default setting of the run)."""
    boxes = [e for e in at.expander if e.label == "Share this exact chart"]
    assert boxes, "no Share box: the page did not run"
    return parse_qs(urlsplit(boxes[0].code[0].value).query, keep_blank_values=True)


def page_config(at: Any, exp: Experiment) -> Any:
    """The Config the page ran with, read back from its Share link (strictly: a bad value fails)."""
    query = share_query(at)
    assert all(len(v) == 1 for v in query.values()), query
    return contract.make_config(exp.config, {k: v[0] for k, v in query.items()})


def assert_drew_a_chart(at: Any) -> None:
    """No exception, no error, and at least one chart whose data holds finite numbers."""
    import numpy as np
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    charts = at.get("vega_lite_chart")
    assert charts, "no chart drawn"
    frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for c in charts for d in c.proto.datasets]
    numbers = [f.select_dtypes("number").to_numpy(dtype=float) for f in frames]
    assert any(n.size and np.isfinite(n).any() for n in numbers), "the charts hold no numbers"


def assert_charts_are_of(at: Any, exp: Experiment, config: Any) -> None:
    """The page's charts hold exactly the data of ``config``'s run: Altair names every dataset by
    a hash of its content, so the page's dataset names must be those of the same run made here
    (figures drawn from a table with clock-measured columns are only counted)."""
    from core.device import pick_device

    result = exp.execute(config, device=pick_device().type)
    expected, timed_count = set(), 0
    for figure in exp.charts(result):
        names = set(figure.chart.to_dict(validate=False).get("datasets", {}))
        if timed(exp, figure.table):
            timed_count += len(names)
        else:
            expected |= names
    shown = {d.name for c in at.get("vega_lite_chart") for d in c.proto.datasets}
    assert expected <= shown and len(shown) == len(expected) + timed_count, (
        "the page's charts are not those of the setting it says it ran")
