"""Width vs depth: budgets are met, the residual backward is exact, deep plain nets stall with
vanishing gradients under PyTorch's init and SGD, and He init, Adam or residual ones each train
(fixed seeds, numbers seen noted beside each bound)."""

import dataclasses
import json

import pandas as pd
import pytest
import torch

from core import cli, contract, mlp
from core.experiments import width_depth as wd

EXP = wd.EXPERIMENT


def _params(budget, depth):
    return mlp.count_params(mlp.layer_sizes(wd.D, wd.width_for(budget, depth), depth))


@pytest.mark.parametrize("budget", [1_000, 5_000, 20_000, 100_000])
def test_each_depth_gets_the_width_closest_to_the_budget(budget):
    for depth in range(1, 13):
        w = wd.width_for(budget, depth)
        count = _params(budget, depth)
        neighbours = [mlp.count_params(mlp.layer_sizes(wd.D, v, depth)) for v in (w - 1, w + 1) if v >= 1]
        assert all(abs(count - budget) <= abs(other - budget) for other in neighbours)
        # the parameter count's step between neighbouring widths is about 2 (depth-1) w, so the
        # closest width is within 1/w of the budget: 7% at budget 1000, under 4% from 5000 on
        assert abs(count - budget) / budget <= (0.07 if budget == 1_000 else 0.04)


def test_one_hidden_layer_solves_the_linear_case_exactly():
    assert wd.width_for(5_000, 1) == 1_000  # P = (d + 2) w + 1 = 5 w + 1
    assert _params(5_000, 1) == 5_001


def test_residual_backward_equals_autograd():
    """Five hidden layers, so four blocks with branch scale 1/2, as the page builds them."""
    stack = mlp.init_stack(mlp.layer_sizes(4, 9, 5), [1, 2], dtype=torch.float64, residual=True)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(13, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(13, 1, generator=gen, dtype=torch.float64)
    out, saved = mlp.forward(stack, x)
    grads = mlp.backward(stack, saved, out, y)
    params = [p.clone().requires_grad_() for p in stack.params()]
    ref = dataclasses.replace(stack, weights=params[0::2], biases=params[1::2])
    mlp.mse_per_model(mlp.predict(ref, x), y).sum().backward()
    for g, p in zip(grads, params):
        torch.testing.assert_close(g, p.grad, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def runs():
    return {
        "plain": EXP.execute(wd.Config()),
        "residual": EXP.execute(wd.Config(residual=True)),
        "adam": EXP.execute(wd.Config(optimizer="adam", lr=0.001)),
        "he": EXP.execute(wd.Config(**wd.PRESETS["He init rescues the plain nets"])),
    }


def _grid(result):
    return result.tables["grid"].set_index("depth")


def test_deep_plain_nets_have_vanishing_gradients_and_stall(runs):
    plain = _grid(runs["plain"])
    baseline = runs["plain"].metrics["baseline_test_mse"]  # 0.51: predicting the mean
    assert runs["plain"].metrics["status"] == "ok"
    assert 1e-6 < plain.loc[12, "grad_ratio"] < 1e-4  # the page's "some 10⁵ times smaller": seen 1.7e-5
    assert plain.loc[12, "grad_ratio"] < plain.loc[1, "grad_ratio"] / 100  # seen 0.026 at depth 1
    for depth in (8, 12):  # seen 0.480 and 0.480: stuck at the mean
        assert plain.loc[depth, "train_loss"] > 0.85 * baseline
    assert plain.loc[1, "train_loss"] < 0.1  # seen 0.023: the same budget, shallow and wide, trains


def test_residual_connections_make_the_deep_nets_train(runs):
    plain, residual = _grid(runs["plain"]), _grid(runs["residual"])
    assert runs["residual"].metrics["status"] == "ok"
    for depth in (8, 12):
        assert residual.loc[depth, "grad_ratio"] > 1e-2  # seen 0.21, 0.057
        assert residual.loc[depth, "train_loss"] < 0.5 * plain.loc[depth, "train_loss"]  # seen 0.17 vs 0.48
        assert residual.loc[depth, "test_loss"] < 0.6 * plain.loc[depth, "test_loss"]  # seen 0.22 vs 0.51


def test_skips_keep_the_gradient_near_the_shallow_nets_and_train_to_a_third_of_the_stall(runs):
    """Page: "The gradient ratio stays within a factor of a few of the shallow nets', and the 8- and 12-layer
    nets train (here to about a third of the stalled loss; the wide one-layer net, which needs no help,
    still does best at this learning rate and step count)"."""
    plain, residual = _grid(runs["plain"]), _grid(runs["residual"])
    shallow = residual.loc[[1, 2], "grad_ratio"]  # seen 0.026, 0.11
    for depth in (8, 12):  # seen 0.21, 0.057; train loss 0.170, 0.166 against 0.480
        assert shallow.min() / 5 < residual.loc[depth, "grad_ratio"] < shallow.max() * 5
        assert 0.25 < residual.loc[depth, "train_loss"] / plain.loc[depth, "train_loss"] < 0.45
    assert residual["train_loss"].idxmin() == 1 and residual["test_loss"].idxmin() == 1  # seen 0.023, 0.045


def test_unscaled_residual_branches_diverge_the_12_layer_net(monkeypatch):
    """Page: "Each branch is scaled by a = 1/√(number of blocks) ... without it the 12-layer residual net
    diverges at the learning rate the others use" (seen at step 2)."""
    monkeypatch.setattr(mlp, "branch_scale", lambda depth: 1.0)
    result = EXP.execute(wd.Config(residual=True, depths=(12,)))
    assert result.metrics["status"].startswith("diverged at step ")


def test_adam_undoes_the_vanishing_gradient_of_plain_nets(runs):
    adam = _grid(runs["adam"])
    assert adam["train_loss"].max() < 0.05  # seen 0.004-0.007 at every depth


def test_with_every_depth_trained_depth_buys_little_test_loss(runs):
    """Page: "At this small budget the extra depth also buys little: with Adam, which trains every depth,
    the five nets' test losses lie within a third of each other" (seen 0.017-0.022)."""
    test = _grid(runs["adam"])["test_loss"]
    assert len(test) == 5 and test.max() < 4 / 3 * test.min()


def test_the_question_names_the_widths_of_the_deepest_and_shallowest_nets():
    """Question: "the 12-layer network is 21 units wide, the 1-layer one 1,000"; page: every net within
    4% of the budget at the defaults (the page formats that figure from the defaults)."""
    config = wd.Config()
    assert (wd.width_for(config.budget, 12), wd.width_for(config.budget, 1)) == (21, 1_000)
    worst = max(abs(_params(config.budget, depth) - config.budget) for depth in config.depths) / config.budget
    assert f"{worst:.0%}" == "4%"  # seen 3.8%, at depth 12


def test_he_init_rescues_the_plain_nets(runs):
    """The preset's claim: plain SGD, no skips, only the initialisation changed."""
    he, plain = _grid(runs["he"]), _grid(runs["plain"])
    baseline = runs["he"].metrics["baseline_test_mse"]  # 0.51
    assert runs["he"].metrics["status"] == "ok"
    assert he.loc[12, "grad_ratio"] > 1e-1  # seen 0.50 (PyTorch's init: 1.7e-5)
    for depth in (8, 12):  # seen 0.094 and 0.141 (PyTorch's init: 0.480, 0.480)
        assert he.loc[depth, "train_loss"] < 0.4 * baseline
        assert he.loc[depth, "train_loss"] < 0.4 * plain.loc[depth, "train_loss"]
        assert he.loc[depth, "test_loss"] < 0.6 * plain.loc[depth, "test_loss"]  # seen 0.20, 0.23 vs 0.51


def test_he_init_at_the_default_rate_diverges_the_wide_net():
    """Why the preset lowers the rate: He weights are larger, the width-1000 net blows up at lr 0.01."""
    result = EXP.execute(wd.Config(init="he", depths=(1,), steps=100))
    assert result.metrics["status"].startswith("diverged at step ")  # seen step 3


def test_caption_states_the_runs_own_numbers(runs):
    for key, word in [("plain", "stalled near the mean"), ("he", "trained"), ("adam", "trained"),
                      ("residual", "trained")]:
        result = runs[key]
        caption = wd.make_charts(result)[0].caption
        loss = _grid(result).loc[12, "train_loss"]
        assert f"train loss {loss:.3g}" in caption and word in caption, caption
        assert result.metrics["setup"] in caption
    assert "He init" in runs["he"].metrics["setup"] and "Adam" in runs["adam"].metrics["setup"]


def test_grid_table_has_the_contract_columns_and_meets_the_budget(runs):
    grid = runs["plain"].tables["grid"]
    assert list(grid.columns) == ["depth", "width", "params", "train_loss", "test_loss", "grad_ratio"]
    assert list(grid["depth"]) == [1, 2, 4, 8, 12]
    assert ((grid["params"] - 5_000).abs() / 5_000 <= 0.04).all()
    for key in contract.COST_METRICS:
        assert key in runs["plain"].metrics
    assert runs["plain"].metrics["params"] == 5_000
    assert len(wd.make_charts(runs["plain"])) == 1


def test_same_config_same_numbers():
    config = wd.Config(budget=1_000, depths=(1, 3), steps=100, n=40)
    a, b = EXP.execute(config), EXP.execute(config)
    pd.testing.assert_frame_equal(a.tables["grid"], b.tables["grid"])


def test_divergence_is_reported_with_the_rest_kept():
    """The depth-1 net blows up at lr 0.3 (seen at step 3); the depth-4 net trains all 400 steps
    regardless (train loss seen 0.020; 0.071 after 100), so its row equals that of a run without the
    depth-1 net. Before, it was cut short at the end of the first 50-step chunk."""
    result = EXP.execute(wd.Config(budget=1_000, depths=(1, 4), steps=400, n=40, lr=0.3))
    assert result.metrics["status"].startswith("diverged at step ") and "(depth 1," in result.metrics["status"]
    assert "lr=0.03" in result.metrics["status"]
    assert len(result.tables["grid"]) == 2
    alone = EXP.execute(wd.Config(budget=1_000, depths=(4,), steps=400, n=40, lr=0.3))
    assert alone.metrics["status"] == "ok" and alone.tables["grid"]["train_loss"][0] < 0.05
    pd.testing.assert_frame_equal(result.tables["grid"].iloc[[1]].reset_index(drop=True), alone.tables["grid"])


def test_progress_streams_partial_tables_the_charts_can_draw():
    seen = []

    def progress(fraction, message="", tables=None):
        seen.append(fraction)
        assert wd.make_charts(contract.Result({}, dict(tables)))

    EXP.execute(wd.Config(budget=1_000, depths=(1, 4), steps=200, n=40), progress=progress)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 4


def test_cli_json(capsys):
    args = ["run", "width-depth", "--set", "budget=1000", "depths=2,6", "steps=100", "n=40", "residual=true"]
    assert cli.main([*args, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["config"]["residual"] is True
    assert [row["depth"] for row in payload["tables"]["grid"]] == [2, 6]


@pytest.mark.parametrize("setting,fragment", [
    ("depths=13", "depths: 13 is out of range"),
    ("budget=10", "budget: 10 is out of range"),
    ("residual=maybe", "residual: 'maybe' is not valid"),
    ("optimizer=lbfgs", "optimizer: 'lbfgs' is not allowed"),
    ("init=xavier", "init: 'xavier' is not allowed"),
])
def test_cli_bad_input_exits_2(setting, fragment, capsys):
    assert cli.main(["run", "width-depth", "--set", setting]) == 2
    assert fragment in capsys.readouterr().err
