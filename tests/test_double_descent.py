"""Double descent: the simulation against the exact theory, the peak at p = n, the optimal ridge for
both truths, the median and quartiles, the nested one-factorization sweep against one lstsq per p,
singular systems, and the CLI. Every effect the page states at its presets has a test here."""

import json

import numpy as np
import pandas as pd
import pytest

from core import cli, contract
from core.experiments import double_descent as dd

EXP = dd.EXPERIMENT


@pytest.fixture(scope="module")
def ridgeless():
    return EXP.execute(dd.Config())


@pytest.fixture(scope="module")
def optimal():
    return EXP.execute(dd.Config(ridge="optimal"))


@pytest.fixture(scope="module")
def fixed():
    return EXP.execute(dd.Config(truth="fixed"))


@pytest.fixture(scope="module")
def fixed_optimal():
    return EXP.execute(dd.Config(truth="fixed", ridge="optimal"))


def _away(curve):
    return curve[(curve["ratio"] - 1).abs() > 0.2]


def test_linear_simulation_matches_the_exact_theory_away_from_the_threshold(ridgeless):
    curve = _away(ridgeless.tables["curve"])
    rel = (curve["test_mse"] / curve["theory_test_mse"] - 1).abs()
    assert len(curve) > 40
    assert rel.max() < 0.10, curve.assign(rel=rel).sort_values("rel").tail(3)  # seen: 0.056


def test_ridgeless_peak_sits_at_the_threshold(ridgeless):
    m = ridgeless.metrics
    assert m["status"] == "ok"
    assert m["peak_ratio"] == 1.0
    assert (m["signal_r2"], m["noise_var"]) == (1.0, 0.25)
    curve = ridgeless.tables["curve"].set_index("p")
    # the fit interpolates beyond p = n and not before; the norm peaks at p = n too
    assert curve.loc[101:, "train_mse"].max() < 1e-20 < curve.loc[:90, "train_mse"].min()
    assert curve["norm"].idxmax() == 100
    # the classical bound train + C sqrt(p/n) passes the error of predicting 0 at the threshold
    bound = curve["train_mse"] + m["null_mse"] * np.sqrt(curve["ratio"])
    assert (bound.loc[101:] > m["null_mse"]).all() and (bound.loc[:60] < m["null_mse"]).all()


def test_error_climbs_to_the_threshold_spikes_and_falls_while_the_bound_only_grows(ridgeless):
    # the page's intro and its answer "highest at p = n, lower again at p = 5n"
    curve = ridgeless.tables["curve"].set_index("p")
    median = curve["test_mse_median"]
    assert np.all(np.diff(median.loc[:100].to_numpy()) > 0)  # climbs all the way to p = n
    assert median.idxmax() == 100
    assert np.all(np.diff(median.loc[100:150].to_numpy()) < 0)  # and falls right after it
    assert curve.loc[500, "test_mse"] < 0.01 * curve.loc[100, "test_mse"]  # seen: 1.11 against 639
    bound = curve["train_mse"] + ridgeless.metrics["null_mse"] * np.sqrt(curve["ratio"])
    assert np.all(np.diff(bound.to_numpy()) > 0)


def test_near_the_threshold_a_few_draws_dominate_the_mean(ridgeless):
    curve = ridgeless.tables["curve"]
    assert (curve["test_mse_q25"] <= curve["test_mse_median"]).all()
    assert (curve["test_mse_median"] <= curve["test_mse_q75"]).all()
    at_n = curve.set_index("p").loc[100]
    assert at_n["test_mse"] > 3 * at_n["test_mse_median"]  # seen: 639 against 122
    # away from it the draws agree: mean and median within 5%
    away = _away(curve)
    assert ((away["test_mse"] / away["test_mse_median"] - 1).abs() < 0.05).all()


def test_caption_numbers_come_from_the_run(ridgeless):
    curve = ridgeless.tables["curve"].set_index("p")
    caption = dd.make_charts(ridgeless)[0].caption
    assert f"at p = n the mean is {curve.loc[100, 'test_mse']:.3g}" in caption
    assert f"{curve.loc[100, 'test_mse_median']:.3g} at p = n" in caption
    assert f"{curve.loc[1, 'test_mse_median']:.3g} at p = 1" in caption
    assert "largest at p/n = 1." in caption
    assert "pulled up by its worst draws" in caption


def test_caption_speaks_of_zero_train_errors_only_where_the_fit_interpolates(ridgeless, optimal):
    """Captions follow the run: with the optimal ridge no fit is exact, so nothing is left off the axis."""
    assert "Zero errors (train error right of the red line p = n" in dd.make_charts(ridgeless)[0].caption
    assert (optimal.tables["curve"]["train_mse"] > 1e-3).all()
    assert "Zero errors" not in dd.make_charts(optimal)[0].caption


def test_caption_says_the_mean_is_skewed_only_when_it_is(optimal):
    curve = optimal.tables["curve"].set_index("p")
    caption = dd.make_charts(optimal)[0].caption
    assert f"at p = n the mean is {curve.loc[100, 'test_mse']:.3g}." in caption  # 0.637 against a median of 0.640


def test_well_specified_interpolants_never_beat_the_smallest_model(ridgeless):
    # "every interpolant's error is above r2 (1 - n/p) + s2, while p = 1 scores about s2"
    m = ridgeless.metrics
    curve = ridgeless.tables["curve"]
    over = curve[curve["p"] > 100]
    assert (over["test_mse"] > m["signal_r2"] * (1 - 100 / over["p"]) + m["noise_var"]).all()
    at_1 = curve.set_index("p").loc[1, "test_mse"]
    assert at_1 == pytest.approx(m["noise_var"], rel=0.02)
    assert over["test_mse"].min() > at_1


def test_fixed_truth_matches_the_exact_theory_and_its_interpolants_win(fixed):
    curve = fixed.tables["curve"]
    assert fixed.metrics["peak_ratio"] == 1.0
    away = _away(curve)
    rel = (away["test_mse"] / away["theory_test_mse"] - 1).abs()
    assert rel.max() < 0.08  # seen: 0.041
    # weak features: the far overparameterized model beats every underparameterized one
    under = curve.loc[curve["ratio"] < 1, "test_mse"]
    assert curve["test_mse"].iloc[-1] < 0.95 * under.min()  # seen: 1.11 against 1.26


def test_the_truths_differ_only_below_the_largest_model(ridgeless, fixed):
    # at p = D a fixed truth and a per-p truth are the same problem; below it they are not
    a, b = (r.tables["curve"].set_index("p") for r in (ridgeless, fixed))
    assert a.loc[500, "theory_test_mse"] == pytest.approx(b.loc[500, "theory_test_mse"], rel=1e-12)
    assert a.loc[500, "test_mse"] == pytest.approx(b.loc[500, "test_mse"], rel=1e-9)
    assert b.loc[1, "test_mse"] > 4 * a.loc[1, "test_mse"]


@pytest.mark.parametrize("overrides", [
    {"model": "relu"},
    {"model": "fourier", "dataset": "digits", "noise": 0.0, "repeats": 3},
    {"model": "relu", "dataset": "digits", "noise": 0.0, "repeats": 5},  # the page's preset
])
def test_random_features_peak_at_the_threshold_too(overrides):
    result = EXP.execute(dd.Config(**overrides))
    curve = result.tables["curve"]
    assert result.metrics["peak_ratio"] == 1.0
    assert curve["theory_test_mse"].isna().all()  # no closed form for random features
    if overrides.get("dataset") == "digits":
        # on real digits the far overparameterized fit beats every underparameterized one
        assert curve["test_mse"].iloc[-1] < 0.6 * curve.loc[curve["ratio"] < 1, "test_mse"].min()


def test_optimal_ridge_removes_the_peak_and_the_per_p_curve_rises(ridgeless, optimal):
    at_n = {name: r.tables["curve"].set_index("p").loc[100, "test_mse"] for name, r in
            [("ridgeless", ridgeless), ("optimal", optimal)]}
    assert at_n["optimal"] < 0.05 * at_n["ridgeless"]  # seen: 0.64 against 640
    test = optimal.tables["curve"]["test_mse"].to_numpy()
    # a fresh truth of |beta|^2 = 1 for every p: each p is a harder problem, so even tuned it rises
    assert np.all(np.diff(test) > 0)
    assert test[0] < 0.3 and test[-1] > 1.0  # seen: 0.25 to 1.09
    rel = (optimal.tables["curve"]["test_mse"] / optimal.tables["curve"]["theory_test_mse"] - 1).abs()
    # the formula at lambda* is asymptotic (O(1/n) off at n = 100) and 20 draws add noise; seen: 0.038
    assert rel.max() < 0.06


def test_with_one_fixed_truth_optimal_ridge_falls_with_every_p(fixed, fixed_optimal):
    curve = fixed_optimal.tables["curve"]
    test = curve["test_mse"].to_numpy()
    assert np.all(np.diff(test) < 0)  # seen: 1.250 at p = 1 down to 1.093 at p = 5n
    assert np.all(np.diff(curve["theory_test_mse"].to_numpy()) < 0)
    rel = (curve["test_mse"] / curve["theory_test_mse"] - 1).abs()
    assert rel.max() < 0.03  # seen: 0.007
    at_n = fixed.tables["curve"].set_index("p").loc[100, "test_mse"]
    assert curve.set_index("p").loc[100, "test_mse"] < 0.01 * at_n


def test_a_little_ridge_already_tames_the_peak(ridgeless):
    # the preset "A little ridge (lambda = 0.01) already tames it"
    tamed = EXP.execute(dd.Config(ridge="0.01")).tables["curve"].set_index("p")
    assert tamed.loc[100, "test_mse"] < 0.01 * ridgeless.tables["curve"].set_index("p").loc[100, "test_mse"]
    assert tamed["test_mse"].max() < 2 * tamed.loc[1:90, "test_mse"].max()  # seen: 1.44 against 1.26


def test_tuned_ridge_for_random_features_is_nearly_monotone():
    ridgeless = EXP.execute(dd.Config(model="relu", repeats=10))
    tuned = EXP.execute(dd.Config(model="relu", repeats=10, ridge="optimal"))
    a, b = (r.tables["curve"].set_index("p")["test_mse"] for r in (ridgeless, tuned))
    assert b.loc[100] < 0.2 * a.loc[100]
    assert (b <= a * 1.05).all()
    assert np.all(np.diff(b.to_numpy()) < 0.05 * b.to_numpy()[1:])  # falls with p, up to 5% wiggles


def test_random_feature_ridge_is_tuned_on_validation_points_never_the_test_points(monkeypatch):
    config = dd.Config(model="relu", n=40, points=10, repeats=2, ridge="optimal")
    norms = EXP.execute(config).tables["curve"]["norm"]
    real_draw = dd.draw

    def scrambled(field):
        def draw(config, ps, repeat):
            data = real_draw(config, ps, repeat)
            if field == "test":
                data.test_mse = lambda i, p, w: 0.0
            else:
                data.val.f = data.val.f[::-1]
            return data
        return draw

    monkeypatch.setattr(dd.data, "draw", scrambled("test"))
    pd.testing.assert_series_equal(EXP.execute(config).tables["curve"]["norm"], norms)
    monkeypatch.setattr(dd.data, "draw", scrambled("validation"))
    assert not EXP.execute(config).tables["curve"]["norm"].equals(norms)


def test_fixed_ridge_matches_its_asymptotic_theory():
    curve = EXP.execute(dd.Config(ridge="0.1")).tables["curve"]
    rel = (curve["test_mse"] / curve["theory_test_mse"] - 1).abs()
    assert rel.max() < 0.08  # seen: 0.04


def test_theory_formulas_agree_with_each_other():
    n, r2, s2 = 1000, 1.0, 0.25
    ps = np.array([200, 500, 2000, 5000])
    gamma = ps / n
    hastie = s2 + np.where(gamma < 1, s2 * gamma / (1 - gamma), r2 * (1 - 1 / gamma) + s2 / (gamma - 1))
    # the finite-n formula tends to Hastie et al.'s curve, and so does ridge as lambda -> 0
    assert dd.belkin_test_mse(ps, n, r2, s2) == pytest.approx(hastie, rel=5e-3)
    assert dd.ridge_test_mse(ps, n, np.full(4, 1e-7), r2, s2) == pytest.approx(hastie, rel=1e-4)
    # lambda* minimises the ridge risk over a fine grid of lambdas
    grid = np.logspace(-4, 2, 601)
    for p in ps:
        risks = dd.ridge_test_mse(np.full(len(grid), p), n, grid, r2, s2)
        best = grid[np.argmin(risks)]
        assert best == pytest.approx(dd.optimal_ridge(p, n, r2, s2), rel=0.03)
    assert np.isnan(dd.belkin_test_mse(np.array([n - 1, n, n + 1]), n, r2, s2)).all()


def test_fixed_truth_energies_split_the_signal_between_seen_and_noise():
    ps = dd.grid(100, 5.0, 50)
    seen, noise = dd.energies(dd.Config(truth="fixed"), ps)
    np.testing.assert_allclose(seen + noise, dd.SIGNAL_R2 + 0.25, rtol=1e-12)
    assert seen[-1] == dd.SIGNAL_R2 and noise[-1] == 0.25
    np.testing.assert_allclose(seen, ps / 500, rtol=1e-12)
    per_p = dd.energies(dd.Config(), ps)
    assert (per_p[0] == dd.SIGNAL_R2).all() and (per_p[1] == 0.25).all()


def _relu_features(n=60, p_max=180, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8))
    F = np.sqrt(2) * np.maximum(x @ rng.standard_normal((8, p_max)) / np.sqrt(8), 0)
    return F, rng.standard_normal((n, 1))


def test_nested_sweep_equals_one_lstsq_per_p():
    F, y = _relu_features()
    n = len(F)
    ps = dd.grid(n, 3.0, 25)
    assert n in ps and ps.max() > 2 * n
    weights = dd.fit_path(F, [y] * len(ps), ps, np.zeros(len(ps)))
    for p, w in zip(ps, weights):
        ref = np.linalg.lstsq(F[:, :p], y, rcond=None)[0]
        assert np.linalg.norm(w - ref) <= 1e-8 * np.linalg.norm(ref), p


def test_nested_ridge_equals_the_normal_equations():
    F, y = _relu_features()
    n = len(F)
    ps = dd.grid(n, 3.0, 25)
    lams = np.geomspace(1e-3, 1.0, len(ps))
    for p, lam, w in zip(ps, lams, dd.fit_path(F, [y] * len(ps), ps, lams)):
        Fp = F[:, :p]
        ref = np.linalg.solve(Fp.T @ Fp + n * lam * np.eye(p), Fp.T @ y)
        assert np.linalg.norm(w - ref) <= 1e-8 * np.linalg.norm(ref), p


def test_validation_errors_equal_explicit_ridge_fits():
    F, y = _relu_features(n=30, p_max=50)
    V, f_val = _relu_features(n=40, p_max=50, seed=4)[0], np.random.default_rng(5).standard_normal((40, 1))
    n = len(F)
    e, U = np.linalg.eigh(F @ F.T)
    lams = np.array([1e-3, 0.1, 3.0])
    fast = dd.validation_errors(e, U, V @ F.T, y, f_val, lams)
    for lam, err in zip(lams, fast):
        w = np.linalg.solve(F.T @ F + n * lam * np.eye(F.shape[1]), F.T @ y)
        assert err == pytest.approx(np.mean((V @ w - f_val) ** 2), rel=1e-8)


def test_singular_systems_are_reported_and_the_other_points_kept(monkeypatch):
    F, y = _relu_features(n=40, p_max=120)
    F[:, 20] = F[:, 19]  # two equal features: every model with p >= 21 and p <= n is singular
    ps = np.array([10, 20, 30, 40, 80])
    weights = dd.fit_path(F, [y] * len(ps), ps, np.zeros(len(ps)))
    assert [w is None for w in weights] == [False, False, True, True, False]

    real_draw = dd.draw

    def duplicated(config, ps, repeat):
        data = real_draw(config, ps, repeat)
        data.F[:, 1] = data.F[:, 0]
        return data

    monkeypatch.setattr(dd.data, "draw", duplicated)
    result = EXP.execute(dd.Config(model="relu", n=40, points=10, repeats=2))
    status = result.metrics["status"]
    assert status.startswith("the least-squares system is singular to working precision at p = ")
    assert "p = 40 (p/n = 1.00) in 2 of 2 draws" in status
    curve = result.tables["curve"]
    assert curve.loc[curve["p"] == 40, "test_mse"].isna().all()
    assert curve.loc[curve["p"] > 40, "test_mse"].notna().all()
    assert dd.make_charts(result)[0].chart.to_dict()


def test_same_config_same_numbers():
    config = dd.Config(model="fourier", n=40, points=12, repeats=3)
    a, b = EXP.execute(config), EXP.execute(config)
    assert a.tables["curve"].equals(b.tables["curve"])


def test_charts_build_for_every_model():
    for model, dataset in [("linear", "synthetic"), ("relu", "digits")]:
        result = EXP.execute(dd.Config(model=model, dataset=dataset, n=40, points=12, repeats=2))
        figures = dd.make_charts(result)
        assert [f.table for f in figures] == ["curve"]
        assert figures[0].chart.to_dict()


def test_cli_runs_and_prints_the_contract_table(capsys):
    assert cli.main(["run", "double-descent", "--set", "n=40", "points=12", "repeats=2", "ridge=optimal",
                     "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    rows = payload["tables"]["curve"]
    assert list(rows[0]) == ["p", "ratio", "train_mse", "test_mse", "test_mse_std", "test_mse_median", "test_mse_q25",
                             "test_mse_q75", "norm", "theory_test_mse"]
    assert {"peak_ratio", "signal_r2", "noise_var", "status", *contract.COST_METRICS} <= set(payload["metrics"])
    assert payload["metrics"]["p_over_n"] == 5.0
    assert any(r["p"] == 40 for r in rows)


@pytest.mark.parametrize("sets,fragment", [
    (["ridge=2"], "ridge: '2' is not allowed"),
    (["model=cnn"], "model: 'cnn' is not allowed"),
    (["n=5"], "n: 5 is out of range"),
    (["dataset=digits"], "dataset: digits needs model relu or fourier"),
])
def test_cli_bad_input_exits_2_naming_the_parameter(sets, fragment, capsys):
    assert cli.main(["run", "double-descent", "--set", *sets]) == 2
    out, err = capsys.readouterr()
    assert out == "" and fragment in err and err.count("\n") == 1


def test_over_budget_is_refused():
    config = dd.Config(model="relu", ridge="optimal", n=1000, ratio_max=10.0, points=200, repeats=50)
    with pytest.raises(contract.BudgetError, match="training FLOPs"):
        EXP.execute(config)
