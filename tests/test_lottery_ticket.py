"""Lottery tickets: the pruning schedule is exact, tickets beat re-initialization at ~10% of the
weights, and the batched round equals its models trained alone."""

import itertools
import json
import math
from fractions import Fraction

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
    assert dense > 0.97  # seen 0.978
    # at ~14% the ticket is still within 2 points of dense (seen -0.012), at ~9% within 4 (seen -0.028) ...
    assert acc.loc[4, "ticket"] > dense - 0.02
    assert acc.loc[5, "ticket"] > dense - 0.04
    # ... while at ~9% the same mask with fresh weights is 5+ points below the ticket (seen 0.081; 0.068 to
    # 0.157 over seeds 0-3), and the random mask too (seen 0.172)
    assert acc.loc[5, "ticket"] - acc.loc[5, "random_reinit"] > 0.05
    assert acc.loc[5, "ticket"] - acc.loc[5, "random_mask"] > 0.05
    assert science.metrics["ticket_accuracy"] == pytest.approx(acc.loc[6, "ticket"], abs=1e-4)


def test_tickets_train_to_a_lower_loss(science):
    loss = science.tables["sparsity"].groupby(["round", "method"])["train_loss"].mean().unstack()
    sparse = loss.loc[loss.index >= 3]
    assert bool((sparse["ticket"] < sparse["random_reinit"]).all())
    assert bool((sparse["ticket"] < sparse["random_mask"]).all())


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
