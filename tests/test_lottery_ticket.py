"""Lottery tickets: the pruning schedule is exact, tickets beat re-initialization at ~10% of the
weights, and the batched round equals its models trained alone."""

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from core import cli, contract, mlp
from core.experiments import lottery_ticket as lt

EXP = lt.EXPERIMENT
#: The page's defaults: 40% a round, six rounds (round 5 leaves ~9% of the weights), two repeats.
SCIENCE = lt.Config()


@pytest.fixture(scope="module")
def science():
    return EXP.execute(SCIENCE)


def expected_remaining(sizes, rate, rounds):
    """The stated rule in exact rational arithmetic: per layer c -> c - floor(p c), output layer at p/2."""
    p = Fraction(str(rate))
    counts = [i * o for i, o in itertools.pairwise(sizes)]
    rates = [p] * (len(counts) - 1) + [p / 2]
    total = sum(counts)
    out = [Fraction(1)]
    for _ in range(rounds):
        counts = [c - math.floor(q * c) for c, q in zip(counts, rates)]
        out.append(Fraction(sum(counts), total))
    return [float(f) for f in out]


def test_remaining_follows_the_schedule_exactly_for_every_method():
    config = lt.Config(hidden=(24, 16), rounds=7, prune_rate=0.35, steps=25, repeats=2)
    table = EXP.execute(config).tables["sparsity"]
    want = expected_remaining(lt.layer_sizes(config), 0.35, 7)
    assert len(table) == (1 + 7) * 3 * 2
    for (rnd, _method), got in table.groupby(["round", "method"])["remaining"]:
        assert list(got) == [want[rnd]] * 2  # measured from the masks, exact to the float


def test_magnitude_prune_keeps_the_largest_survivors_and_never_revives():
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(4, 30, 20, generator=gen, dtype=torch.float64)
    mask = (torch.rand(4, 30, 20, generator=gen) < 0.5).double()
    keep = 123
    new = lt.magnitude_prune([w], [mask], [keep])[0]
    assert new.flatten(1).sum(1).tolist() == [keep] * 4
    assert bool((new <= mask).all())  # a pruned weight never comes back
    for i in range(4):
        kept = w[i].abs()[new[i] > 0]
        dropped = w[i].abs()[(mask[i] > 0) & (new[i] == 0)]
        assert kept.min() >= dropped.max()


def test_random_masks_have_the_exact_counts_and_differ_by_seed():
    sizes = (64, 40, 10)
    a, b = lt.random_masks(sizes, [1000, 77], [1, 2]), lt.random_masks(sizes, [1000, 77], [1, 2])
    assert [m.flatten(1).sum(1).tolist() for m in a] == [[1000, 1000], [77, 77]]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0][0], a[0][1])


def test_tickets_hold_dense_accuracy_where_reinitialization_fails(science):
    table = science.tables["sparsity"]
    acc = table.groupby(["round", "method"])["test_accuracy"].mean().unstack()  # mean over repeats
    remaining = table.groupby("round")["remaining"].mean()
    assert remaining[4] == pytest.approx(0.144, abs=0.005) and remaining[5] == pytest.approx(0.091, abs=0.005)
    dense = acc.loc[0, "ticket"]
    assert f"{dense:.1%}" == "97.8%"  # the page's "the dense network's 97.8%"
    # "down to about 14% ... within about a point" (seen -0.012), "at 9% within three" (seen -0.028) ...
    assert acc.loc[4, "ticket"] > dense - 0.015
    assert acc.loc[5, "ticket"] > dense - 0.03
    # ... while at ~9% the same mask with fresh weights is 5+ points below the ticket (seen 0.081; 0.068 to
    # 0.157 over seeds 0-3), and the random mask too (seen 0.172)
    assert acc.loc[5, "ticket"] - acc.loc[5, "random_reinit"] > 0.05
    assert acc.loc[5, "ticket"] - acc.loc[5, "random_mask"] > 0.05
    # "the same mask with fresh random weights has lost about ten points and a random mask of the same
    # sparsity about twenty" (below the dense network; seen 0.108 and 0.200)
    assert 0.07 < dense - acc.loc[5, "random_reinit"] < 0.14
    assert 0.15 < dense - acc.loc[5, "random_mask"] < 0.25
    assert science.metrics["ticket_accuracy"] == pytest.approx(acc.loc[6, "ticket"], abs=1e-4)


def test_tickets_train_to_a_lower_loss(science):
    """Page: "after the same number of steps its training loss is two to three times lower"; caption:
    "the ticket trains fastest"."""
    loss = science.tables["sparsity"].groupby(["round", "method"])["train_loss"].mean().unstack()
    pruned = loss.loc[loss.index >= 1]
    assert bool((pruned["ticket"] < pruned["random_reinit"]).all())
    assert bool((pruned["ticket"] < pruned["random_mask"]).all())
    # from 23% down to 9% of the weights (rounds 3-5): seen 2.2-2.5x the re-initialized, 2.5-3.0x the random mask
    for method in ("random_reinit", "random_mask"):
        ratio = loss.loc[3:5, method] / loss.loc[3:5, "ticket"]
        assert ratio.between(2.0, 3.2).all(), (method, ratio.tolist())


def _mean_accuracy(result):
    table = result.tables["sparsity"]
    acc = table.groupby(["round", "method"])["test_accuracy"].mean().unstack()
    return acc.set_index(table.groupby("round")["remaining"].mean())


def _gap(result):
    """Ticket minus the same mask re-initialized, in accuracy, indexed by the fraction of weights left."""
    acc = _mean_accuracy(result)
    return acc["ticket"] - acc["random_reinit"]


def test_the_reinitialized_nets_are_still_improving_when_training_stops(science):
    """Page: "the re-initialized sparse nets are still improving when training stops"; caption: "at these
    budgets [the step of the lowest test loss] is mostly the last step"."""
    table = science.tables["sparsity"]
    pruned = table[table["round"] >= 1]
    assert (pruned.loc[pruned["method"] == "random_reinit", "steps_to_best"] == SCIENCE.steps).all()
    assert (table["steps_to_best"] == SCIENCE.steps).mean() > 0.5


def test_plain_gradient_descent_makes_the_gap_far_larger(science):
    """Page: "with plain gradient descent the gap is far larger, see the preset" (at 14% and 9% of the
    weights: seen 13.7 and 23.9 points against 3.4 and 8.1)."""
    sgd = EXP.execute(contract.make_config(lt.Config, lt.PRESETS["Plain gradient descent"]))
    assert sgd.metrics["status"] == "ok"
    default, plain = _gap(science), _gap(sgd)
    assert list(plain.index) == list(default.index)  # the same schedule: the same fractions left
    for left in default.index[4:6]:
        assert plain[left] > 2 * default[left] > 0.05


def test_frankle_and_carbins_schedule_keeps_the_gap_small_down_to_about_7_percent(science):
    """Page: "with Frankle & Carbin's slower schedule and twice the steps it is smaller, under six points
    down to 7% of the weights, before it opens up too" (seen 2.1-5.7 points from 15% to 6.6% of the
    weights, where the default schedule's gap is 3.3-20 at the same fractions; 34 points at 5.4%)."""
    slow = EXP.execute(contract.make_config(lt.Config, lt.PRESETS["Frankle & Carbin's schedule: 20% a round, 15 rounds"]))
    assert slow.metrics["status"] == "ok"
    default, gap = _gap(science), _gap(slow)
    held = gap[(gap.index <= 0.15) & (gap.index >= 0.065)]
    assert len(held) == 5 and (held < 0.06).all()
    # the default schedule's gap at the same fraction left, interpolated on the log of the fraction
    at = np.interp(np.log(held.index), np.log(default.index[::-1]), default.to_numpy()[::-1])
    assert (held.to_numpy() < at).all()
    assert gap[gap.index < 0.065].iloc[0] > 0.2


def test_rewinding_to_step_25_gives_the_same_tickets(science):
    """Page: "This two-layer network does not need it: rewinding to step 25 gives the same tickets"
    (seen within 0.9 points of the rewound-to-init ticket at every round)."""
    late = EXP.execute(lt.Config(rewind_step=25))
    a, b = _mean_accuracy(science)["ticket"], _mean_accuracy(late)["ticket"]
    assert list(a.index) == list(b.index)
    assert ((a - b).abs() < 0.01).all()


def test_on_the_synthetic_task_pruning_raises_the_tickets_accuracy():
    """Page: "On the synthetic task the dense network overfits (80% test accuracy), and moderate pruning
    even *raises* the ticket's accuracy" (seen 79.8% dense, 86.0% at 23% of the weights)."""
    result = EXP.execute(contract.make_config(lt.Config, lt.PRESETS["Synthetic task: pruning helps a net that overfits"]))
    table = result.tables["sparsity"]
    dense = table[table["round"] == 0]
    assert f"{dense['test_accuracy'].mean():.0%}" == "80%"
    assert dense["train_loss"].mean() < 0.02  # it fits its training set (seen 0.012)
    ticket = _mean_accuracy(result)["ticket"]
    assert ticket.iloc[2:5].max() > ticket.iloc[0] + 0.04


def test_one_model_of_the_batched_round_equals_training_it_alone():
    config = lt.Config(hidden=(20, 12), repeats=2, rewind_step=5, steps=40, optimizer="adam", lr=0.01)
    data = lt.load_data(config, dtype=torch.float64)
    sizes = lt.layer_sizes(config)
    dense = mlp.init_stack(sizes, [11, 12], dtype=torch.float64)
    keep = lt.schedule(sizes, 0.5, 2)[2]
    masks = lt.magnitude_prune(dense.weights, [torch.ones_like(w) for w in dense.weights], keep)
    stack = lt.round_stack(dense, masks, sizes, keep, config, rnd=2)
    assert stack.size == 6
    alone = [stack.select(i) for i in range(stack.size)]
    batched = lt.train(stack, data, lr=config.lr, optimizer=config.optimizer, steps=35)
    for i, single in enumerate(alone):
        log = lt.train(single, data, lr=config.lr, optimizer=config.optimizer, steps=35)
        for got, want in zip(batched.trainer.stack.params(), single.params()):
            torch.testing.assert_close(got[i : i + 1], want, rtol=0, atol=1e-12)
        torch.testing.assert_close(batched.trainer.losses[:, i], log.trainer.losses[:, 0], rtol=0, atol=1e-12)


def test_same_config_same_numbers():
    config = lt.Config(hidden=(16,), rounds=2, steps=50, repeats=2, seed=5)
    a, b = EXP.execute(config), EXP.execute(config)
    assert a.tables["sparsity"].equals(b.tables["sparsity"])


def test_late_rewinding_trains_the_remaining_steps():
    config = lt.Config(hidden=(16,), rounds=1, steps=50, rewind_step=25, repeats=1)
    table = EXP.execute(config).tables["sparsity"]
    assert table.loc[table["round"] == 0, "steps_to_best"].max() <= 50
    assert table.loc[table["round"] == 1, "steps_to_best"].max() <= 25  # rounds >= 1 train steps - rewind_step


def test_divergence_is_reported_with_a_smaller_rate():
    result = EXP.execute(lt.Config(hidden=(16,), rounds=2, steps=50, optimizer="sgd", lr=10.0, repeats=1))
    assert result.metrics["status"].startswith("diverged in round 0 at step ")
    assert "lr=1" in result.metrics["status"]
    assert result.tables["sparsity"].empty
    assert lt.make_charts(result) == []


def test_progress_streams_partial_tables():
    seen = []
    EXP.execute(lt.Config(hidden=(16,), rounds=2, steps=50, repeats=1),
                progress=lambda f, m="", t=None: seen.append((f, None if t is None else len(t["sparsity"]))))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert seen[0][1] is None and seen[-1][1] == 2 * 3  # rounds 0 and 1 drawn while round 2 trains
    partial = lt.make_charts(contract.Result({}, {"sparsity": lt._table([
        {"round": 0, "remaining": 1.0, "method": m, "test_accuracy": 0.9, "train_loss": 0.1, "steps_to_best": 50}
        for m in lt.METHODS])}))
    assert len(partial) == 1


def test_cli_runs_and_prints_the_contract_table(capsys):
    code = cli.main(["run", "lottery-ticket", "--set", "hidden=16", "rounds=1", "steps=25", "repeats=1", "--format", "json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    rows = payload["tables"]["sparsity"]
    assert list(rows[0]) == ["round", "remaining", "method", "test_accuracy", "train_loss", "steps_to_best"]
    assert {r["method"] for r in rows} == set(lt.METHODS) and len(rows) == 6
    assert payload["metrics"]["params"] == 64 * 16 + 16 + 16 * 10 + 10
    assert {"dense_accuracy", "ticket_accuracy", "random_reinit_accuracy", "random_mask_accuracy", "remaining"} <= set(payload["metrics"])


@pytest.mark.parametrize("args,fragment", [
    (["rewind_step=100", "steps=100"], "rewind_step: 100 must be below steps (100)"),
    (["rounds=16"], "rounds: 16 is out of range"),
    (["hidden=0"], "hidden: 0 is out of range"),
    (["dataset=mnist"], "dataset: 'mnist' is not allowed; allowed: one of digits, synthetic"),
])
def test_cli_bad_input_exits_2_naming_the_parameter(capsys, args, fragment):
    assert cli.main(["run", "lottery-ticket", "--set", *args]) == 2
    assert fragment in capsys.readouterr().err


def test_flops_counts_every_round_and_the_full_protocol_fits_the_budget():
    base = lt.Config(hidden=(100, 50), rounds=5, steps=100, repeats=2)
    one = lt.flops(lt.Config(hidden=(100, 50), rounds=0, steps=100, repeats=2))
    assert lt.flops(base) == pytest.approx(16 * one, rel=0.01)  # 2 dense + 5 rounds x 3 methods x 2 repeats
    assert EXP.check_budget(lt.Config(prune_rate=0.2, rounds=15, steps=200)) < contract.FLOP_BUDGET
