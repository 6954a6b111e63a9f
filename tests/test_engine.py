"""The batched engine: stacked training equals training each model alone; gradients are right."""

import pytest
import torch

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


@pytest.mark.parametrize("optimizer,lr,steps", FP32_CASES)
def test_fp32_training_tracks_fp64_where_equality_is_tested(optimizer, lr, steps):
    x, y = _task(torch.float32)
    sizes, seeds = mlp.layer_sizes(7, 16, 2), [11, 12, 13, 14, 15]
    single = _train(mlp.init_stack(sizes, seeds), x, y, optimizer, steps, lr)
    double = _train(mlp.init_stack(sizes, seeds, dtype=torch.float64), x.double(), y.double(), optimizer, steps, lr)
    torch.testing.assert_close(single.losses.double(), double.losses, rtol=1e-5, atol=0)  # seen 8e-7, 1.2e-6


def test_fused_sgd_step_equals_gradient_then_update():
    """The SGD update fused into the gradient matmul is the plain W -= lr * grad."""
    x, y = _task(torch.float64)
    for seeds in ([1], [1, 2, 3]):
        fused = mlp.init_stack(mlp.layer_sizes(7, 9, 3), seeds, dtype=torch.float64)
        plain = mlp.init_stack(mlp.layer_sizes(7, 9, 3), seeds, dtype=torch.float64)
        _train(fused, x, y, "sgd", 1, 0.1)
        out, inputs = mlp.forward(plain, x)
        torch._foreach_add_(plain.params(), mlp.backward(plain, inputs, out, y), alpha=-0.1)
        for a, b in zip(fused.params(), plain.params()):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_hand_written_backward_matches_autograd():
    x, y = _task(torch.float64)
    stack = mlp.init_stack(mlp.layer_sizes(7, 9, 3), [1, 2, 3], dtype=torch.float64)
    out, inputs = mlp.forward(stack, x)
    grads = mlp.backward(stack, inputs, out, y)
    leaves = [p.clone().requires_grad_() for p in stack.params()]
    auto = mlp.MLPStack(leaves[0::2], leaves[1::2])
    mlp.mse_per_model(mlp.predict(auto, x), y).sum().backward()
    for g, leaf in zip(grads, leaves):
        torch.testing.assert_close(g, leaf.grad, rtol=1e-10, atol=1e-12)


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


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.002)])
def test_a_zero_padded_stack_trains_exactly_like_the_narrow_one(optimizer, lr):
    x, y = _task(torch.float64)
    narrow_sizes, wide_sizes = mlp.layer_sizes(7, 5, 2), mlp.layer_sizes(7, 16, 2)
    narrow = _train(mlp.init_stack(narrow_sizes, [4], dtype=torch.float64), x, y, optimizer, 200, lr)
    padded = mlp.pad_stack(mlp.init_stack(narrow_sizes, [4], dtype=torch.float64), wide_sizes)
    together = _train(mlp.join([padded, mlp.init_stack(wide_sizes, [5], dtype=torch.float64)]), x, y, optimizer, 200, lr)
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
