"""Sweeps: the grid, the same numbers as one-by-one CLI runs (on a process pool and on a real local
Ray instance), failed points, resuming from the store, Ctrl-C, and the Sweeps page in AppTest and
in a real browser.

The sweeps run implicit-bias: numpy float64 on one BLAS thread whatever the process's thread count,
so a point computed in a pool worker, a Ray worker or this process gives identical bits.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import cli, contract, registry
from core.contract import ConfigError
from core.store import ResultStore
from core.sweeps import backends, figures, run, table
from core.sweeps.grid import parse_grid, points
from core.sweeps.index import Recorded, SweepIndex

NAME = "implicit-bias"
GRID = ["n=10,20", "lr=0.1,0.3", "steps=300"]
SWEEP = ["sweep", NAME, "--grid", *GRID, "--seeds", "2", "--workers", "2"]
#: The one column a run measures with the clock: it differs between any two runs of a setting.
TIMED = {"wall_s"}


def _cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The 2 x 2 x 2-seed sweep on the local process pool, into its own store: (store, table)."""
    root = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAB_STORE", str(root / "store"))
        assert cli.main([*SWEEP, "--out", str(root / "sweep.csv")]) == 0
    return root / "store", pd.read_csv(root / "sweep.csv")


def _science(frame: pd.DataFrame) -> pd.DataFrame:
    """The settings and measurements (not the clock, not the error column, whose empty cells a file
    reads back as NaN and a run holds as None)."""
    return frame.drop(columns=[*sorted(TIMED), "error"]).reset_index(drop=True)


def test_grid_values_ranges_lists_and_seeds() -> None:
    config = registry.get("optimization").config
    grid = parse_grid(config, ["lr=0.1:0.3:3", "steps=100:1000:3:log", "widths=10,50;200;50,10", "depth=2"])
    assert grid == {"lr": [0.1, 0.2, 0.3], "steps": [100, 316, 1000], "widths": [(10, 50), (200,)], "depth": [2]}
    configs = points(config, grid, seeds=3)
    assert len(configs) == 3 * 3 * 2 * 3
    assert [c.seed for c in configs[:4]] == [42, 43, 44, 42]  # seeds innermost, from the default seed
    assert points(config, parse_grid(config, ["seed=7,8"]), seeds=2) == [config(seed=7), config(seed=8), config(seed=9)]


@pytest.mark.parametrize(("name", "grid", "seeds", "message"), [
    ("optimization", ["nope=1"], 1, "nope: unknown parameter"),
    ("optimization", ["lr=0.5,5"], 1, "lr: 5 is out of range"),
    ("optimization", ["optimizer=a:b:3"], 1, "optimizer: ranges are for numbers"),
    ("optimization", ["lr=0.1:0.3"], 1, "lr: '0.1:0.3' is not a range"),
    ("optimization", ["lr=0.1", "lr=0.2"], 1, "lr is given twice"),
    ("scaling", [], 2, "--seeds: this experiment has no seed field"),
])
def test_a_bad_grid_is_refused_in_one_line(name: str, grid: list[str], seeds: int, message: str) -> None:
    config = registry.get(name).config
    with pytest.raises(ConfigError, match=message):
        points(config, parse_grid(config, grid), seeds)


def test_bad_output_and_points_over_the_budget_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LAB_STORE", str(tmp_path / "store"))
    status, _, err = _cli(["sweep", NAME, "--grid", "n=10", "--out", str(tmp_path / "t.txt")], capsys)
    assert status == 2 and err == "error: --out: 't.txt' must end in .csv or .parquet\n"
    status, _, err = _cli(["sweep", "optimization", "--grid", "n=20,2000", "widths=500", "steps=5000",
                           "--out", str(tmp_path / "t.csv")], capsys)
    assert status == 2 and err.startswith("error: 1 of 2 points refused; first n=2000 widths=500 steps=5000: this setting needs")
    assert not (tmp_path / "t.csv").exists() and not (tmp_path / "store").exists()


def test_a_sweep_gives_the_rows_that_the_cli_gives_one_by_one(swept, capsys, monkeypatch) -> None:
    _, sweep = swept
    assert list(zip(sweep["n"], sweep["lr"], sweep["seed"])) == [
        (n, lr, seed) for n in (10, 20) for lr in (0.1, 0.3) for seed in (0, 1)]
    assert (sweep["status"] == "ok").all() and sweep["error"].isna().all()
    monkeypatch.setenv("LAB_STORE", "off")
    for _, point in sweep.iterrows():
        status, out, _ = _cli(["run", NAME, "--set", f"n={point.n}", f"lr={point.lr}", "steps=300", f"seed={point.seed}",
                               "--format", "json"], capsys)
        assert status == 0
        one = json.loads(out)
        assert {k: point[k] for k in one["config"]} == one["config"]
        expected = {k: v for k, v in one["metrics"].items() if k not in TIMED}
        assert {k: point[k] for k in expected} == expected  # bit for bit: every float compares exactly
        assert set(sweep.columns) == {"experiment", *one["config"], *one["metrics"], "error"}


def test_every_point_is_stored_and_the_sweep_is_listed_for_the_app(swept) -> None:
    store, sweep = swept
    experiment = registry.get(NAME)
    results = ResultStore(store)
    for _, point in sweep.iterrows():
        config = contract.make_config(experiment.config, {k: point[k] for k in ("n", "lr", "steps", "seed")})
        kept = results.get(NAME, config, "cpu")
        assert kept is not None and kept.result.metrics["min_norm"] == point["min_norm"]
    [recorded] = SweepIndex(store).sweeps()
    assert recorded.grid == {"n": ["10", "20"], "lr": ["0.1", "0.3"], "steps": ["300"]} and recorded.seeds == 2
    pd.testing.assert_frame_equal(recorded.table.drop(columns="error"), sweep.drop(columns="error"), check_dtype=False)


def _fails_on_odd_seeds(task: backends.Task) -> contract.Result:
    """A point that raises on its worker (the pool pickles this function by reference)."""
    if task.config.seed % 2:
        raise RuntimeError(f"seed {task.config.seed} raises\nsecond line")
    return backends.compute(task)


def test_a_failing_point_is_recorded_the_others_complete_and_a_rerun_computes_only_what_is_missing(tmp_path) -> None:
    experiment = registry.get(NAME)
    configs = points(experiment.config, parse_grid(experiment.config, ["n=10,20", "steps=300"]), seeds=2)
    results = ResultStore(tmp_path / "store")
    first = run.run(experiment, configs, "cpu", results, functools.partial(backends.local, workers=2, run=_fails_on_odd_seeds))
    assert (first.computed, first.stored, first.failed, first.interrupted) == (2, 0, 2, False)
    assert list(first.table["status"]) == ["ok", "failed", "ok", "failed"]
    assert list(first.table["error"].fillna("")) == ["", "RuntimeError: seed 1 raises"] * 2
    assert first.table.loc[first.table["status"] == "failed", "min_norm"].isna().all()
    assert np.isfinite(first.table.loc[first.table["status"] == "ok", "min_norm"]).all()
    assert len(results) == 2

    said = []
    second = run.run(experiment, configs, "cpu", results, functools.partial(backends.local, workers=2), say=said.append)
    assert said == ["4 points: 2 already stored, 2 to compute"]
    assert (second.computed, second.stored, second.failed) == (2, 2, 0)
    pd.testing.assert_frame_equal(_science(second.table.iloc[[0, 2]]), _science(first.table.iloc[[0, 2]]), check_dtype=False)

    def never(tasks):
        raise AssertionError(f"{len(tasks)} points handed to a backend")

    third = run.run(experiment, configs, "cpu", results, never)
    assert (third.computed, third.stored, third.failed) == (0, 4, 0)


def test_ctrl_c_keeps_the_points_that_finished_and_a_rerun_resumes(tmp_path, monkeypatch, capsys) -> None:
    """Ctrl-C arrives in the driver while it waits for the third point."""
    experiment = registry.get(NAME)

    def interrupted_after_two(tasks, **_):
        for task in tasks[:2]:
            yield task.index, experiment.execute(task.config, device=task.device), None
        raise KeyboardInterrupt

    monkeypatch.setenv("LAB_STORE", str(tmp_path / "store"))
    monkeypatch.setattr(backends, "local", interrupted_after_two)
    status, out, _ = _cli([*SWEEP, "--out", str(tmp_path / "part.csv")], capsys)
    assert status == 130
    assert out == f"2 of 8 points in {tmp_path / 'part.csv'}: 2 computed, 0 already stored, 0 failed; " \
                  "interrupted: run the same command again to resume\n"
    kept = pd.read_csv(tmp_path / "part.csv")
    assert list(zip(kept["n"], kept["lr"], kept["seed"])) == [(10, 0.1, 0), (10, 0.1, 1)]
    status, out, err = _cli([*SWEEP, "--out", str(tmp_path / "rest.csv")], capsys)
    assert "8 points: 2 already stored, 6 to compute" in err and status == 130  # the same stub stops it again
    assert out.startswith("4 of 8 points") and "2 computed, 2 already stored" in out


def test_tables_round_trip_through_csv_and_parquet(swept, tmp_path) -> None:
    _, sweep = swept
    for name in ("t.csv", "t.parquet"):
        table.write(sweep, tmp_path / name)
        back = table.read((tmp_path / name).read_bytes(), name)
        pd.testing.assert_frame_equal(back.drop(columns="error"), sweep.drop(columns="error"))
    with pytest.raises(ConfigError, match="needs one experiment"):
        table.read(b"a,b\n1,2\n", "other.csv")


def require_ray() -> None:
    """Ray is an optional dependency: skipped on a developer's machine without it, a failure in CI,
    which installs requirements-cluster.txt."""
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("ray is needed for the Ray backend test (pip install -r requirements-cluster.txt; CI must not skip it)")
        pytest.skip("ray is not installed (pip install -r requirements-cluster.txt)")


def test_the_same_sweep_on_a_real_local_ray_instance_gives_the_same_table(swept, tmp_path, monkeypatch, capsys) -> None:
    require_ray()
    import ray

    monkeypatch.setenv("LAB_STORE", str(tmp_path / "store"))  # an empty store: every point runs on Ray
    backends.start_ray(None, workers=2)
    try:
        status, out, _ = _cli([*SWEEP, "--backend", "ray", "--out", str(tmp_path / "ray.parquet")], capsys)
        assert status == 0 and "8 computed" in out
        pd.testing.assert_frame_equal(_science(pd.read_parquet(tmp_path / "ray.parquet")), _science(swept[1]), check_dtype=False)
        attempts = tmp_path / "attempts"

        def fails_on_its_worker(task: backends.Task) -> contract.Result:  # a closure: Ray ships it by value
            with open(attempts, "a") as log:
                log.write(f"{task.index}\n")
            raise RuntimeError("this worker fails")

        config = contract.make_config(registry.get(NAME).config, {"steps": "300"})
        done = list(backends.on_ray([backends.Task(7, NAME, config, "cpu")], None, workers=2, run=fails_on_its_worker))
        assert done == [(7, None, "RuntimeError: this worker fails")]
        assert attempts.read_text().split() == ["7", "7"]  # tried, retried once, then recorded as failed
    finally:
        ray.shutdown()


# --- the Sweeps page ------------------------------------------------------------------------------


@pytest.fixture
def sweeps_page(monkeypatch):
    """Opens the Sweeps page on a given store; the server's store handle is per process
    (st.cache_resource), so it is dropped before and after."""
    from streamlit.testing.v1 import AppTest

    from tests.quick import APP, PAGE_TIMEOUT
    from ui import serving

    def opened(store: Path) -> AppTest:
        monkeypatch.setenv("LAB_STORE", str(store))
        serving.shared_store.clear()
        at = AppTest.from_file(APP, default_timeout=PAGE_TIMEOUT)
        at.run()
        at.switch_page("app_pages/sweeps.py")
        at.run()
        return at

    yield opened
    monkeypatch.setenv("LAB_STORE", "off")
    serving.shared_store.clear()


def test_the_page_draws_the_stored_sweep_mean_over_seeds(swept, sweeps_page) -> None:
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    store, sweep = swept
    at = sweeps_page(store)
    assert not at.exception and not at.error
    [measurement] = [s for s in at.selectbox if s.label == "Measurement"]
    measurement.set_value("min_norm").run()
    [chart] = at.get("vega_lite_chart")
    [drawn] = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
    held = sweep[sweep["lr"] == 0.1]  # lr is not drawn: held at its first value
    expected = held.groupby("n")["min_norm"].agg(["mean", "min", "max"]).reset_index()
    assert list(drawn["n"]) == [10, 20]
    np.testing.assert_allclose(drawn[figures.MEAN], expected["mean"], rtol=1e-12)
    np.testing.assert_allclose(drawn[figures.LOW], expected["min"], rtol=1e-12)
    np.testing.assert_allclose(drawn[figures.HIGH], expected["max"], rtol=1e-12)
    assert list(drawn[figures.SEEDS]) == [2, 2]


def test_the_page_draws_a_heatmap_over_two_swept_settings(swept, sweeps_page) -> None:
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    store, sweep = swept
    at = sweeps_page(store)
    [second] = [s for s in at.selectbox if s.label.startswith("Second setting")]
    second.set_value("lr").run()
    assert not at.exception and not at.error
    [chart] = at.get("vega_lite_chart")
    assert json.loads(chart.proto.spec)["mark"]["type"] == "rect"
    [drawn] = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
    metric = figures.metrics(sweep)[0]
    expected = sweep.groupby(["n", "lr"])[metric].mean().to_numpy()
    np.testing.assert_allclose(drawn[figures.MEAN], expected, rtol=1e-12)


def test_the_page_without_a_sweep_says_how_to_make_one(tmp_path, sweeps_page) -> None:
    at = sweeps_page(tmp_path / "empty")
    assert not at.exception and not at.error
    [info] = at.info
    assert info.value.startswith("No sweep in the result store yet.") and "python -m core sweep" in info.value
    assert len(at.get("file_uploader")) == 1 and not at.get("vega_lite_chart")


def test_the_sweeps_page_draws_a_stored_sweep_in_a_real_browser(tmp_path, monkeypatch, chromium) -> None:
    """The README's screenshot: GD's distance from the minimum-norm interpolant against the norm of
    its starting point (the part of w0 in the null space of X never moves), over three seeds."""
    from tests import browser

    experiment = registry.get(NAME)
    grid = parse_grid(experiment.config, ["init=0:2:6"])
    configs = points(experiment.config, grid, seeds=3)

    def in_this_process(tasks):
        for task in tasks:
            yield task.index, experiment.execute(task.config, device=task.device), None

    results = ResultStore(tmp_path / "store")
    outcome = run.run(experiment, configs, "cpu", results, in_this_process)
    SweepIndex(results.directory).record(Recorded(NAME, {"init": [contract.to_text(v) for v in grid["init"]]}, 3, "cpu",
                                                  outcome.table))
    monkeypatch.setenv("LAB_STORE", str(results.directory))
    with browser.streamlit_server() as (url, _):
        page = chromium.new_page(viewport={"width": 1400, "height": 1300})
        try:
            page.goto(f"{url}/sweeps", timeout=60_000)
            browser.wait_until_idle(page)
            page.wait_for_selector(".vega-embed canvas, .vega-embed svg", timeout=60_000)
            browser.wait_until_idle(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stError"]').count() == 0
            assert page.get_by_text("18 points, 0 failed").count() == 1
            page.screenshot(path=str(browser.SCREENSHOTS / "sweeps.png"), full_page=True)
        finally:
            page.close()


def test_a_list_field_swept_one_item_at_a_time_is_drawn_in_numeric_order() -> None:
    experiment = registry.get("optimization")
    configs = points(experiment.config, parse_grid(experiment.config, ["widths=200;10;50"]), seeds=2)
    rows = [table.row(experiment.name, c, contract.Result({"status": "ok", "loss": float(c.widths[0] + c.seed)}, {}))
            for c in configs]
    sweep = table.frame(rows)
    assert list(sweep["widths"]) == ["200", "200", "10", "10", "50", "50"]  # as the CLI writes a list
    data = figures.summary(figures.comparable(sweep), "loss", ["widths"])
    assert list(data["widths"]) == [10, 50, 200]
    assert list(data[figures.MEAN]) == [52.5, 92.5, 242.5]  # seeds 42 and 43 and list(data[figures.SEEDS]) == [2, 2, 2]
