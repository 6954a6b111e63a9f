"""The optimization experiment reproduces the seed's result and reports its faults plainly; each
claim the page makes at its defaults or presets has a test here that fails if the effect is gone."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from core import cli, contract, mlp, ntk
from core.data import regression_task
from core.experiments import optimization

EXP = optimization.EXPERIMENT


@pytest.fixture(scope="module")
def seed_result():
    return EXP.execute(optimization.Config())


@pytest.fixture(scope="module")
def tuned():
    """Preset "Fair step sizes: each width at its best rate"."""
    return EXP.execute(optimization.Config(lr_mode="tuned"))


def _steps(result):
    return result.tables["summary"].set_index("width")["converged_step"]


def test_seed_defaults_widest_net_is_lowest_and_first(seed_result):
    s = seed_result.tables["summary"].set_index("width")
    assert seed_result.metrics["status"] == "ok"
    assert s["final_loss"].idxmin() == 500
    assert s.loc[500, "final_loss"] < 1e-3 < s.loc[10, "final_loss"]
    crossed = s["converged_step"].dropna()
    assert crossed.idxmin() == 500
    # the ordering is monotone: wider is faster, as the seed reports
    assert list(crossed.sort_values().index) == sorted(crossed.index, reverse=True)


def test_seed_defaults_wide_nets_do_not_overfit_catastrophically(seed_result):
    """Page: "The wide networks drive the training loss far below the noise floor ... at the
    defaults [the test loss] falls as the width grows"."""
    s = seed_result.tables["summary"].set_index("width")
    assert s.loc[500, "final_loss"] < 1e-3 * seed_result.metrics["noise_floor"]  # measured 6.8e-7 vs 0.01
    assert s["test_loss"].is_monotonic_decreasing  # measured 0.977/0.898/0.818/0.774
    caption = EXP.charts(seed_result)[1].caption
    assert "The test loss falls as the width grows." in caption


def test_seed_defaults_every_width_is_worse_than_predicting_the_mean(seed_result):
    """Page: "every width's test loss is worse than always predicting the mean (the caption gives
    the numbers)"; the caption's numbers are the run's."""
    s, base = seed_result.tables["summary"], seed_result.metrics["baseline_test_mse"]
    assert (s["test_loss"] > base).all()  # measured 0.77-0.98 vs 0.63
    caption = EXP.charts(seed_result)[1].caption
    span = f"({s['test_loss'].min():.2g}-{s['test_loss'].max():.2g})"
    assert f"Here every width's test loss {span} is worse than predicting the mean ({base:.2g})" in caption
    assert span == "(0.77-0.98)" and f"{base:.2g}" == "0.63"


def test_seed_defaults_caption_lists_the_steps_and_the_ratio(seed_result):
    steps = _steps(seed_result)
    assert list(steps) == [1747, 1016, 541, 311]  # the page's "1,747 vs 311 steps"
    assert seed_result.metrics["steps_ratio"] == pytest.approx(1747 / 311)
    caption = EXP.charts(seed_result)[1].caption
    assert ("Steps to the threshold for widths 10/50/200/500, all at learning rate 0.01: 1747/1016/541/311 "
            "(narrowest/widest 5.6x)") in caption
    assert "Here wider nets end lower" in EXP.charts(seed_result)[0].caption


def test_a_fixed_rate_is_a_larger_step_for_a_wider_net():
    """Page: "the tangent kernel grows with the width: at the default initial weights its mean
    diagonal is about 3 at width 10 and 30 at width 500 ... the wide net takes a ten times larger
    step"."""
    config = optimization.Config()
    x = regression_task(config.n, config.d, config.noise, mlp.derive_seed(config.seed, "data"))[0].float()
    diagonal = {}
    for width in config.widths:
        stack = optimization._init(config, width, torch.device("cpu"))
        diagonal[width] = float(ntk.empirical_ntk(stack, x)[0].diagonal().mean())
    assert list(diagonal.values()) == sorted(diagonal.values())  # measured 3.2, 4.0, 13.3, 30.7
    assert 2.5 < diagonal[10] < 3.5 and 25 < diagonal[500] < 35
    assert 7 < diagonal[500] / diagonal[10] < 14


def test_tuned_rates_shrink_the_gap_but_do_not_remove_it(seed_result, tuned):
    """Page: "the ratio of steps to the threshold, narrowest over widest, falls from 5.6x at learning rate 0.01
    (1,747 vs 311 steps) to 3.2x (131 vs 41), and past width 200 the tuned steps hardly change (45 vs
    41). Wider still trains faster at a fair step size, by about half the factor a fixed rate shows.
    Widths 10-200 keep the grid's top rate, 0.3"."""
    m = tuned.metrics
    assert m["status"] == "ok"
    steps, kept = _steps(tuned), tuned.tables["summary"].set_index("width")["lr"]
    assert list(steps) == [131, 56, 45, 41]
    assert list(kept) == [0.3, 0.3, 0.3, 0.1]
    assert (f"{m['steps_ratio']:.2g}", f"{m['steps_ratio_at_lr']:.2g}") == ("3.2", "5.6")
    assert 0.4 < m["steps_ratio"] / m["steps_ratio_at_lr"] < 0.7
    assert m["steps_ratio"] > 2  # the effect remains
    assert steps[200] / steps[500] < 1.15
    caption = EXP.charts(tuned)[1].caption
    assert ("Steps to the threshold for widths 10/50/200/500, each at its best rate (learning rate 0.3/0.3/0.3/0.1): "
            "131/56/45/41 (narrowest/widest 3.2x); all at learning rate 0.01: 1747/1016/541/311 (5.6x).") in caption
    assert "Widths 10, 50, 200 kept the grid's largest rate (0.3); a larger one might be faster still." in caption


def test_the_tuned_grid_holds_the_fixed_run_and_every_width_rate_pair(seed_result, tuned):
    grid = tuned.tables["grid"]
    assert list(grid.columns) == ["width", "lr", "mean_converged_step", "final_loss", "diverged_by_step", "chosen"]
    assert len(grid) == 4 * 5 and sorted(grid["lr"].unique()) == [0.003, 0.01, 0.03, 0.1, 0.3]
    at_lr = grid[grid["lr"] == 0.01].set_index("width")["mean_converged_step"]
    assert list(at_lr) == list(_steps(seed_result))  # the same models, the same steps
    assert grid.groupby("width")["chosen"].sum().eq(1).all()
    # the kept rate is the grid's fastest for each width
    fastest = grid.dropna(subset=["mean_converged_step"]).sort_values("mean_converged_step").groupby("width").first()["lr"]
    assert list(fastest) == list(tuned.tables["summary"]["lr"])
    assert [f.table for f in EXP.charts(tuned)] == ["curves", "summary", "grid"]
    for figure in EXP.charts(tuned):
        figure.chart.to_dict()


def test_a_rate_above_the_grid_is_slower_for_the_widths_that_kept_its_top():
    """Page: "Widths 10-200 keep the grid's top rate, 0.3; 0.5 is slower for each of them"."""
    result = EXP.execute(optimization.Config(widths=(10, 50, 200), lr=0.5, steps=400))
    steps = _steps(result)
    assert list(steps) == [292, 73, 85]
    assert (steps > pd.Series({10: 131, 50: 56, 200: 45})).all()  # the tuned run's steps at 0.3


def test_tuned_flops_count_the_grid_and_stay_under_the_budget():
    fixed, tuned_config = optimization.Config(), optimization.Config(lr_mode="tuned")
    assert EXP.flops(tuned_config) == 5 * EXP.flops(fixed)
    assert EXP.check_budget(tuned_config) == pytest.approx(1.82096e12)  # under 2e12
    assert EXP.flops(optimization.Config(lr_mode="tuned", widths=(10, 50), steps=300)) == 5 * EXP.flops(
        optimization.Config(widths=(10, 50), steps=300))


def test_tuned_mode_strikes_a_diverging_rate_and_keeps_the_others_exact():
    """lr 0.1: the grid reaches 1 and 3, where wide nets diverge; those (width, rate) pairs are struck,
    their group trains again without them, and the other models' curves are what they would have been."""
    config = optimization.Config(widths=(10, 200), lr=0.1, steps=300, lr_mode="tuned")
    result = EXP.execute(config)
    grid = result.tables["grid"].set_index(["width", "lr"])
    assert result.metrics["status"] == "ok"
    assert grid.loc[(200, 3.0), "diverged_by_step"] <= 50 and grid.loc[(200, 1.0), "diverged_by_step"] <= 50
    assert not grid.loc[(200, 3.0), "chosen"]
    alone = EXP.execute(optimization.Config(widths=(200,), lr=0.3, steps=300))
    assert grid.loc[(200, 0.3), "mean_converged_step"] == alone.tables["summary"]["converged_step"].iloc[0]
    assert result.metrics["flops"] == result.flops
    assert 0 < result.flops < EXP.flops(config)  # the struck rates stopped early


def test_two_input_dimensions_every_width_beats_the_mean():
    """Preset "Two input dimensions: every width beats the mean"; page: "every width beats the mean by
    far, and the two widest end within a factor of two of the noise floor"."""
    result = EXP.execute(optimization.Config(d=2))
    s, m = result.tables["summary"].set_index("width"), result.metrics
    assert m["status"] == "ok"
    assert (s["test_loss"] < 0.1 * m["baseline_test_mse"]).all()  # measured 0.017-0.039 vs 0.50
    assert (s.loc[[200, 500], "test_loss"] < 2 * m["noise_floor"]).all()  # measured 0.0173, 0.0173 vs 0.01
    assert "Here every width beats predicting the mean: test loss 0.017-0.039 against 0.5" in EXP.charts(result)[1].caption
    assert EXP.check_budget(optimization.Config(d=2)) < EXP.flops(optimization.Config())


def test_adam_preset_ratio():
    """Page: "Adam has its own step-size effect: at learning rate 0.001 (preset) the ratio is 13x"."""
    result = EXP.execute(optimization.Config(optimizer="adam", lr=0.001))
    assert f"{result.metrics['steps_ratio']:.2g}" == "13"  # measured 248 vs 19 steps


def test_too_large_a_rate_preset_diverges_within_a_few_steps():
    """Preset "Too large a learning rate (diverges)"; page: "at 1 the wide nets diverge within a
    few steps"."""
    result = EXP.execute(optimization.Config(lr=1.0))
    status = result.metrics["status"]
    assert status.startswith("diverged at step ") and int(status.split()[3]) <= 10
    s = result.tables["summary"].set_index("width")
    assert (s.loc[[200, 500], "final_loss"] > 100).all()  # from about 0.6 at the start
    assert "no finite test loss, the weights blew up" in EXP.charts(result)[1].caption


def test_cli_runs_tuned_mode(capsys):
    assert cli.main(["run", "optimization", "--set", "lr_mode=tuned", "widths=10,50", "steps=300", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["config"]["lr_mode"] == "tuned"
    assert [row["lr"] for row in payload["tables"]["summary"]] == [0.3, 0.3]
    assert len(payload["tables"]["grid"]) == 10
    assert np.isfinite(payload["metrics"]["steps_ratio"])


def test_tables_have_the_contract_columns(seed_result):
    assert list(seed_result.tables["curves"].columns) == ["width", "params", "repeat", "step", "loss"]
    assert list(seed_result.tables["summary"].columns) == ["width", "params", "p_over_n", "lr", "repeat", "final_loss",
                                                           "test_loss", "converged_step"]
    assert (seed_result.tables["summary"]["lr"] == 0.01).all()
    assert len(seed_result.tables["curves"]) == 4 * 2000
    assert seed_result.metrics["params"] == 261_501  # the seed's count for width 500
    assert seed_result.metrics["p_over_n"] == pytest.approx(2615.01)


def test_same_config_same_numbers():
    config = optimization.Config(widths=(20, 40), steps=200, repeats=2)
    a, b = EXP.execute(config), EXP.execute(config)
    assert a.tables["curves"]["loss"].equals(b.tables["curves"]["loss"])


def test_divergence_names_the_step_and_suggests_a_smaller_rate():
    result = EXP.execute(optimization.Config(widths=(500,), lr=1.0, steps=300))
    status = result.metrics["status"]
    assert status.startswith("diverged at step ")
    assert "lr=0.1" in status
    assert len(result.tables["curves"]) < 300


def test_widths_that_do_not_diverge_train_every_step_beside_those_that_do():
    """At lr 1 widths 200 and 500 blow up within five steps (seen 5 and 4); the status names both,
    and widths 10 and 50 train all 500 steps, exactly as without the wide nets. Before, the first
    divergence stopped every width at the end of that 50-step chunk."""
    result = EXP.execute(optimization.Config(lr=1.0, steps=500))
    status = result.metrics["status"]
    assert status.startswith("diverged at step ") and "width 200" in status and "width 500" in status
    curves = result.tables["curves"]
    assert curves.groupby("width")["step"].count().to_dict() == {10: 500, 50: 500, 200: 5, 500: 4}
    narrow = EXP.execute(optimization.Config(lr=1.0, steps=500, widths=(10, 50)))
    assert narrow.metrics["status"] == "ok"
    mine = result.tables["summary"].query("width < 200").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, narrow.tables["summary"])


def test_progress_streams_partial_curves():
    seen = []
    EXP.execute(optimization.Config(widths=(10, 50), steps=300),
                progress=lambda f, m="", t=None: seen.append((f, len(t["curves"]))))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[0][1] < seen[-1][1] == 600


@pytest.mark.parametrize("raw,fragment", [
    ({"widths": "0,10"}, "widths: 0 is out of range"),
    ({"depth": "7"}, "depth: 7 is out of range; allowed: an integer from 1 to 6"),
    ({"lr": "inf"}, "lr: 'inf' is not valid"),
    ({"optimizer": "rmsprop"}, "optimizer: 'rmsprop' is not allowed; allowed: one of sgd, adam"),
    ({"n": "2.5"}, "n: '2.5' is not valid"),
    ({"momentum": "0.9"}, "momentum: unknown parameter"),
    ({"lr_mode": "best"}, "lr_mode: 'best' is not allowed; allowed: one of fixed, tuned"),
])
def test_bad_input_names_the_parameter(raw, fragment):
    with pytest.raises(contract.ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        contract.make_config(optimization.Config, raw)


def test_over_budget_is_refused_with_the_estimate():
    config = contract.make_config(optimization.Config, {"widths": "2000", "depth": "6", "n": "2000", "steps": "5000"})
    with pytest.raises(contract.BudgetError, match=r"about 1\.2e\+15 training FLOPs, over the limit of 2e\+12"):
        EXP.execute(config)


def test_p_over_n_in_summary_and_a_note_when_no_width_crossed():
    result = EXP.execute(optimization.Config(widths=(10, 50), steps=100, threshold=1e-4))
    summary = result.tables["summary"]
    assert summary["converged_step"].isna().all()
    assert list(summary["p_over_n"]) == pytest.approx([p / 100 for p in summary["params"]])
    spec = EXP.charts(result)[1].chart.to_dict()
    assert spec["hconcat"][1]["mark"]["type"] == "text"
    assert "No width reached the threshold" in str(spec["datasets"])


def test_padding_small_widths_together_changes_nothing(monkeypatch):
    config = optimization.Config(widths=(5, 10, 50), steps=300, repeats=2)
    grouped = EXP.execute(config).tables["curves"]
    monkeypatch.setattr(optimization.mlp, "PAD_SLACK_FLOPS", {"cpu": 0.0})
    alone = EXP.execute(config).tables["curves"]
    assert grouped[["width", "repeat", "step"]].equals(alone[["width", "repeat", "step"]])
    assert grouped["loss"].to_numpy() == pytest.approx(alone["loss"].to_numpy(), rel=1e-4)


def test_a_width_that_diverges_at_every_rate_is_named_in_the_status():
    config = optimization.Config(widths=(1000,), n=20, lr=1.0, lr_mode="tuned", steps=100)
    result = EXP.execute(config)
    assert result.metrics["status"] == ("width 1000 diverged at every rate of the grid (0.3, 1, 3, 10, 30); "
                                        "try a smaller lr, e.g. lr=0.1")
    assert result.tables["grid"]["diverged_by_step"].notna().all() and result.tables["summary"].empty
    assert 0 < result.flops < EXP.flops(config)
    assert [f.table for f in EXP.charts(result)] == ["curves", "grid"]
    for figure in EXP.charts(result):
        figure.chart.to_dict()
