"""Deep double descent: the page's every statement about a measured effect, at its defaults and
presets, and the machinery under it (one stack = every width alone, the closed-form read-out, the
data).

The runs are made once per module, on one thread (deterministic, and what a loaded server gives a
run); the numbers asserted are the ones the page states (app_pages/deep_double_descent.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from core import contract
from core.contract import Result
from core.experiments import deep_double_descent as ddd
from core.experiments.deep_double_descent import config as ddd_config
from core.experiments.deep_double_descent import figures, networks, random_features

EXP = ddd.EXPERIMENT
CHEAP = ddd.Config(n=60, widths=(3, 8, 20), steps=200, repeats=2)


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_thread):
    """One thread: the runs are then bit-for-bit those the numbers were read from."""


def _run(**overrides) -> Result:
    return EXP.execute(ddd.Config(**overrides), device="cpu")


@pytest.fixture(scope="module")
def default() -> Result:
    return _run()


@pytest.fixture(scope="module")
def clean() -> Result:
    return _run(label_noise=0.0)


@pytest.fixture(scope="module")
def decayed() -> Result:
    return _run(weight_decay="0.001")


def _sweep(result: Result) -> pd.DataFrame:
    return result.tables["sweep"].set_index("width")


# --- the defaults: the lecture plot ---------------------------------------------------------------


def test_defaults_fit_the_budget_and_every_preset_is_valid():
    assert EXP.check_budget(ddd.Config()) == pytest.approx(3.56e11, rel=0.01)  # under 2e12
    assert ddd.Config().widths == (2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256)
    assert [ddd.params(w) for w in (2, 256)] == [160, 19210] and ddd.threshold(ddd.Config()) == 2000
    assert ddd_config.n_test(ddd.Config()) == 1597  # the page's "1,597 digits it never saw"
    for overrides in ddd.PRESETS.values():
        contract.make_config(ddd.Config, overrides)


def test_with_noisy_labels_the_test_loss_peaks_near_the_threshold_and_falls_tenfold_beyond(default):
    """Page: "the test loss climbs from 1.1 (width 3) to a peak of 5.5 at width 11 (835 parameters,
    0.42 nK), then falls at every width to 0.52 at width 256: ten times below the peak and half
    the best narrow network's"."""
    m, s = default.metrics, _sweep(default)
    assert m["status"] == "ok"
    assert (m["peak_width"], m["peak_params"], f"{m['peak_test_loss']:.2g}") == (11, 835, "5.5")
    nk = m["threshold_params"]
    assert nk / 3 <= m["peak_params"] <= 3 * nk  # within a factor 3 of p = nK (0.42 nK)
    assert f"{m['widest_test_loss']:.2g}" == "0.52" and f"{m['peak_over_widest']:.2g}" == "10"
    assert m["peak_over_widest"] > 5
    after = s.loc[m["peak_width"]:, "test_loss"]
    assert after.is_monotonic_decreasing  # the second descent: every wider width is better
    narrow = s.loc[: m["peak_width"] - 1, "test_loss"]
    assert (narrow.idxmin(), f"{narrow.min():.2g}") == (3, "1.1")
    assert m["widest_test_loss"] < narrow.min() / 2
    assert f"{m['largest_rise']:.2g}" == "5" and m["largest_rise_width"] == 11


def test_the_peak_is_where_the_networks_first_fit_nearly_every_noisy_label(default):
    """Page: "at width 11 the networks misfit 5% of the training labels (the noise changed 37 of the
    200), and from width 23 (0.87 nK) they fit every one"."""
    m, s = default.metrics, _sweep(default)
    changed = m["labels_changed"] / 200
    assert m["labels_changed"] == 37
    peak = m["peak_width"]
    assert f"{s.loc[peak, 'train_error']:.0%}" == "5%"
    # at or past the first width that fits all but half of the changed labels, and no later than
    # the first width that fits them all
    nearly = int(s.index[s["train_error"] < changed / 2][0])
    assert nearly <= peak <= m["interpolation_width"]
    assert (m["interpolation_width"], m["interpolation_params"]) == (23, 1735)
    assert f"{m['interpolation_params'] / m['threshold_params']:.2f}" == "0.87"
    assert (s.loc[s.index >= 23, "train_error"] == 0).all()


def test_fitting_the_target_numbers_themselves_takes_about_nk_parameters(default):
    """Page: "fitting the 2,000 target numbers themselves (training loss under 0.01) takes width 32,
    1.2 nK, close to the count; at the peak the training loss is still 0.083"."""
    m, s = default.metrics, _sweep(default)
    first = int(s.index[s["train_loss"] < 0.01][0])
    assert (first, f"{ddd.params(first) / m['threshold_params']:.2g}") == (32, "1.2")
    assert (s.loc[first:, "train_loss"] < 0.01).all()
    assert f"{s.loc[m['peak_width'], 'train_loss']:.2g}" == "0.083"


def test_the_test_error_stalls_through_the_peak_and_then_falls(default):
    """Page: "the classification error stalls near 0.55 from width 8 to 23 and then falls to 0.23"."""
    s = _sweep(default)
    stall = s.loc[8:23, "test_error"]
    assert stall.between(0.52, 0.58).all()
    assert f"{s['test_error'].iloc[-1]:.2f}" == "0.23"
    assert s.loc[23:, "test_error"].iloc[-1] < 0.5 * stall.min()


def test_the_caption_gives_this_run_numbers(default):
    caption = EXP.charts(default)[0].caption
    assert ("Here the test loss peaks at width 11 (p = 835, 0.42 nK) at 5.48, 5x the best narrower width's "
            "(1.1 at width 3), and ends at 0.522 for width 256, 10x below the peak. At the peak the networks misfit "
            "5.3% of the training labels; every training label is fitted from width 23 (p = 1,735, 0.87 nK) on.") in caption


# --- clean labels, heavy noise --------------------------------------------------------------------


def test_clean_labels_give_a_smaller_peak_where_they_are_first_fitted(default, clean):
    """Page: "without noise the peak is three times lower (1.8, also at width 11, where the clean labels
    are first fitted exactly) and the widest net ends at 0.23. Relative to the widest net the two
    peaks differ less (7.8x against 10x); the climb above the best narrower network is 2.4x against
    5x". And "the error falls at almost every width, from 0.73 to 0.076"."""
    c, n = clean.metrics, default.metrics
    assert (c["peak_width"], f"{c['peak_test_loss']:.2g}", c["interpolation_width"]) == (11, "1.8", 11)
    assert c["peak_test_loss"] < n["peak_test_loss"] / 2.5
    assert f"{c['widest_test_loss']:.2f}" == "0.23"
    assert (f"{c['peak_over_widest']:.2g}", f"{n['peak_over_widest']:.2g}") == ("7.8", "10")
    assert c["peak_over_widest"] < n["peak_over_widest"]
    assert (f"{c['largest_rise']:.2g}", f"{n['largest_rise']:.2g}") == ("2.4", "5")
    assert c["largest_rise"] < n["largest_rise"] / 2
    error = _sweep(clean)["test_error"]
    assert (f"{error.iloc[0]:.2f}", f"{error.iloc[-1]:.2g}") == ("0.73", "0.076")
    assert (error.diff().dropna() < 0).sum() >= len(error) - 2  # falls at all but one step


def test_heavier_noise_raises_the_peak():
    """Page (preset): "with 40% of the labels replaced the peak rises to 8.5, still at width 11, and
    the widest net ends at 0.83"."""
    m = _run(label_noise=0.4).metrics
    assert (m["peak_width"], f"{m['peak_test_loss']:.2g}", f"{m['widest_test_loss']:.2g}") == (11, "8.5", "0.83")
    assert m["peak_over_widest"] > 5


# --- what lowers the peak -------------------------------------------------------------------------


def test_weight_decay_removes_the_peak_and_helps_the_widest(default, decayed):
    """Page: "weight decay 0.001 removes the peak: the test loss falls from 0.80 at width 2 to 0.40,
    never more than 1.1x above a narrower width's, and the widest net is better than without (0.40
    against 0.52)"."""
    m = decayed.metrics
    assert m["peak_width"] == 2  # highest at the narrowest: no peak
    assert (f"{m['peak_test_loss']:.2g}", f"{m['widest_test_loss']:.2g}", f"{m['largest_rise']:.2g}") == ("0.8", "0.4", "1.1")
    assert _sweep(decayed)["test_loss"].max() < default.metrics["peak_test_loss"] / 5
    assert m["widest_test_loss"] < default.metrics["widest_test_loss"]


def test_the_peak_grows_during_training_and_early_stopping_avoids_it(default):
    """Page: "at step 50 no width's test loss is above 0.91 and width 11 is at 0.47; from step 79 on
    width 11 only gets worse, to 5.5". And (preset, 100 steps): "stopped at step 100 the largest climb is
    1.4x (at width 91)"."""
    epochs = default.tables["epochs"]
    at50 = epochs[epochs["step"] == 50].set_index("width")["test_loss"]
    assert f"{at50.max():.2g}" == "0.91" and at50.idxmax() == 2
    assert f"{at50[11]:.2g}" == "0.47"
    curve = epochs[epochs["width"] == 11].set_index("step")["test_loss"]
    assert curve.loc[79:].is_monotonic_increasing and curve.loc[:63].is_monotonic_decreasing
    short = EXP.execute(ddd.Config(steps=100), device="cpu")
    assert short.metrics["peak_width"] == 2
    assert (f"{short.metrics['largest_rise']:.2g}", short.metrics["largest_rise_width"]) == ("1.4", 91)
    # the same networks: the short run is the default run stopped at step 100
    at100 = epochs[epochs["step"] == 100].set_index("width")
    pd.testing.assert_series_equal(_sweep(short)["test_loss"], at100["test_loss"], check_names=False, rtol=1e-6)


def test_the_widest_networks_show_epoch_wise_double_descent(default):
    """Page: "the widest nets' test loss falls to 0.40 by step 25, rises to 0.56 by step 200 and falls
    again to 0.52"."""
    epochs = default.tables["epochs"]
    curve = epochs[epochs["width"] == 256].set_index("step")["test_loss"]
    low = curve.loc[:100]
    high = curve.loc[low.idxmin():]
    assert (low.idxmin(), f"{low.min():.2g}") == (25, "0.4")
    assert (f"{high.max():.2g}", high.idxmax()) == ("0.56", 200)
    assert f"{curve.iloc[-1]:.2g}" == "0.52" and curve.iloc[-1] < high.max() - 0.03


# --- the exactly solvable analogue ----------------------------------------------------------------


def test_random_features_peak_exactly_where_the_readout_can_first_interpolate(default):
    """Page: "frozen at their initial first layer, the same networks peak exactly at w = n - 1 = 199,
    where the read-out has n K parameters: 1,700 against 0.52 at best below it; beyond, the loss
    falls back to 0.53 at width 1600"."""
    rf = default.tables["random_features"].set_index("width")
    m = default.metrics
    assert m["rf_peak_width"] == m["rf_threshold_width"] == 199
    assert rf.loc[199, "readout_params"] == m["threshold_params"]
    assert rf.loc[199, "train_error"] == 0 and rf.loc[181, "train_error"] == 0  # (w+1) >= ... fits labels
    assert f"{rf.loc[199, 'test_loss']:.2g}" == "1.7e+03"
    assert f"{rf.loc[:198, 'test_loss'].min():.2g}" == "0.52"
    assert f"{rf['test_loss'].iloc[-1]:.2g}" == "0.53" and rf.index[-1] == 1600
    assert rf.loc[199:, "test_loss"].is_monotonic_decreasing
    assert rf.loc[199, "train_loss"] < 1e-12  # square and full rank: an exact fit
    assert rf["norm"].idxmax() == 199  # the read-out's norm is largest there too


def test_the_readout_is_the_minimum_norm_least_squares_solution_and_the_ridge_its_closed_form():
    gen = torch.Generator().manual_seed(3)
    for rows, cols in ((30, 12), (30, 30), (30, 70)):
        F = torch.randn(rows, cols, generator=gen, dtype=torch.float64)
        Y = torch.randn(rows, 10, generator=gen, dtype=torch.float64)
        A = random_features.readout(F, Y, 0.0)
        torch.testing.assert_close(A, torch.linalg.pinv(F) @ Y, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(A.numpy(), np.linalg.lstsq(F.numpy(), Y.numpy(), rcond=None)[0], rtol=1e-8, atol=1e-10)
        ridge = random_features.readout(F, Y, 0.7)
        torch.testing.assert_close(ridge, torch.linalg.solve(F.T @ F + 0.7 * torch.eye(cols, dtype=F.dtype), F.T @ Y),
                                   rtol=1e-9, atol=1e-11)


def test_the_frozen_first_layer_is_the_trained_networks_initial_one():
    data = ddd.load(CHEAP)
    x, y, _, _ = data.tensors(torch.float64, "cpu")
    group = networks.build(CHEAP, x, y, [3, 8, 20], torch.device("cpu"), torch.float64)
    for i, width in enumerate(group.widths):
        for r in range(CHEAP.repeats):
            w1, b1 = random_features.first_layer(CHEAP, width, r)
            model = i * CHEAP.repeats + r
            torch.testing.assert_close(group.trainer.stack.weights[0][model][:, :width], w1, rtol=0, atol=0)
            torch.testing.assert_close(group.trainer.stack.biases[0][model][:, :width], b1, rtol=0, atol=0)


def test_a_ridge_matching_the_weight_decay_removes_the_random_feature_peak(decayed):
    rf = decayed.tables["random_features"].set_index("width")
    assert rf["test_loss"].max() < 1  # from 1,700 without
    assert decayed.metrics["rf_peak_width"] == 2


# --- cross-entropy, the generated task ------------------------------------------------------------


def test_cross_entropy_fits_labels_earlier_and_its_peak_moves_with_that():
    """Page (preset): "with cross-entropy every training label is fitted from width 8 (0.3 nK): only
    the largest output must be right. The test cross-entropy peaks at width 4 (11.7) and falls to
    1.3, and the test error falls at almost every width"."""
    result = _run(loss="cross-entropy")
    m, s = result.metrics, _sweep(result)
    assert (m["interpolation_width"], f"{m['interpolation_params'] / m['threshold_params']:.1f}") == (8, "0.3")
    assert (m["peak_width"], f"{m['peak_test_loss']:.3g}", f"{m['widest_test_loss']:.2g}") == (4, "11.7", "1.3")
    assert m["peak_width"] < m["interpolation_width"] < 11
    error = s["test_error"]
    assert (error.diff().dropna() < 0).sum() >= len(error) - 3


def test_the_generated_task_shows_the_same_shape():
    """Page (preset): "a generated task of the same shape gives the same picture: a peak of 5.1 at
    width 11 and 0.53 at width 256"."""
    m = _run(dataset="synthetic").metrics
    assert (m["peak_width"], f"{m['peak_test_loss']:.2g}", f"{m['widest_test_loss']:.2g}") == (11, "5.1", "0.53")
    assert m["peak_over_widest"] > 5


# --- the machinery --------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [{}, {"loss": "cross-entropy", "optimizer": "sgd", "lr": 0.5, "weight_decay": "0.001"}])
def test_training_every_width_in_one_stack_equals_training_each_alone(overrides):
    """float64: the widths zero-padded into one stack, and each width in a stack of its own, give
    the same tables."""
    config = dataclasses.replace(CHEAP, **overrides)
    data = ddd.load(config)
    together = ddd.train(config, data, torch.device("cpu"), dtype=torch.float64, groups=[list(config.widths)])
    alone = ddd.train(config, data, torch.device("cpu"), dtype=torch.float64, groups=[[w] for w in config.widths])
    for a, b in ((together.sweep, alone.sweep), (together.epochs, alone.epochs)):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12)
    assert together.sweep["train_loss"].iloc[-1] < together.sweep["train_loss"].iloc[0]


def test_widths_share_stacks_only_where_padding_is_cheap():
    assert ddd.groups_for(ddd.Config(), torch.device("cpu")) == [[2, 3, 4, 6, 8], [11, 16, 23], [32, 45], [64], [91],
                                                                [128], [181], [256]]
    assert ddd.groups_for(ddd.Config(), torch.device("cuda")) == [list(ddd.Config().widths)]


def test_progress_streams_every_width_and_the_random_features_from_the_first_report():
    reports = []
    EXP.execute(CHEAP, lambda f, m="", tables=None: reports.append((f, tables)), device="cpu")
    first = reports[0][1]
    assert set(first) == {"sweep", "epochs", "random_features"}
    assert list(first["sweep"]["width"]) == list(CHEAP.widths)
    assert len(first["random_features"]) == len(ddd_config.rf_widths(CHEAP))
    assert reports[0][0] == ddd.schedule(CHEAP.steps)[0] / CHEAP.steps
    for _, tables in (reports[0], reports[-1]):
        for figure in EXP.charts(Result({}, tables)):
            figure.chart.to_dict()


def test_a_diverging_run_says_where_and_keeps_its_tables():
    result = EXP.execute(dataclasses.replace(CHEAP, optimizer="sgd", lr=10.0), device="cpu")
    assert not result.status.ok
    assert str(result.status).startswith("diverged at step ") and "lr=1" in str(result.status)
    assert list(result.tables["sweep"]["width"]) == list(CHEAP.widths)
    assert EXP.charts(result)


def test_label_noise_replaces_that_fraction_and_the_test_labels_stay_true():
    from sklearn.datasets import load_digits

    config = ddd.Config(n=200, label_noise=0.2)
    data = ddd.load(config)
    y_all = load_digits().target
    assert len(data.x) + len(data.x_test) == len(y_all) == ddd_config.N_DIGITS
    assert 30 < data.changed <= 40  # 40 labels redrawn, about a tenth of them to their own class
    assert sorted(np.concatenate([data.clean, data.test_labels])) == sorted(y_all)  # a split of the true labels
    np.testing.assert_allclose(data.x.mean(0), 0, atol=1e-12)
    assert np.mean(np.sum(data.x**2, axis=1)) == pytest.approx(64)
    assert ddd.load(dataclasses.replace(config, label_noise=0.0)).changed == 0
    synthetic = ddd.load(dataclasses.replace(config, dataset="synthetic"))
    assert synthetic.x.shape == (200, 64) and synthetic.x_test.shape == (1000, 64)
    assert set(np.unique(synthetic.test_labels)) == set(range(10))


def test_epoch_widths_are_near_half_one_and_three_times_the_threshold(default):
    assert figures.epoch_widths(default.tables["sweep"]) == [11, 23, 91, 256]
    assert "widths 11, 23, 91, 256" in EXP.charts(default)[2].caption
