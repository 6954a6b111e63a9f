"""The batched engine: stacked training equals training each model alone; gradients are right,
in every parameterization and with residual blocks; per-model learning rates are exact."""

import dataclasses
import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from core import mlp


def _task(dtype):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 7, generator=gen, dtype=dtype)
    y = torch.sin(x[:, :3].sum(1, keepdim=True))
    return x, y


def _train(stack, x, y, optimizer, steps, lr):
    t = mlp.Trainer(stack, x, y, lr=lr, optimizer=optimizer, steps=steps)
    t.advance(steps)
    return t


def _stack(kind, sizes, seeds, dtype=torch.float64):
    """A plain stack (PyTorch's init), one in a parameterization, or one with residual blocks."""
    if kind in mlp.PARAMETERIZATIONS:
        return mlp.init_parameterized(sizes, seeds, kind, dtype=dtype)
    return mlp.init_stack(sizes, seeds, dtype=dtype, residual=kind == "residual")


KINDS = ["plain", "residual", *mlp.PARAMETERIZATIONS]


# fp32 is checked where fp32 itself is accurate (the next test asserts it). SGD at lr 0.03 and
# above puts a unit of this task at its ReLU kink, and Adam past ~200 steps divides tiny
# gradients by their tiny RMS: there, fp32 rounding alone (either path against fp64) moves the
# loss by 1e-4 to 4e-3, and batched-vs-alone equality would be luck, not a property of the
# engine. fp64 checks the harder settings to 1e-9.
FP32_CASES = [("sgd", 0.02, 300), ("adam", 0.002, 150)]


@pytest.mark.parametrize("optimizer,dtype,lr,steps,rtol", [
    ("sgd", torch.float64, 0.05, 300, 1e-9), ("adam", torch.float64, 0.002, 300, 1e-9),
    *[(opt, torch.float32, lr, steps, 1e-4) for opt, lr, steps in FP32_CASES]])
def test_batched_equals_one_at_a_time(optimizer, dtype, lr, steps, rtol):
    x, y = _task(dtype)
    sizes = mlp.layer_sizes(7, 16, 2)
    seeds = [11, 12, 13, 14, 15]
    together = _train(mlp.init_stack(sizes, seeds, dtype=dtype), x, y, optimizer, steps, lr)
    for i, seed in enumerate(seeds):
        alone = _train(mlp.init_stack(sizes, [seed], dtype=dtype), x, y, optimizer, steps, lr)
        torch.testing.assert_close(together.losses[:, i], alone.losses[:, 0], rtol=rtol, atol=0)
        for a, b in zip(together.stack.select(i).params(), alone.stack.params()):
            torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("kind", ["residual", "ntk", "mup"])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.02), ("adam", 0.002)])
def test_batched_equals_one_at_a_time_in_every_kind(kind, optimizer, lr):
    x, y = _task(torch.float64)
    sizes, seeds = mlp.layer_sizes(7, 16, 3), [11, 12, 13]
    together = _train(_stack(kind, sizes, seeds), x, y, optimizer, 200, lr)
    for i, seed in enumerate(seeds):
        alone = _train(_stack(kind, sizes, [seed]), x, y, optimizer, 200, lr)
        torch.testing.assert_close(together.losses[:, i], alone.losses[:, 0], rtol=1e-9, atol=0)


@pytest.mark.parametrize("optimizer,lr,steps", FP32_CASES)
def test_fp32_training_tracks_fp64_where_equality_is_tested(optimizer, lr, steps):
    x, y = _task(torch.float32)
    sizes, seeds = mlp.layer_sizes(7, 16, 2), [11, 12, 13, 14, 15]
    single = _train(mlp.init_stack(sizes, seeds), x, y, optimizer, steps, lr)
    double = _train(mlp.init_stack(sizes, seeds, dtype=torch.float64), x.double(), y.double(), optimizer, steps, lr)
    torch.testing.assert_close(single.losses.double(), double.losses, rtol=1e-5, atol=0)  # seen 8e-7, 1.2e-6


@pytest.mark.parametrize("kind", KINDS)
def test_fused_sgd_step_equals_gradient_then_update(kind):
    """The SGD update fused into the gradient matmul is the plain W -= lr * scale * grad."""
    x, y = _task(torch.float64)
    for seeds in ([1], [1, 2, 3]):
        fused = _stack(kind, mlp.layer_sizes(7, 9, 3), seeds)
        plain = _stack(kind, mlp.layer_sizes(7, 9, 3), seeds)
        _train(fused, x, y, "sgd", 1, 0.1)
        out, saved = mlp.forward(plain, x)
        grads = mlp.backward(plain, saved, out, y)
        torch._foreach_add_(plain.params(), torch._foreach_mul(grads, [-0.1 * c for c in plain.lr_scales]))
        for a, b in zip(fused.params(), plain.params()):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_hand_written_backward_matches_autograd(kind):
    """Four hidden layers: a residual net then has three blocks (branch scale 1/sqrt(3))."""
    x, y = _task(torch.float64)
    stack = _stack(kind, mlp.layer_sizes(7, 9, 4), [1, 2, 3])
    out, saved = mlp.forward(stack, x)
    grads = mlp.backward(stack, saved, out, y)
    leaves = [p.clone().requires_grad_() for p in stack.params()]
    auto = dataclasses.replace(stack, weights=leaves[0::2], biases=leaves[1::2])
    mlp.mse_per_model(mlp.predict(auto, x), y).sum().backward()
    for g, leaf in zip(grads, leaves):
        torch.testing.assert_close(g, leaf.grad, rtol=1e-10, atol=1e-12)


def test_one_hidden_layer_residual_net_is_the_plain_net():
    x, _ = _task(torch.float64)
    plain = mlp.init_stack(mlp.layer_sizes(7, 20, 1), [5], dtype=torch.float64)
    torch.testing.assert_close(mlp.predict(dataclasses.replace(plain, residual=True), x), mlp.predict(plain, x))


class _Ops(TorchDispatchMode):
    """Records the name of every aten op run inside it."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(func.__name__)
        return func(*args, **(kwargs or {}))


def _step_ops(stack, x, y):
    view = mlp.StepView(stack, x)
    with _Ops() as ops:
        out, saved = view.forward()
        view.descend(saved, mlp.loss_gradient(out, y), [(-0.1, -0.1)] * len(stack.weights))
    return ops.names


def test_multipliers_of_one_cost_no_op():
    """A standard parameterized stack steps with exactly the plain stack's ops: 3 addmm, 2 ReLUs,
    the loss gradient's sub and mul, 2 mm, 2 ReLU backwards and 6 fused updates."""
    x, y = _task(torch.float64)
    sizes = mlp.layer_sizes(7, 9, 2)
    plain = _step_ops(_stack("plain", sizes, [1]), x, y)
    assert _step_ops(_stack("standard", sizes, [1]), x, y) == plain
    counted = [n.split(".")[0] for n in plain if n.split(".")[0] not in {"t", "transpose", "expand"}]
    assert sorted(counted) == sorted(["addmm"] * 3 + ["relu_"] * 2 + ["sub", "mul"] + ["mm"] * 2
                                     + ["threshold_backward"] * 2 + ["addmm_"] * 6)
    assert "mul_" in [n.split(".")[0] for n in _step_ops(_stack("ntk", sizes, [1]), x, y)]


def test_sgd_on_a_wide_net_reaches_a_small_loss():
    x, y = _task(torch.float64)
    t = _train(mlp.init_stack(mlp.layer_sizes(7, 256, 2), [3], dtype=torch.float64), x, y, "sgd", 2000, 0.05)
    assert float(t.losses[-1, 0]) < 0.01 * float(t.losses[0, 0])


def test_divergence_is_detected_and_stops_early():
    x, y = _task(torch.float32)
    t = mlp.Trainer(mlp.init_stack(mlp.layer_sizes(7, 256, 2), [3]), x, y, lr=5.0, optimizer="sgd", steps=500)
    mlp.train_groups([t], chunk=50)
    assert t.diverged_step is not None and t.diverged_step < 50
    assert t.log().losses.shape[0] == t.diverged_step
    assert torch.isfinite(t.log().losses).all()


def test_a_diverging_stack_stops_only_itself():
    """Before, one divergence stopped every trainer of the call, and the others' losses were those of
    a run cut short at that chunk."""
    x, y = _task(torch.float32)
    blows_up = mlp.Trainer(mlp.init_stack(mlp.layer_sizes(7, 256, 2), [3]), x, y, lr=5.0, optimizer="sgd", steps=500)
    trains = mlp.Trainer(mlp.init_stack(mlp.layer_sizes(7, 256, 2), [3]), x, y, lr=0.05, optimizer="sgd", steps=500)
    alone = mlp.Trainer(mlp.init_stack(mlp.layer_sizes(7, 256, 2), [3]), x, y, lr=0.05, optimizer="sgd", steps=500)
    mlp.train_groups([blows_up, trains], chunk=50)
    mlp.train_groups([alone], chunk=50)
    assert blows_up.diverged_step is not None and blows_up.diverged_step < 50
    assert trains.diverged_step is None and trains.done == 500
    assert torch.equal(trains.log().losses, alone.log().losses)  # as if the other had never been there


def test_masks_keep_pruned_weights_at_zero():
    x, y = _task(torch.float64)
    stack = mlp.init_stack(mlp.layer_sizes(7, 8, 1), [4], dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    stack.masks = [(torch.rand(w.shape, generator=gen, dtype=w.dtype) > 0.5).to(w.dtype) for w in stack.weights]
    torch._foreach_mul_(stack.weights, stack.masks)
    _train(stack, x, y, "adam", 50, 0.01)
    for w, m in zip(stack.weights, stack.masks):
        assert (w[m == 0] == 0).all()


def test_train_flops_counts_shapes():
    # sizes (3, 4, 1), n = 10, one step: forward 2*10*(12+4), backward 2*10*(12+4) + 2*10*4.
    assert mlp.train_flops((3, 4, 1), 10, 1) == 2 * 10 * 16 * 2 + 2 * 10 * 4
    assert mlp.count_params((3, 4, 1)) == 3 * 4 + 4 + 4 + 1


def test_seeds_are_independent_of_grouping():
    a = mlp.init_stack((3, 5, 1), [7, 8])
    b = mlp.init_stack((3, 5, 1), [8])
    torch.testing.assert_close(a.select(1).weights[0], b.weights[0], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_engine_adam_equals_torch_optim_adam(dtype):
    gen = torch.Generator().manual_seed(5)
    ours = [torch.randn(4, 3, generator=gen, dtype=dtype), torch.randn(3, generator=gen, dtype=dtype)]
    theirs = [p.clone() for p in ours]
    adam = mlp.Adam(ours, lr=0.01)
    reference = torch.optim.Adam(theirs, lr=0.01)
    for _ in range(50):
        grads = [torch.randn(p.shape, generator=gen, dtype=dtype) for p in ours]
        adam.step(grads)
        for p, g in zip(theirs, grads):
            p.grad = g.clone()
        reference.step()
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6 if dtype == torch.float32 else 1e-12, atol=1e-7)


@pytest.mark.parametrize("kind", ["plain", "residual"])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.002)])
def test_a_zero_padded_stack_trains_exactly_like_the_narrow_one(kind, optimizer, lr):
    x, y = _task(torch.float64)
    narrow_sizes, wide_sizes = mlp.layer_sizes(7, 5, 3), mlp.layer_sizes(7, 16, 3)
    narrow = _train(_stack(kind, narrow_sizes, [4]), x, y, optimizer, 200, lr)
    padded = mlp.pad_stack(_stack(kind, narrow_sizes, [4]), wide_sizes)
    together = _train(mlp.join([padded, _stack(kind, wide_sizes, [5])]), x, y, optimizer, 200, lr)
    torch.testing.assert_close(together.losses[:, 0], narrow.losses[:, 0], rtol=1e-10, atol=0)
    for wide, small in zip(together.stack.select(0).params(), narrow.stack.params()):
        rows, cols = small.shape[1:]
        torch.testing.assert_close(wide[:, :rows, :cols], small, rtol=1e-10, atol=1e-13)
        padding = wide.clone()
        padding[:, :rows, :cols] = 0
        assert float(padding.abs().max()) == 0.0  # the padded units never moved


def test_widths_are_grouped_only_while_padding_is_cheap():
    def step_flops(width):
        return mlp.train_flops(mlp.layer_sizes(20, width, 2), 100, 1)

    slack = mlp.PAD_SLACK_FLOPS["cpu"]
    assert mlp.group_widths([500, 10, 200, 50], step_flops, slack) == [[10, 50], [200], [500]]
    assert mlp.group_widths([10, 50, 200, 500], lambda w: 20 * step_flops(w), slack) == [[10], [50], [200], [500]]
    assert mlp.group_widths([10, 50, 200, 500], step_flops, mlp.PAD_SLACK_FLOPS["cuda"]) == [[10, 50, 200, 500]]


RATES = [0.01, 0.03, 0.05]


@pytest.mark.parametrize("kind", ["plain", "residual", "mup"])
def test_per_model_sgd_rates_equal_separate_runs(kind):
    """One stack with a rate per model trains each model as a run of its own at that rate."""
    x, y = _task(torch.float64)
    sizes, seeds = mlp.layer_sizes(7, 16, 2), [11, 12, 13]
    together = _train(_stack(kind, sizes, seeds), x, y, "sgd", 300, RATES)
    for i, (seed, lr) in enumerate(zip(seeds, RATES)):
        alone = _train(_stack(kind, sizes, [seed]), x, y, "sgd", 300, lr)
        torch.testing.assert_close(together.losses[:, i], alone.losses[:, 0], rtol=1e-12, atol=0)
        for a, b in zip(together.stack.select(i).params(), alone.stack.params()):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["plain", "mup"])
def test_per_model_adam_rates_are_exact(kind):
    """Each model's slices take the fused kernel at its own rate: bit for bit what the whole stack
    does at that rate. (Against one-model runs the bmm-vs-mm rounding, which Adam's division of
    tiny gradients by their tiny RMS magnifies late in training, is what test_batched_equals_one_at_a_time
    bounds.)"""
    x, y = _task(torch.float64)
    sizes, seeds, rates = mlp.layer_sizes(7, 16, 2), [11, 12, 13], [r / 10 for r in RATES]
    together = _train(_stack(kind, sizes, seeds), x, y, "adam", 300, rates)
    for i, lr in enumerate(rates):
        same = _train(_stack(kind, sizes, seeds), x, y, "adam", 300, lr)
        assert torch.equal(together.losses[:, i], same.losses[:, i])
        for a, b in zip(together.stack.params(), same.stack.params()):
            assert torch.equal(a[i], b[i])


def test_a_rate_per_model_must_match_the_stack():
    x, y = _task(torch.float64)
    with pytest.raises(ValueError, match="lr: 2 learning rates for a stack of 3 models"):
        mlp.Trainer(_stack("plain", (7, 4, 1), [1, 2, 3]), x, y, lr=[0.1, 0.2], optimizer="sgd", steps=1)


def test_he_init_draws_sqrt_two_over_fan_in_and_zero_biases():
    stack = mlp.init_stack((512, 512, 1), [3], init="he", dtype=torch.float64)
    std = float(stack.weights[0].std())
    assert abs(std / math.sqrt(2 / 512) - 1) < 0.05  # 262144 draws: about 0.3% off
    assert float(stack.weights[0].mean()) == pytest.approx(0.0, abs=1e-3)
    assert all(float(b.abs().max()) == 0.0 for b in stack.biases)
    with pytest.raises(ValueError, match="init: 'xavier'"):
        mlp.init_stack((3, 4, 1), [1], init="xavier")


def test_ntk_and_standard_parameterizations_compute_the_same_function_at_init():
    x, _ = _task(torch.float64)
    sizes = mlp.layer_sizes(7, 32, 2)
    ntk_out = mlp.predict(mlp.init_parameterized(sizes, [4], "ntk", dtype=torch.float64), x)
    standard = mlp.init_parameterized(sizes, [4], "standard", dtype=torch.float64)
    assert standard.kind() == mlp.init_stack(sizes, [4]).kind()  # multipliers and rate scales all 1
    torch.testing.assert_close(mlp.predict(standard, x), ntk_out, rtol=1e-12, atol=1e-14)


def test_stacks_of_different_kinds_are_not_joined():
    sizes = mlp.layer_sizes(7, 8, 1)
    with pytest.raises(ValueError, match="join: the stacks differ"):
        mlp.join([_stack("plain", sizes, [1]), _stack("ntk", sizes, [2])])


def test_log_gives_the_loss_before_every_step_and_after_the_last():
    x, y = _task(torch.float64)
    t = mlp.Trainer(_stack("ntk", mlp.layer_sizes(7, 16, 1), [2, 3]), x, y, lr=0.5, optimizer="sgd", steps=21)
    t.advance(20)
    log = t.log()
    assert log.losses.shape == (20, 2) and log.diverged_step is None
    t.advance(1)
    torch.testing.assert_close(log.final, t.losses[20], rtol=1e-12, atol=0)


# --- cross-entropy and weight decay ----------------------------------------------------------------


def _classes(k=4):
    """The task's inputs with one-hot labels of k classes (float64)."""
    x, _ = _task(torch.float64)
    labels = torch.randint(0, k, (x.shape[0],), generator=torch.Generator().manual_seed(1))
    return x, torch.nn.functional.one_hot(labels, k).double(), labels


def _reference_run(stack, x, y, optimizer, steps, lr, loss="mse", weight_decay=0.0):
    """The same networks as autograd leaves, stepped by torch.optim: parameters and the loss before
    every step."""
    leaves = [p.clone().requires_grad_() for p in stack.params()]
    net = dataclasses.replace(stack, weights=leaves[0::2], biases=leaves[1::2])
    opt = (torch.optim.SGD(leaves, lr=lr, weight_decay=weight_decay) if optimizer == "sgd"
           else torch.optim.Adam(leaves, lr=lr, weight_decay=weight_decay, foreach=False))
    per_model, history = mlp.LOSSES[loss][0], []
    for _ in range(steps):
        opt.zero_grad()
        value = per_model(mlp.predict(net, x), y)
        history.append(value.detach().clone())
        value.sum().backward()
        opt.step()
    return [t.detach() for t in leaves], torch.stack(history)


def test_cross_entropy_and_its_gradient_match_torch_and_autograd():
    x, y, labels = _classes()
    out = torch.randn(3, x.shape[0], 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64, requires_grad=True)
    values = mlp.cross_entropy_per_model(out, y)
    for m in range(3):
        torch.testing.assert_close(values[m], torch.nn.functional.cross_entropy(out[m], labels), rtol=1e-12, atol=0)
    values.sum().backward()
    terms = torch.empty_like(y).expand(3, -1, -1).clone()
    grad = mlp.cross_entropy_gradient(out.detach(), y, terms)
    torch.testing.assert_close(grad, out.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(mlp.LOSSES["cross-entropy"][2](terms), values.detach(), rtol=1e-12, atol=0)
    # through the hand-written backward of a stack, as for the MSE
    stack = mlp.init_stack(mlp.layer_sizes(7, 9, 2, 4), [1, 2, 3], dtype=torch.float64)
    logits, saved = mlp.forward(stack, x)
    grads = mlp.StepView(stack, x, batched=True).grads(saved, mlp.cross_entropy_gradient(logits, y))
    leaves = [p.clone().requires_grad_() for p in stack.params()]
    auto = dataclasses.replace(stack, weights=leaves[0::2], biases=leaves[1::2])
    mlp.cross_entropy_per_model(mlp.predict(auto, x), y).sum().backward()
    for g, leaf in zip(grads, leaves):
        torch.testing.assert_close(g, leaf.grad, rtol=1e-10, atol=1e-12)


DECAY_CASES = [("sgd", 0.1, "mse", 0.0), ("sgd", 0.1, "cross-entropy", 0.0), ("adam", 0.01, "cross-entropy", 0.0),
               ("sgd", 0.1, "mse", 0.05), ("sgd", 0.1, "cross-entropy", 0.05), ("adam", 0.01, "mse", 0.05),
               ("adam", 0.01, "cross-entropy", 0.05)]


@pytest.mark.parametrize("optimizer,lr,loss,weight_decay", DECAY_CASES)
@pytest.mark.parametrize("seeds", [[4], [4, 5, 6]])
def test_loss_and_weight_decay_equal_autograd_with_torch_optim(optimizer, lr, loss, weight_decay, seeds):
    """float64, 40 steps: the engine's parameters and recorded losses are torch.optim's (SGD, or
    Adam with its L2 weight decay) on autograd's gradients, for a stack of one (plain matrices)
    and of three."""
    x, y, _ = _classes()
    sizes = mlp.layer_sizes(7, 12, 2, 4)
    t = mlp.Trainer(mlp.init_stack(sizes, seeds, dtype=torch.float64), x, y, lr=lr, optimizer=optimizer, steps=40,
                    loss=loss, weight_decay=weight_decay)
    t.advance(40)
    params, history = _reference_run(mlp.init_stack(sizes, seeds, dtype=torch.float64), x, y, optimizer, 40, lr,
                                     loss, weight_decay)
    torch.testing.assert_close(t.losses, history, rtol=1e-10, atol=0)
    for a, b in zip(t.stack.params(), params):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(t.log().final, mlp.LOSSES[loss][0](mlp.predict(t.stack, x), y), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["plain", "mup"])
def test_weight_decay_with_a_rate_per_model_equals_separate_runs(kind):
    x, y = _task(torch.float64)
    sizes, seeds = mlp.layer_sizes(7, 16, 2), [11, 12, 13]
    together = mlp.Trainer(_stack(kind, sizes, seeds), x, y, lr=RATES, optimizer="sgd", steps=100, weight_decay=0.1)
    together.advance(100)
    for i, (seed, lr) in enumerate(zip(seeds, RATES)):
        alone = mlp.Trainer(_stack(kind, sizes, [seed]), x, y, lr=lr, optimizer="sgd", steps=100, weight_decay=0.1)
        alone.advance(100)
        torch.testing.assert_close(together.losses[:, i], alone.losses[:, 0], rtol=1e-12, atol=0)


def _trainer_step_ops(**kwargs):
    x, y = _task(torch.float64)
    t = mlp.Trainer(_stack("plain", mlp.layer_sizes(7, 9, 2), [1]), x, y, lr=0.1, optimizer="sgd", steps=1, **kwargs)
    with _Ops() as ops:
        t._step(t._slots[0])
    return [n.split(".")[0] for n in ops.names if n.split(".")[0] not in {"t", "transpose", "expand"}]


def test_the_defaults_add_no_op_and_sgd_weight_decay_is_folded_into_the_update():
    """A step at loss="mse", weight_decay=0 runs exactly the ops it ran before either existed; SGD's
    decay rides on the same fused updates (addmm_'s beta)."""
    before = ["addmm"] * 3 + ["relu_"] * 2 + ["sub", "mul"] + ["mm"] * 2 + ["threshold_backward"] * 2 + ["addmm_"] * 6
    assert sorted(_trainer_step_ops()) == sorted(before)
    assert _trainer_step_ops(loss="mse", weight_decay=0.0) == _trainer_step_ops()
    assert _trainer_step_ops(weight_decay=0.01) == _trainer_step_ops()
    x, y = _task(torch.float64)
    with pytest.raises(ValueError, match="loss: 'hinge'"):
        mlp.Trainer(_stack("plain", (7, 4, 1), [1]), x, y, lr=0.1, optimizer="sgd", steps=1, loss="hinge")
