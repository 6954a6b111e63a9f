"""Mode connectivity: the seed's barrier is real, weight matching undoes permutations exactly and
shrinks the barrier, and the trained Bezier curve has almost none."""

import json

import numpy as np
import pytest
import torch

from core import cli, contract, mlp, rebasin
from core.contract import Result
from core.experiments import mode_connectivity as mc

EXP = mc.EXPERIMENT
CPU = torch.device("cpu")
SMALL = {"width": 32, "sweep_widths": (8, 32), "steps": 300, "curve_steps": 50, "points": 7}


@pytest.fixture(scope="module")
def seed_result():
    return EXP.execute(mc.Config(), device="cpu")


@pytest.fixture(scope="module")
def trained_pair():
    config = mc.Config(width=48, depth=3, steps=300, sweep_widths=(48,))
    x, y, _, _ = mc.task(config, CPU)
    trainer = mc.train_pairs(config, x, y, lambda f, m: None)[48]
    return config, x, y, mc.unstack(trainer.stack, 0), mc.unstack(trainer.stack, 1)


def test_weight_matching_recovers_a_known_permutation_exactly(trained_pair):
    _, x, y, a, _ = trained_pair
    rng = np.random.default_rng(0)
    perms = [rng.permutation(48) for _ in range(3)]
    w, b = rebasin.permute(a[0::2], a[1::2], perms)
    shuffled = [t for pair in zip(w, b) for t in pair]
    # the permuted net is the same function, but far away in weight space...
    ends = mc.losses_along([a, shuffled], torch.eye(2), x, y)
    assert float(ends[1]) == pytest.approx(float(ends[0]), rel=1e-4, abs=1e-9)
    t = torch.linspace(0, 1, 11)
    assert mc.barrier(mc.losses_along([a, shuffled], mc.line(t), x, y), t) > 0.05
    # ...and matching puts every unit back: identical weights, so the barrier is 0 up to float rounding
    recovered = mc.align(a, shuffled)
    assert all(torch.equal(p, q) for p, q in zip(a, recovered))
    assert mc.barrier(mc.losses_along([a, recovered], mc.line(t), x, y), t) < 1e-9


def test_weight_matching_keeps_the_function(trained_pair):
    _, x, _, a, b = trained_pair
    aligned = mc.align(a, b)
    out = mlp.predict(mc.blend([b, aligned], torch.eye(2)), x)
    torch.testing.assert_close(out[1], out[0], rtol=1e-5, atol=1e-5)
    assert not torch.equal(aligned[0], b[0])  # it did reorder units


def test_batched_path_equals_each_model_alone(trained_pair):
    _, x, y, a, b = trained_pair
    t = torch.tensor([0.0, 0.3, 0.5, 1.0])
    batched = mc.losses_along([a, b], mc.line(t), x, y)
    for i, s in enumerate(t):
        alone = mlp.MLPStack([((1 - s) * p + s * q)[None] for p, q in zip(a[0::2], b[0::2])],
                             [((1 - s) * p + s * q)[None] for p, q in zip(a[1::2], b[1::2])])
        # fp32: at the ends the loss (~1e-6) is a difference of outputs ~1, so its relative error is
        # ~1e-4 whatever the grouping; 1e-10 absolute is still 1e4 times below the barrier's scale
        assert float(batched[i]) == pytest.approx(float(mlp.mse_per_model(mlp.predict(alone, x), y)[0]), rel=1e-5, abs=1e-10)


def test_seed_setting_has_a_barrier_that_alignment_shrinks_and_the_curve_removes(seed_result):
    m = seed_result.metrics
    assert m["status"] == "ok"
    path = seed_result.tables["path"]
    ends = path[path["t"].isin([0.0, 1.0])]
    assert (ends["train_loss"] < 1e-5).all()  # both nets fit the 50 points (seed's stopping rule 1e-6)
    assert max(m["end_loss_a"], m["end_loss_b"]) == ends["train_loss"].max()
    # the seed's script prints 0.49 at the midpoint; ours (different init draws) saw 0.52
    assert 0.4 < m["barrier_linear"] < 0.65
    # weight matching removes a large part of it (saw 0.29 of 0.52)...
    assert m["barrier_aligned"] < 0.7 * m["barrier_linear"]
    # ...and the trained curve nearly all of it (saw ~1e-4)
    assert m["barrier_curve"] < 1e-3 < 0.01 * m["barrier_aligned"]


def test_barrier_metrics_match_the_path_table(seed_result):
    path = seed_result.tables["path"]
    assert list(path.columns) == ["t", "method", "train_loss", "test_loss"]
    assert set(path["method"]) == {"linear", "aligned", "curve"}
    for method, rows in path.groupby("method"):
        rows = rows.sort_values("t")
        t, loss = rows["t"].to_numpy(), rows["train_loss"].to_numpy()
        chord = (1 - t) * loss[0] + t * loss[-1]
        assert seed_result.metrics[f"barrier_{method}"] == pytest.approx((loss - chord).max(), rel=1e-6)
    # the aligned B is the same function as B: same end losses, train and test
    by = path[path["t"] == 1.0].set_index("method")
    assert by.loc["aligned", "test_loss"] == pytest.approx(by.loc["linear", "test_loss"], rel=1e-4)


def test_seed_setting_tables(seed_result):
    sweep = seed_result.tables["barrier_vs_width"]
    assert list(sweep.columns) == ["width", "barrier_linear", "barrier_aligned"]
    assert list(sweep["width"]) == [16, 64, 200]
    # the sweep reuses the main pair at width 200
    row = sweep.set_index("width").loc[200]
    assert row["barrier_linear"] == seed_result.metrics["barrier_linear"]
    assert (sweep["barrier_aligned"] < sweep["barrier_linear"]).all()
    assert len(seed_result.tables["plane"]) == mc.GRID**2
    assert seed_result.metrics["params"] == 42_601  # the seed's count: 10*200+200 + 200*200+200 + 200+1


def test_with_pytorch_init_alignment_works_better_for_wider_nets():
    result = EXP.execute(mc.Config(init="pytorch", width=128, sweep_widths=(16, 128), curve=False), device="cpu")
    sweep = result.tables["barrier_vs_width"].set_index("width")
    # saw aligned 0.15 at width 16 and 0.05 at width 128, with the plain barrier ~0.4 at both
    assert sweep.loc[128, "barrier_aligned"] < 0.7 * sweep.loc[16, "barrier_aligned"]
    assert sweep.loc[128, "barrier_aligned"] < 0.25 * sweep.loc[128, "barrier_linear"]
    assert "curve" not in set(result.tables["path"]["method"]) and "plane" not in result.tables
    assert np.isnan(result.metrics["barrier_curve"])


def test_same_config_same_numbers_and_progress_ends_at_one():
    seen = []
    config = mc.Config(**SMALL)
    a = EXP.execute(config, progress=lambda f, m="", t=None: seen.append(f), device="cpu")
    b = EXP.execute(config, device="cpu")
    assert a.tables["path"].equals(b.tables["path"]) and a.tables["plane"].equals(b.tables["plane"])
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_alignment_off_leaves_nan_not_a_made_up_number():
    result = EXP.execute(mc.Config(**SMALL, align=False, curve=False), device="cpu")
    assert set(result.tables["path"]["method"]) == {"linear"}
    assert result.tables["barrier_vs_width"]["barrier_aligned"].isna().all()
    assert np.isnan(result.metrics["barrier_aligned"])
    assert [f.table for f in EXP.charts(result)] == ["path", "barrier_vs_width"]


def test_divergence_is_a_status_not_a_crash():
    result = EXP.execute(mc.Config(**{**SMALL, "sweep_widths": (32,)}, lr=1.0), device="cpu")
    status = result.metrics["status"]
    assert status.startswith("net ") and "width 32 diverged at step" in status and "lr=0.1" in status
    assert result.tables["path"].empty and np.isnan(result.metrics["barrier_linear"])
    EXP.charts(result)


def test_charts_cope_with_partial_results(seed_result):
    assert EXP.charts(Result({}, {})) == []
    assert [f.table for f in EXP.charts(seed_result)] == ["path", "barrier_vs_width", "plane"]
    assert "Barriers of the training loss: straight 0.5" in EXP.charts(seed_result)[0].caption


def test_cli_json(capsys):
    code = cli.main(["run", "mode-connectivity", "--set", "width=16", "sweep_widths=8,16", "steps=200",
                     "curve_steps=50", "points=5", "--format", "json", "--device", "cpu"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["experiment"] == "mode-connectivity"
    assert len(payload["tables"]["path"]) == 3 * 5
    assert [r["width"] for r in payload["tables"]["barrier_vs_width"]] == [8, 16]
    assert {"barrier_linear", "barrier_aligned", "barrier_curve", "flops", "wall_s"} <= set(payload["metrics"])


@pytest.mark.parametrize("setting,fragment", [
    ("points=2", "points: 2 is out of range; allowed: an integer from 3 to 101"),
    ("init=xavier", "init: 'xavier' is not allowed; allowed: one of normal, pytorch"),
    ("sweep_widths=0,10", "sweep_widths: 0 is out of range"),
    ("align=maybe", "align: 'maybe' is not valid; allowed: true or false"),
])
def test_cli_bad_input_exits_2(capsys, setting, fragment):
    assert cli.main(["run", "mode-connectivity", "--set", setting]) == 2
    assert fragment in capsys.readouterr().err


def test_over_budget_is_refused_with_the_estimate():
    config = contract.make_config(mc.Config, {"width": "1000", "depth": "4", "n": "1000", "steps": "10000"})
    with pytest.raises(contract.BudgetError, match=r"training FLOPs, over the limit of 2e\+12"):
        EXP.execute(config)


def test_cost_row_counts_the_steps_actually_taken(seed_result):
    # the seed's stopping rule ends training after ~150 of the 5000 allowed steps; the budget check
    # assumes all 5000, the reported FLOPs count what ran
    assert seed_result.metrics["train_steps"] < 1000
    assert seed_result.metrics["flops"] < 0.2 * EXP.flops(mc.Config())
