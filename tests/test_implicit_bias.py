"""Implicit bias: GD's limit on least squares and its direction on separable logistic regression,
checked against closed forms and an independent QP solver."""

import itertools
import json
import math

import numpy as np
import pytest
from scipy.linalg import null_space
from scipy.optimize import minimize

from core import cli, contract
from core.charts import PALETTE
from core.experiments import implicit_bias as ib

EXP = ib.EXPERIMENT


@pytest.fixture(scope="module")
def from_zero():
    return EXP.execute(ib.Config())


@pytest.fixture(scope="module")
def from_w0():
    return EXP.execute(ib.Config(init=1.0))


def test_tables_have_the_contract_columns(from_zero):
    assert list(from_zero.tables["trajectory"].columns) == ["step", "train_loss", "dist_to_min_norm", "dist_to_limit", "norm"]
    margin = EXP.execute(ib.Config(task="classification", steps=50)).tables["margin"]
    assert list(margin.columns) == ["step", "cosine_to_svm", "normalized_margin", "norm"]
    assert next(iter(from_zero.metrics)) == "status" and from_zero.metrics["device"] == "cpu (numpy float64)"
    assert (from_zero.metrics["params"], from_zero.metrics["p_over_n"]) == (100, 5.0)


def test_from_zero_gd_lands_on_the_min_norm_interpolant(from_zero):
    m = from_zero.metrics
    assert m["status"] == "ok"
    assert m["dist_to_min_norm"] < 1e-12  # measured 2.6e-15: "checked here to machine precision"
    assert m["train_loss"] < 1e-20  # it interpolates
    # independent min-norm solution: its norm is where GD's norm ends
    X, y, _ = ib.regression_problem(ib.Config())
    w_min = np.linalg.lstsq(X, y, rcond=None)[0]
    assert m["min_norm"] == pytest.approx(np.linalg.norm(w_min), rel=1e-12)
    assert from_zero.tables["trajectory"]["norm"].iloc[-1] == pytest.approx(np.linalg.norm(w_min), rel=1e-9)


def test_from_w0_gd_lands_on_the_predicted_limit_and_the_null_space_part_never_moves(from_w0):
    config = ib.Config(init=1.0)
    X, y, w0 = ib.regression_problem(config)
    assert np.linalg.norm(w0) == pytest.approx(1.0)
    w_min = np.linalg.lstsq(X, y, rcond=None)[0]
    basis = null_space(X)  # orthonormal basis of the null space, from scipy's SVD
    null_part = basis @ (basis.T @ w0)
    m = from_w0.metrics
    assert m["dist_to_limit"] < 1e-12  # measured 3.2e-15: "checked here to machine precision"
    # it does NOT reach the min-norm interpolant: it stops exactly |null part of w0| away
    assert m["dist_to_min_norm"] == pytest.approx(np.linalg.norm(null_part) / np.linalg.norm(w_min), rel=1e-9)
    assert m["dist_to_min_norm"] > 1.0  # measured 1.72
    assert m["null_space_moved"] < 1e-10  # measured 3.2e-15, over every recorded step
    # Pythagoras: |limit|^2 = |min-norm|^2 + |null part|^2
    assert m["limit_norm"] ** 2 == pytest.approx(m["min_norm"] ** 2 + np.linalg.norm(null_part) ** 2, rel=1e-9)


def test_trajectory_equals_the_closed_form_of_gd_on_a_quadratic(from_w0):
    """w_t - w_inf = (I - eta H)^t (w0 - w_inf), H = 2 X^T X / n: every recorded step, to 1e-9."""
    config = ib.Config(init=1.0)
    X, y, w0 = ib.regression_problem(config)
    n = config.n
    hessian = 2 * X.T @ X / n
    evals, evecs = np.linalg.eigh(hessian)
    eta = config.lr * 2 / evals[-1]
    w_min = np.linalg.pinv(X) @ y
    limit = w_min + w0 - np.linalg.pinv(X) @ (X @ w0)
    start = evecs.T @ (w0 - limit)
    traj = from_w0.tables["trajectory"].set_index("step")
    for step in traj.index[[1, 10, 50, 100]]:
        predicted = np.linalg.norm((1 - eta * evals) ** step * start) / np.linalg.norm(w_min)
        assert traj.loc[step, "dist_to_limit"] == pytest.approx(predicted, rel=1e-9, abs=1e-13)
    # with lr < 0.5 every factor 1 - eta*lambda is in [0, 1): the distance never increases
    assert (np.diff(traj["dist_to_limit"].to_numpy()) <= 1e-14).all()


def test_two_d_picture_paths_meet_the_line_at_the_foot_of_the_perpendicular():
    plane = ib.plane(ib.Config())
    line = plane[plane["kind"] == "solutions x·w = y"][["w1", "w2"]].to_numpy()
    perp = plane[plane["kind"] == "perpendicular from w0"][["w1", "w2"]].to_numpy()
    from_0 = plane[plane["kind"] == "GD from 0"][["w1", "w2"]].to_numpy()
    from_w0 = plane[plane["kind"] == "GD from w0"][["w1", "w2"]].to_numpy()
    along = (line[1] - line[0]) / np.linalg.norm(line[1] - line[0])
    w0, foot = perp
    assert (foot - w0) @ along == pytest.approx(0, abs=1e-12)  # perpendicular
    assert np.allclose(from_w0[0], w0)
    # every GD iterate from w0 lies on the perpendicular, and the last is its foot
    offsets = from_w0 - w0
    assert np.abs(offsets @ along).max() < 1e-12
    assert np.linalg.norm(from_w0[-1] - foot) < 1e-3
    # from 0 it ends at the point of the line nearest the origin: the minimum-norm solution
    nearest = line[0] - (line[0] @ along) * along
    assert np.linalg.norm(from_0[-1] - nearest) < 1e-3
    assert len(from_0) > 5  # the path is drawn step by step, not one jump


def test_the_plateau_is_drawn_as_the_caption_says(from_w0):
    """Caption and page: the theory's plateau is the solid grey line, at |null-space part of w0|,
    and the blue curve ends on it."""
    figure = ib.make_charts(from_w0)[0]
    assert "the solid grey line is the theory's plateau" in figure.caption
    rules = [layer for layer in figure.chart.to_dict()["layer"] if layer["mark"] == {"type": "rule", "color": PALETTE.grey}]
    assert len(rules) == 1  # a plain rule: no strokeDash, so solid
    plateau = from_w0.metrics["null_space_part"]
    assert from_w0.tables["trajectory"]["dist_to_min_norm"].iloc[-1] == pytest.approx(plateau, rel=1e-9)
    caption = figure.caption
    assert f"distance to the min-norm interpolant {from_w0.metrics['dist_to_min_norm']:.2g}" in caption


def test_step_above_the_stable_limit_diverges_with_a_plain_status():
    result = EXP.execute(ib.Config(lr=1.2, init=1.0))
    assert result.metrics["status"].startswith("diverged by step ")
    assert "lr below 1" in result.metrics["status"]
    traj = result.tables["trajectory"]
    assert np.isfinite(traj.to_numpy()).all() and traj["step"].max() < 2000


def test_hard_margin_svm_matches_an_independent_qp():
    X, y, _ = ib.classification_problem(ib.Config(task="classification"))
    w = ib.hard_margin_svm(X, y)
    assert (y * (X @ w)).min() == pytest.approx(1.0, abs=1e-6)  # the hard margin is active
    qp = minimize(lambda v: 0.5 * v @ v, X.T @ y, jac=lambda v: v, method="SLSQP",
                  constraints=[{"type": "ineq", "fun": lambda v: y * (X @ v) - 1, "jac": lambda v: y[:, None] * X}],
                  options={"ftol": 1e-14, "maxiter": 1000})
    assert np.linalg.norm(qp.x - w) / np.linalg.norm(w) < 1e-5  # measured 3e-8


@pytest.fixture(scope="module")
def logistic():
    return EXP.execute(ib.Config(task="classification", steps=20_000))


def test_logistic_direction_converges_to_the_svm_slowly(logistic):
    m, table = logistic.metrics, logistic.tables["margin"].set_index("step")
    assert m["cosine_to_svm"] > 0.99  # measured 0.9952
    gap = 1 - table["cosine_to_svm"]
    near_100 = table.index[np.abs(table.index - 100).argmin()]
    assert gap.loc[20_000] < gap.loc[near_100] / 2 < gap.loc[1] / 4
    # ... but slowly: four decades of steps leave it far from machine precision
    assert gap.loc[20_000] > 1e-3  # measured 4.8e-3
    assert m["normalized_margin"] < m["svm_margin"]  # the SVM's margin is the largest


def test_margin_gap_closes_like_one_over_log_t(logistic):
    """Soudry et al. (2018): svm_margin - normalized margin ~ C / log t; C is constant within 15%."""
    svm = logistic.metrics["svm_margin"]
    table = logistic.tables["margin"].set_index("step")
    steps = [table.index[np.abs(table.index - t).argmin()] for t in (100, 1000, 20_000)]
    scaled = [(svm - table.loc[t, "normalized_margin"]) * math.log(t) for t in steps]
    assert max(scaled) / min(scaled) < 1.15  # measured 0.952, 0.934, 0.925


@pytest.fixture(scope="module")
def logistic_preset():
    """The page's preset "Logistic loss → max-margin, slowly"."""
    return EXP.execute(ib.Config(task="classification", steps=100_000, lr=0.9))


def _near(table, step):
    return table.index[np.abs(table.index - step).argmin()]


def test_logistic_preset_is_short_of_the_margin_after_100000_steps_and_slower_than_a_power_law(logistic_preset):
    """Page: "even 100,000 steps leave GD short of the SVM's margin, and 1 − cosine falls more slowly
    than any power of t (its slope on log axes flattens every decade)"; caption: "this is slower"."""
    m, table = logistic_preset.metrics, logistic_preset.tables["margin"].set_index("step")
    assert m["status"] == "ok"
    assert m["normalized_margin"] < 0.98 * m["svm_margin"]  # measured 2.550 vs 2.624
    gap = 1 - table["cosine_to_svm"]
    decades = [_near(table, 10**e) for e in range(1, 6)]
    slopes = [math.log(gap[b] / gap[a]) / math.log(b / a) for a, b in itertools.pairwise(decades)]
    assert all(s < 0 for s in slopes)  # measured -0.34, -0.25, -0.19, -0.15
    assert all(later > earlier for earlier, later in itertools.pairwise(slopes))


def test_logistic_weights_grow_like_log_t(logistic_preset):
    """Page: "|w| gains about ln(10) |w_SVM| per tenfold of steps"; the caption's numbers come from
    the run."""
    m, table = logistic_preset.metrics, logistic_preset.tables["margin"].set_index("step")
    predicted = math.log(10) / m["svm_margin"]
    growth = ib.norm_growth_per_decade(logistic_preset.tables["margin"])
    assert growth == pytest.approx(predicted, rel=0.02)  # measured 0.879 vs 0.878
    assert table.loc[100_000, "norm"] - table.loc[_near(table, 10_000), "norm"] == pytest.approx(growth)
    caption = ib.make_charts(logistic_preset)[0].caption
    assert (f"|w| grew by {growth:.3g} over the last tenfold of steps; w(t) ≈ w_SVM log t predicts "
            f"ln(10) |w_SVM| = {predicted:.3g}") in caption
    scaled = [(m["svm_margin"] - table.loc[_near(table, t), "normalized_margin"]) * math.log(t) for t in (1000, 100_000)]
    assert scaled[1] == pytest.approx(scaled[0], rel=0.05)  # the gap closes like 1/log t: measured 0.842, 0.850


def test_same_config_same_numbers():
    a = EXP.execute(ib.Config(init=0.5, steps=300))
    b = EXP.execute(ib.Config(init=0.5, steps=300))
    assert a.tables["trajectory"].equals(b.tables["trajectory"])


def test_progress_streams_partial_trajectories():
    seen = []
    EXP.execute(ib.Config(steps=1000), progress=lambda f, m="", t=None: seen.append((f, len(t["trajectory"]))))
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == pytest.approx(1.0)
    assert seen[0][1] < seen[-1][1]
    partial = ib.make_charts(contract.Result({}, {"trajectory": EXP.execute(ib.Config(steps=50)).tables["trajectory"]}))
    assert len(partial) == 1


def test_charts_for_both_tasks():
    for init in (0.0, 1.0):
        figures = ib.make_charts(EXP.execute(ib.Config(steps=100, init=init)))
        assert [f.table for f in figures] == ["trajectory", "plane"]
        for figure in figures:
            figure.chart.to_dict()
    result = EXP.execute(ib.Config(task="classification", steps=100))
    assert [f.table for f in ib.make_charts(result)] == ["margin"]
    for figure in ib.make_charts(result):
        figure.chart.to_dict()


def test_cli_runs_and_prints_json(capsys):
    assert cli.main(["run", "implicit-bias", "--set", "init=1", "steps=500", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["experiment"] == "implicit-bias"
    assert payload["metrics"]["dist_to_limit"] < 1e-6
    assert payload["metrics"]["dist_to_min_norm"] > 1
    assert set(payload["tables"]) == {"trajectory", "plane"}


@pytest.mark.parametrize("args,fragment", [
    (["lr=2"], "lr: 2 is out of range; allowed: a number from 0.01 to 1.2"),
    (["task=svm"], "task: 'svm' is not allowed; allowed: one of regression, classification"),
    (["init=-1"], "init: -1 is out of range"),
    (["steps=1e9"], "steps: 1e+09 is out of range"),
])
def test_cli_bad_input_exits_2_naming_the_parameter(args, fragment, capsys):
    assert cli.main(["run", "implicit-bias", "--set", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and fragment in err and err.count("\n") == 1
