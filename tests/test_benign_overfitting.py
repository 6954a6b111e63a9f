"""Benign overfitting: exact bias and variance of the min-norm interpolant against dense
computations, sampling and the closed-form theory; the four spectra's verdicts; the seed's faults."""

import json

import numpy as np
import pytest

from core import cli, contract, linear
from core.experiments import benign_overfitting as bo

EXP = bo.EXPERIMENT


@pytest.fixture(scope="module")
def spiked():
    return EXP.execute(bo.Config())


@pytest.fixture(scope="module")
def isotropic():
    return EXP.execute(bo.Config(spectrum="isotropic", p=1000, repeats=10))


def test_tables_have_the_contract_columns(spiked):
    assert list(spiked.tables["sweep"].columns) == ["p", "ratio", "train_mse", "excess_risk", "bias", "variance", "implicit_ridge"]
    assert list(spiked.tables["spectrum"].columns) == ["index", "eigenvalue"]
    assert len(spiked.tables["spectrum"]) == 20_000
    for key in ("train_mse", "excess_risk", "bias", "variance", "signal_r2", "verdict", "best_p", "best_excess_risk",
                "implicit_ridge", "r0", "k_star", "R_k_star", "bartlett"):
        assert key in spiked.metrics
    assert spiked.metrics["signal_r2"] == 1.0
    assert next(iter(spiked.metrics)) == "status" and spiked.metrics["device"] == "cpu (numpy float64)"
    assert spiked.metrics["params"] == 20_000 and spiked.metrics["p_over_n"] == 200


def test_the_min_norm_solution_interpolates(spiked, isotropic):
    for result in (spiked, isotropic):
        # every p of the sweep fits the noisy labels (variance ~1.25) to machine precision
        assert result.tables["sweep"]["train_mse"].max() < 1e-18  # measured 3.8e-23 at p = 1.1 n
    caption = bo.make_charts(spiked)[1].caption
    worst = spiked.tables["sweep"]["train_mse"].max()
    assert f"the largest train MSE over the sweep is {worst:.2g}, against E y² = 1.25" in caption
    first = spiked.tables["sweep"].iloc[0]
    assert f"At p = {int(first['p'])}, just above n, the test MSE is {first['excess_risk'] + 0.25:.3g}, off the top" in caption


def test_spiked_spectrum_is_benign(spiked):
    """Page: "Spiked ... benign once p is large — the variance falls all along the sweep and ends
    under 6% of σ²"; the verdict is the measured one."""
    m, s2 = spiked.metrics, 0.5**2
    assert m["status"] == "ok"
    assert m["verdict"].startswith("benign: it interpolates, the variance is 5.7% of the noise variance")
    assert m["variance"] < 0.06 * s2  # measured 0.0142 = 5.7% of s2
    assert m["excess_risk"] < 0.1 * s2  # measured 0.0159
    assert m["bartlett"].endswith("all small (< 0.1)")
    # the weak directions absorb more noise as p grows: the variance falls all along the sweep
    assert spiked.tables["sweep"]["variance"].is_monotonic_decreasing
    # Bartlett et al.'s ranks, by hand: r0 = 5 + 19995 * 2e-4, k* = 5, R_5 = 19995
    assert m["r0"] == pytest.approx(5 + 19995 * 2e-4, rel=1e-6)
    assert m["k_star"] == 5 and m["R_k_star"] == pytest.approx(19995)


def test_isotropic_at_large_p_matches_hastie_et_al(isotropic):
    """Mean over 10 training sets at p/n = 10 vs r2(1 - 1/gamma) + s2/(gamma - 1); within 3%."""
    m = isotropic.metrics
    theory = float(linear.hastie_excess_risk(10.0, 1.0, 0.25))
    assert m["excess_risk"] == pytest.approx(theory, rel=0.03)  # measured 0.9284 vs 0.9278
    assert m["bias"] == pytest.approx(1 - 1 / 10, rel=0.03)
    assert m["variance"] == pytest.approx(0.25 / 9, rel=0.1)
    assert m["verdict"].startswith("not benign:") and "the bias is 90% of the signal variance" in m["verdict"]
    assert m["bartlett"].startswith("r₀/n = 10,")


def test_seeds_setting_isotropic_p_5n_is_not_benign():
    m = EXP.execute(bo.Config(spectrum="isotropic", p=500, k=10, noise=0.3, repeats=10)).metrics
    # the interpolant learns only about 1/5 of the signal (signal_r2 = 1)
    assert m["bias"] == pytest.approx(0.8, rel=0.05)  # measured 0.78
    assert m["verdict"].startswith("not benign:") and "the bias is 7" in m["verdict"]
    assert m["bartlett"].startswith("r₀/n = 5,")


def test_exponential_spectrum_is_harmful():
    """Page: "Exponential: harmful ... the variance is many times σ² (21 times here) however large p is"."""
    result = EXP.execute(bo.Config(spectrum="exponential"))
    m, s2 = result.metrics, 0.5**2
    assert m["status"] == "ok"
    assert f"{m['variance'] / s2:.2g}" == "21"  # measured 5.23 = 21 s2
    assert (result.tables["sweep"]["variance"] > 10 * s2).all()  # at every p of the sweep
    assert m["excess_risk"] > m["signal_r2"]  # worse than predicting 0
    assert m["verdict"].startswith("not benign: the variance is 21 times the noise variance")
    assert "no k has rₖ ≥ n" in m["bartlett"]


def test_heavier_spiked_tail_is_benign_although_bartletts_r0_is_not_small():
    """Preset "Spiked, heavier tail: benign though r₀/n = 0.15"; page: "r₀/n = 0.15, yet the bias is
    under 1% of the signal and the variance under 6% of σ²". The verdict is the measured one, and
    the implicit ridge (tail sum / n) explains the small bias: (κ / (1 + κ))² of the signal."""
    m = EXP.execute(bo.Config(p=10_000, weak=0.001)).metrics
    s2 = 0.5**2
    assert m["train_mse"] < 1e-25  # measured 1.7e-31
    assert m["bias"] < 0.01 * m["signal_r2"]  # measured 0.0084
    assert m["variance"] < 0.06 * s2  # measured 0.0137 = 5.5% of s2
    assert m["verdict"].startswith("benign: it interpolates")
    assert m["bartlett"].startswith("r₀/n = 0.15,") and m["bartlett"].endswith("r₀/n not small (≥ 0.1)")
    kappa = m["implicit_ridge"]
    assert kappa == pytest.approx(9995 * 0.001 / 100, rel=0.1)  # measured 0.104 vs tail sum / n = 0.09995
    assert m["bias"] == pytest.approx((kappa / (1 + kappa)) ** 2, rel=0.3)  # measured 0.0084 vs 0.0088


@pytest.fixture(scope="module")
def power_law():
    return EXP.execute(bo.Config(spectrum="power-law"))


def test_power_law_risk_bottoms_out_then_rises_with_p(power_law):
    """Page: "The excess risk falls to a minimum, 0.122 at p = 1,879, then rises again, to 0.145 at
    p = 20,000 (κ from 0.21 to 0.35)"; the risk caption says the same from the run."""
    m, sweep = power_law.metrics, power_law.tables["sweep"].set_index("p")
    assert (m["best_p"], f"{m['best_excess_risk']:.3f}") == (1879, "0.122")
    assert f"{m['excess_risk']:.3f}" == "0.145"
    assert m["excess_risk"] > 1.15 * m["best_excess_risk"]
    after = sweep.loc[m["best_p"]:, "excess_risk"]
    assert after.is_monotonic_increasing and len(after) >= 5
    # the mechanism: the implicit ridge grows all along the sweep (the tail sum grows like k log p)
    assert sweep["implicit_ridge"].is_monotonic_increasing
    assert (f"{sweep.loc[1879, 'implicit_ridge']:.2f}", f"{m['implicit_ridge']:.2f}") == ("0.21", "0.35")
    # the bias grows with it: it is the signal being shrunk away, not noise, that turns the risk up
    assert sweep.loc[m["best_p"]:, "bias"].is_monotonic_increasing
    assert m["verdict"].startswith("not benign:")
    caption = bo.make_charts(power_law)[0].caption
    assert "lowest at p = 1,879 (0.122) and rises to 0.145 at p = 20,000" in caption


def test_bartletts_benign_example_at_n_100_is_not_yet_benign():
    """Preset "Bartlett et al.'s benign example, at n = 100: not yet"; page: "κ stays small (bias
    near 0) and the risk keeps falling as p grows ... At n = 100 the variance is still 43% of σ²
    (k = 1), and from n = 25 to 200 it falls only from 50% to 42%"."""
    s2 = 0.5**2
    result = EXP.execute(bo.Config(spectrum="bartlett", k=1))
    m, sweep = result.metrics, result.tables["sweep"]
    assert m["bias"] < 1e-4 * m["signal_r2"]  # measured 1.7e-6
    assert m["implicit_ridge"] < 0.01  # measured 0.00099
    assert sweep["excess_risk"].is_monotonic_decreasing
    assert f"{m['variance'] / s2:.0%}" == "43%"
    assert m["verdict"].startswith("not benign: the variance is 43% of the noise variance")
    assert "k*/n = 0.42" in m["bartlett"]
    ends = [EXP.execute(bo.Config(spectrum="bartlett", k=1, n=n)).metrics["variance"] / s2 for n in (25, 200)]
    assert [f"{v:.0%}" for v in ends] == ["50%", "42%"]


def test_bartlett_spectrum_is_theirs_and_its_tail_converges():
    """1/(i log²(i+1)) scaled to start at 1 (k = 1); against 1/i its tail sum stays bounded."""
    i = np.arange(1, 2001)
    assert bo.spectrum("bartlett", 2000, 1, 0.0) == pytest.approx(np.log(2) ** 2 / (i * np.log(i + 1) ** 2), rel=1e-12)
    tails = [bo.spectrum("bartlett", p, 1, 0.0)[100:].sum() for p in (2000, 20_000)]
    assert tails[1] - tails[0] < 0.05  # measured 0.035: the sum converges
    harmonic = [bo.spectrum("power-law", p, 1, 0.0)[100:].sum() for p in (2000, 20_000)]
    assert harmonic[1] - harmonic[0] == pytest.approx(np.log(10), rel=0.01)  # 1/i: grows like log p


def test_simulation_agrees_with_the_deterministic_equivalent(spiked):
    """Theory lines vs the mean of the exact terms at the last p, spiked case: within 15%."""
    risk = spiked.tables["risk"]
    at_end = risk[risk["p"] == 20_000]
    sim = at_end[at_end["source"] == "simulation"].groupby("term")["value"].mean()
    theory = at_end[at_end["source"] == "theory"].set_index("term")["value"]
    for term in ("excess_risk", "bias", "variance"):
        assert sim[term] == pytest.approx(theory[term], rel=0.15)  # measured 0.0159 vs 0.0150 excess


def test_deterministic_equivalent_is_hastie_for_isotropic_features():
    theta = np.array([0.6, 0.8])  # |theta|^2 = 1
    for p in (40, 80, 150, 400, 5000):
        terms = linear.ridgeless_equivalent(np.ones(p), theta, 100, 0.3)
        assert terms.excess_risk == pytest.approx(float(linear.hastie_excess_risk(p / 100, 1.0, 0.3)), rel=1e-9)


def test_exact_terms_equal_a_dense_pseudoinverse_computation():
    """The n x n Gram route against pinv(X) with the p x p covariance, at a sweep point."""
    config = bo.Config(spectrum="power-law", p=600, repeats=1)
    eigs = bo.spectrum(config.spectrum, config.p, config.k, config.weak)
    theta = bo.true_coefficients(config, eigs)
    z, signal, y = bo.draw(config, eigs, theta, 0)
    X = z * np.sqrt(eigs)
    pinv = np.linalg.pinv(X)
    gap = -pinv @ signal
    gap[: config.k] += theta
    bias = gap @ np.diag(eigs) @ gap
    variance = config.noise**2 * np.trace(pinv.T @ np.diag(eigs) @ pinv)
    row = EXP.execute(config).tables["sweep"].iloc[-1]
    assert row["p"] == 600
    assert row["bias"] == pytest.approx(bias, rel=1e-8)
    assert row["variance"] == pytest.approx(variance, rel=1e-8)
    assert row["train_mse"] < 1e-20 and np.mean((X @ (pinv @ y) - y) ** 2) < 1e-20


def test_variance_trace_is_the_noise_average():
    """s2 tr(C) against 4000 sampled noise vectors: the mean of |S^1/2 X^T G^-1 eps|^2 (within 5%)."""
    rng = np.random.default_rng(7)
    eigs = bo.spectrum("spiked", 800, 5, 1e-2)
    X = rng.standard_normal((60, 800)) * np.sqrt(eigs)
    solve = linear.GramSolve(X @ X.T)
    eps = rng.standard_normal((60, 4000))
    fits = X.T @ solve.solve(eps)
    sampled = np.mean(np.sum(eigs[:, None] * fits**2, axis=0))
    assert linear.variance_trace(solve, X, eigs) == pytest.approx(sampled, rel=0.05)


def test_effective_ranks_by_hand():
    ranks = linear.effective_ranks(bo.spectrum("spiked", 1000, 3, 0.01), n=100)
    assert ranks.r0 == pytest.approx(3 + 997 * 0.01)
    assert ranks.k_star == 3 and ranks.R_k_star == pytest.approx(997)
    iso = linear.effective_ranks(np.ones(500), n=100)
    assert (iso.r0, iso.k_star, iso.R_k_star) == (500, 0, 500)
    assert linear.effective_ranks(bo.spectrum("exponential", 20_000, 5, 0.0), n=100).k_star is None


def test_singular_gram_is_reported_not_raised():
    result = EXP.execute(bo.Config(spectrum="exponential", k=2, p=2000, repeats=1))
    assert result.metrics["status"].startswith("X X^T is numerically singular")
    assert np.isfinite(result.tables["sweep"][["bias", "variance"]].to_numpy()).all()


def test_same_config_same_numbers():
    config = bo.Config(p=600, repeats=2)
    assert EXP.execute(config).tables["sweep"].equals(EXP.execute(config).tables["sweep"])


def test_progress_streams_partial_risk_tables():
    seen = []
    EXP.execute(bo.Config(p=600, repeats=3), progress=lambda f, m="", t=None: seen.append((f, t)))
    assert [f for f, _ in seen] == pytest.approx([1 / 3, 2 / 3, 1])
    assert len(seen[0][1]["risk"]) < len(seen[-1][1]["risk"])
    figures = bo.make_charts(contract.Result({}, seen[0][1]))
    assert len(figures) == 1
    figures[0].chart.to_dict()


def test_spectrum_caption_shows_the_measured_verdict_beside_bartletts_conditions(spiked):
    m = spiked.metrics
    caption = bo.make_charts(spiked)[2].caption
    assert f"measured verdict: **{m['verdict']}**" in caption
    assert f"Bartlett et al.'s sufficient conditions (from bounds, up to constants): {m['bartlett']}" in caption
    assert f"bias {m['bias']:.3g}, variance {m['variance']:.3g}" in caption


def test_verdict_judges_the_measurement():
    assert bo.verdict(1e-3, 0.0, 0.0, 0.25).startswith("does not interpolate")
    assert bo.verdict(1e-30, 0.01, 0.01, 0.25).startswith("benign: it interpolates, the variance is 4% of the noise")
    assert bo.verdict(1e-30, 0.5, 0.01, 0.25) == ("not benign: the bias is 50% of the signal variance "
                                                  "(the signal is shrunk away)")
    assert bo.verdict(1e-30, 0.0, 0.0, 0.0).startswith("benign: it interpolates, the variance is 0 (no label noise)")


@pytest.mark.parametrize("spectrum", bo.SPECTRA)
def test_every_chart_builds_for_every_spectrum(spectrum):
    result = EXP.execute(bo.Config(spectrum=spectrum, p=400, repeats=2))
    figures = bo.make_charts(result)
    assert [f.table for f in figures] == ["risk", "sweep", "spectrum"]
    for figure in figures:
        assert figure.chart.to_dict()


def test_cli_runs_and_prints_json(capsys):
    assert cli.main(["run", "benign-overfitting", "--set", "spectrum=isotropic", "p=500", "repeats=2", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["metrics"]["verdict"].startswith("not benign")
    assert set(payload["tables"]) >= {"sweep", "spectrum"}
    assert payload["tables"]["sweep"][-1]["p"] == 500


@pytest.mark.parametrize("args,fragment", [
    (["p=100"], "p: 100 must exceed n + 1 = 101"),
    (["k=60"], "k: 60 is out of range"),
    (["n=40", "k=45"], "k: 45 must be below n = 40"),
    (["spectrum=cauchy"], "spectrum: 'cauchy' is not allowed"),
    (["p=30000"], "p: 30000 is out of range; allowed: an integer from 30 to 20000"),
])
def test_cli_bad_input_exits_2_naming_the_parameter(args, fragment, capsys):
    assert cli.main(["run", "benign-overfitting", "--set", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and fragment in err and err.count("\n") == 1
