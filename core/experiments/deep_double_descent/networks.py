"""Every width trains in the engine: widths whose zero padding adds few FLOPs share one stack
(mlp.group_widths), every network is evaluated on the training and test sets at the steps of
``schedule``, and each evaluation is streamed as a partial result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch

from core import contract, mlp
from core.experiments.deep_double_descent.config import Config, init_seed, params, schedule, sizes, threshold, weight_decay
from core.experiments.deep_double_descent.data import Data

SWEEP_COLUMNS = ["width", "params", "p_over_nk", "train_error", "test_error", "train_loss", "test_loss"]
EPOCH_COLUMNS = ["step", "width", "test_loss", "test_error"]


@dataclass
class Group:
    """Widths trained as one (zero-padded) stack: ``repeats`` models per width, in order."""

    widths: list[int]
    trainer: mlp.Trainer


@dataclass
class Training:
    """What ``train`` leaves: the sweep at the last evaluation, the test curves of every width at
    every evaluation, and where a divergence stopped the run."""

    sweep: pd.DataFrame
    epochs: pd.DataFrame
    step: int
    computed: int  # steps computed: past ``step`` when a divergence stopped the run inside a chunk
    diverged: tuple[int, int] | None = None  # (step, width)
    groups: list[Group] = field(default_factory=list)


def groups_for(config: Config, dev: torch.device) -> list[list[int]]:
    """Widths sharing a stack: padding may add PAD_SLACK_FLOPS a step (everything on CUDA)."""
    return mlp.group_widths(config.widths, lambda w: config.repeats * mlp.train_flops(sizes(w), config.n, 1),
                            mlp.PAD_SLACK_FLOPS.get(dev.type, 0.0))


def build(config: Config, x: torch.Tensor, y: torch.Tensor, widths: Sequence[int], dev: torch.device,
          dtype: torch.dtype) -> Group:
    """One stack holding ``repeats`` networks of every width in ``widths``, each drawn from its own
    seed (so grouping never changes a network), padded to the widest."""
    padded = sizes(max(widths))
    stack = mlp.join([mlp.pad_stack(mlp.init_stack(sizes(w), [init_seed(config, w, r) for r in range(config.repeats)],
                                                   dtype=dtype, device=dev), padded) for w in widths])
    trainer = mlp.Trainer(stack, x, y, lr=config.lr, optimizer=config.optimizer, steps=config.steps,
                          loss=config.loss, weight_decay=weight_decay(config))
    return Group(list(widths), trainer)


def losses_per_sample(config: Config, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each model's loss per sample, [M]: the squared error summed over the K outputs (K times the
    engine's mean over entries), or the cross-entropy."""
    if config.loss == "mse":
        return (out - y).square().sum(-1).mean(-1)
    return mlp.cross_entropy_per_model(out, y)


def measure(config: Config, group: Group, x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Error and loss per sample of every model of the group on (x, y), each [widths, repeats]."""
    with torch.no_grad():
        out = mlp.predict(group.trainer.stack, x)
        error = (out.argmax(-1) != labels).to(out.dtype).mean(-1)
        loss = losses_per_sample(config, out, y)
    shape = (len(group.widths), config.repeats)
    return error.view(shape).double().cpu(), loss.view(shape).double().cpu()


def train(config: Config, data: Data, dev: torch.device, *, dtype: torch.dtype = torch.float32,
          groups: Sequence[Sequence[int]] | None = None,
          report: Callable[[float, str, pd.DataFrame, pd.DataFrame], None] | None = None) -> Training:
    """Train every width for ``config.steps`` steps, evaluating at every step of ``schedule``.

    ``groups`` overrides the grouping (the tests train every width alone and all in one stack);
    ``report(fraction, message, sweep, epochs)`` sees every evaluation.
    """
    x, y, x_test, y_test = data.tensors(dtype, dev)
    labels = torch.as_tensor(data.labels, device=dev)
    test_labels = torch.as_tensor(data.test_labels, device=dev)
    built = [build(config, x, y, g, dev, dtype) for g in (groups or groups_for(config, dev))]
    epochs: list[pd.DataFrame] = []
    sweep = pd.DataFrame(columns=SWEEP_COLUMNS)
    step, target, diverged = 0, 0, None
    for target in schedule(config.steps):
        for g in built:
            g.trainer.advance(target - g.trainer.done)
        bad = [g for g in built if g.trainer.diverged_step is not None]
        step = min(g.trainer.done for g in built)
        sweep = _sweep(config, built, x, y, labels, x_test, y_test, test_labels)
        epochs.append(sweep[["width", "test_loss", "test_error"]].assign(step=step)[EPOCH_COLUMNS])
        if bad:
            t = bad[0].trainer
            diverged = (t.diverged_step, bad[0].widths[t.diverged_model // config.repeats])
            break
        if report is not None:
            report(step / config.steps, f"step {step} of {config.steps}", sweep, pd.concat(epochs, ignore_index=True))
    return Training(sweep, pd.concat(epochs, ignore_index=True), step, target, diverged, built)


def _sweep(config: Config, built: Sequence[Group], x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor,
           x_test: torch.Tensor, y_test: torch.Tensor, test_labels: torch.Tensor) -> pd.DataFrame:
    """One row per width, the means over its repeats, at the networks' current weights."""
    rows = []
    for g in built:
        train_error, train_loss = measure(config, g, x, y, labels)
        test_error, test_loss = measure(config, g, x_test, y_test, test_labels)
        for i, width in enumerate(g.widths):
            p = params(width)
            rows.append([width, p, p / threshold(config), float(train_error[i].mean()), float(test_error[i].mean()),
                         float(train_loss[i].mean()), float(test_loss[i].mean())])
    table = pd.DataFrame(rows, columns=SWEEP_COLUMNS).sort_values("width", ignore_index=True)
    return table.astype({"width": int, "params": int})


def status(config: Config, training: Training) -> contract.Status:
    if training.diverged is None:
        return contract.OK
    step, width = training.diverged
    return contract.warning(f"diverged at step {step} (width {width}): the loss blew up, and the tables hold every "
                            f"width at that step; try a smaller learning rate, e.g. lr={config.lr / 10:g}")
