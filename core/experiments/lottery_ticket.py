"""Lottery tickets: iterative magnitude pruning with rewinding, against its two baselines.

Each round trains, removes the smallest-magnitude fraction of every layer's surviving weights and
rewinds the survivors to their initial values (or to their values at ``rewind_step``). The two
controls share the ticket's sparsity per layer: the same mask with fresh random weights, and a
random mask on the rewound weights. All repeats and all three methods of one round train as ONE
stack of models with per-model masks, so a round costs one batched run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from core import contract, mlp
from core.charts import PALETTE, log_axis, log_y
from core.contract import ConfigError, Figure, Result, param

METHODS = ("ticket", "random_reinit", "random_mask")
TEST_FRACTION = 0.3
#: Steps between test-set evaluations (for steps_to_best and the live chart).
EVAL_EVERY = 25
#: Samples in either data set (the synthetic task has the size and shape of digits, so they compare).
N_TOTAL, N_FEATURES, N_CLASSES = 1797, 64, 10
N_TEST = math.ceil(TEST_FRACTION * N_TOTAL)  # what train_test_split holds out


@dataclass(frozen=True)
class Config:
    dataset: str = param("digits", "scikit-learn's 8x8 handwritten digits (real, 1797 images) or a synthetic "
                         "10-class task of the same size (make_classification)", choices=("digits", "synthetic"),
                         label="data")
    hidden: tuple[int, ...] = param((32, 64), "hidden layer widths; used widest first (the LeNet-300-100 shape), "
                                    "each width once", lo=4, hi=500, max_len=4, label="hidden layer widths")
    rounds: int = param(6, "pruning rounds after the dense run", lo=0, hi=15, label="pruning rounds")
    prune_rate: float = param(0.4, "fraction of each layer's surviving weights removed per round "
                              "(the output layer at half this rate)", lo=0.05, hi=0.8, step=0.05,
                              label="share pruned per round")
    rewind_step: int = param(0, "rewind survivors to their weights at this step: 0 = the initial weights "
                             "(Frankle & Carbin 2019), k > 0 = late rewinding (Frankle et al. 2020)", lo=0, hi=1000,
                             label="rewind to step")
    steps: int = param(100, "full-batch training steps per round", lo=25, hi=2000, step=25,
                       label="training steps per round")
    lr: float = param(0.003, "learning rate", lo=1e-4, hi=10.0, log=True, label="learning rate")
    optimizer: str = param("adam", "Adam or full-batch gradient descent", choices=("adam", "sgd"), label="optimizer")
    repeats: int = param(2, "independent runs (initial weights, masks) per method", lo=1, hi=6, label="runs per method")
    seed: int = param(0, "random seed for the split, initialisations and random masks", lo=0, hi=2**31 - 1,
                      label="random seed")

    def check(self) -> None:
        if self.rewind_step >= self.steps:
            raise ConfigError(f"rewind_step: {self.rewind_step} must be below steps ({self.steps}); "
                              "rewinding happens inside the first training run")


@dataclass(frozen=True)
class Data:
    x: torch.Tensor
    y: torch.Tensor  # one-hot targets [n, classes]
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_data(config: Config, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Data:
    """A stratified, seeded train/test split, standardized with the training set's statistics only."""
    state = mlp.derive_seed(config.seed, "split") % 2**32
    if config.dataset == "digits":
        x, labels = load_digits(return_X_y=True)
    else:
        x, labels = make_classification(n_samples=N_TOTAL, n_features=N_FEATURES, n_informative=16, n_redundant=8,
                                        n_classes=N_CLASSES, n_clusters_per_class=1, class_sep=1.5, random_state=state)
    x_tr, x_te, l_tr, l_te = train_test_split(x, labels, test_size=TEST_FRACTION, stratify=labels, random_state=state)
    scaler = StandardScaler().fit(x_tr)
    parts = (scaler.transform(x_tr), np.eye(N_CLASSES)[l_tr], scaler.transform(x_te), np.eye(N_CLASSES)[l_te])
    return Data(*(torch.as_tensor(a, dtype=dtype, device=device) for a in parts))


def layer_sizes(config: Config) -> tuple[int, ...]:
    return (N_FEATURES, *sorted(config.hidden, reverse=True), N_CLASSES)


def layer_rates(sizes: Sequence[int], rate: float) -> list[float]:
    """Every layer at ``rate`` except the output layer, at half of it (Frankle & Carbin)."""
    return [rate] * (len(sizes) - 2) + [rate / 2]


def schedule(sizes: Sequence[int], rate: float, rounds: int) -> list[list[int]]:
    """Surviving weights per layer after each round: c -> c - floor(p c).

    The number removed is rounded down (the survivors up), so a layer never empties. ``round(., 9)``
    keeps a product like 0.29 * 100 = 28.999999999999996 from losing a weight to float error.
    """
    counts = [i * o for i, o in itertools.pairwise(sizes)]
    out = [counts]
    for _ in range(rounds):
        counts = [c - math.floor(round(p * c, 9)) for c, p in zip(counts, layer_rates(sizes, rate))]
        out.append(counts)
    return out


def _topk_mask(scores: torch.Tensor, keep: int) -> torch.Tensor:
    """1 at each model's ``keep`` highest scores, 0 elsewhere; scores are [M, fan_in, fan_out]."""
    flat = scores.flatten(1)
    mask = torch.zeros_like(flat)
    mask.scatter_(1, flat.topk(keep, dim=1).indices, 1.0)
    return mask.view_as(scores)


def magnitude_prune(weights: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], keep: Sequence[int]) -> list[torch.Tensor]:
    """Per model and layer, keep the ``keep[l]`` largest |w| among the surviving weights.

    Pruned weights score -1, below any magnitude, so a removed weight never returns.
    """
    return [_topk_mask(torch.where(m > 0, w.abs(), -1.0), k) for w, m, k in zip(weights, masks, keep)]


def random_masks(sizes: Sequence[int], keep: Sequence[int], seeds: Sequence[int], *,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """One uniformly random mask per seed with exactly ``keep[l]`` survivors in layer l, drawn on the CPU
    so a seed gives the same mask on every device."""
    masks = []
    for layer, ((fan_in, fan_out), k) in enumerate(zip(itertools.pairwise(sizes), keep)):
        scores = torch.stack([torch.rand(fan_in, fan_out, generator=torch.Generator().manual_seed(
            mlp.derive_seed(s, "mask", layer)), dtype=torch.float64) for s in seeds])
        masks.append(_topk_mask(scores, k).to(device=device, dtype=dtype))
    return masks


@dataclass
class RoundLog:
    """One round's training: the trainer (stack and losses), test losses every EVAL_EVERY steps,
    and the weights at the rewind step when asked for."""

    trainer: mlp.Trainer
    eval_steps: list[int]
    test_losses: list[torch.Tensor]
    rewind: mlp.MLPStack | None = None


def train(stack: mlp.MLPStack, data: Data, *, lr: float, optimizer: str, steps: int,
          snapshot_at: int | None = None, on_chunk: Callable[[int], None] | None = None) -> RoundLog:
    """Train a (masked) stack full-batch on the MSE to one-hot targets, in place.

    The test loss is recorded every EVAL_EVERY steps (for steps_to_best); it never steers training.
    With ``snapshot_at``, the weights at that step are copied: the rewind point of the next rounds.
    """
    if stack.masks:
        torch._foreach_mul_(stack.weights, stack.masks)
    trainer = mlp.Trainer(stack, data.x, data.y, lr=lr, optimizer=optimizer, steps=steps)
    log = RoundLog(trainer, [], [])
    stops = sorted({*range(EVAL_EVERY, steps, EVAL_EVERY), steps} | ({snapshot_at} if snapshot_at else set()))
    if snapshot_at == 0:
        log.rewind = _copy(stack)
    for stop in stops:
        trainer.advance(stop - trainer.done)
        if trainer.diverged_step is not None:
            return log
        if stop == snapshot_at:
            log.rewind = _copy(stack)
        if stop % EVAL_EVERY == 0 or stop == steps:
            log.eval_steps.append(stop)
            log.test_losses.append(_mse(stack, data.x_test, data.y_test))
        if on_chunk is not None:
            on_chunk(trainer.done)
    return log


def _copy(stack: mlp.MLPStack) -> mlp.MLPStack:
    return mlp.MLPStack([w.clone() for w in stack.weights], [b.clone() for b in stack.biases])


def _mse(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return mlp.mse_per_model(mlp.predict(stack, x), y).cpu()


def _accuracy(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return (mlp.predict(stack, x).argmax(2) == y.argmax(1)).double().mean(1).cpu()


def round_stack(rewind: mlp.MLPStack, ticket_masks: list[torch.Tensor], sizes: Sequence[int], keep: Sequence[int],
                config: Config, rnd: int) -> mlp.MLPStack:
    """The three methods of one round, stacked [ticket x R, random_reinit x R, random_mask x R]:
    the ticket's mask on the rewound weights, the same mask on fresh weights, and a random mask of
    the same per-layer sparsity on the rewound weights."""
    repeats = range(config.repeats)
    dtype, device = rewind.weights[0].dtype, rewind.weights[0].device
    fresh = mlp.init_stack(sizes, [mlp.derive_seed(config.seed, "reinit", rnd, r) for r in repeats], dtype=dtype, device=device)
    chance = random_masks(sizes, keep, [mlp.derive_seed(config.seed, "random_mask", rnd, r) for r in repeats],
                          dtype=dtype, device=device)
    return mlp.MLPStack(
        [torch.cat([w, f, w]) for w, f in zip(rewind.weights, fresh.weights)],
        [torch.cat([b, f, b]) for b, f in zip(rewind.biases, fresh.biases)],
        [torch.cat([m, m, c]) for m, c in zip(ticket_masks, chance)],
    )


def flops(config: Config) -> float:
    """Training (dense bmm: masked weights still cost) plus the periodic test evaluations."""
    sizes = layer_sizes(config)
    n_train = N_TOTAL - N_TEST
    models_steps = config.repeats * (config.steps + 3 * config.rounds * (config.steps - config.rewind_step))
    evals = config.repeats * (1 + 3 * config.rounds) * (config.steps // EVAL_EVERY + 2)
    forward = 2 * sum(i * o for i, o in itertools.pairwise(sizes))
    return mlp.train_flops(sizes, n_train, 1) * models_steps + forward * N_TEST * evals


def size(config: Config) -> tuple[int, int]:
    return mlp.count_params(layer_sizes(config)), N_TOTAL - N_TEST


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """Dense run (round 0), then per round: prune the ticket, rewind, train all methods as one stack."""
    data = load_data(config, device=dev)
    sizes = layer_sizes(config)
    plan = schedule(sizes, config.prune_rate, config.rounds)
    r, k = config.repeats, config.rewind_step
    total = r * config.steps + 3 * r * config.rounds * (config.steps - k)
    rows: list[dict] = []
    done = [0]

    def report(rnd: int, models: int) -> Callable[[int], None]:
        def step(steps_done: int) -> None:
            if progress is not None:
                tables = {"sparsity": _table(rows)} if rows else None
                progress((done[0] + models * steps_done) / total, f"round {rnd} of {config.rounds}, step {steps_done}", tables)
        return step

    dense = mlp.init_stack(sizes, [mlp.derive_seed(config.seed, "init", i) for i in range(r)], device=dev)
    log = train(dense, data, lr=config.lr, optimizer=config.optimizer, steps=config.steps, snapshot_at=k,
                on_chunk=report(0, r))
    status = _status(log, 0, config)
    if status.ok:
        rows += [{"round": 0, "method": m, **rec} for m in METHODS for rec in _measure(log, data)]
    done[0] += r * config.steps
    rewind, masks = log.rewind, [torch.ones_like(w) for w in dense.weights]
    for rnd in range(1, config.rounds + 1):
        if not status.ok:
            break
        masks = magnitude_prune([w[:r] for w in log.trainer.stack.weights], masks, plan[rnd])
        stack = round_stack(rewind, masks, sizes, plan[rnd], config, rnd)
        log = train(stack, data, lr=config.lr, optimizer=config.optimizer, steps=config.steps - k, on_chunk=report(rnd, 3 * r))
        status = _status(log, rnd, config)
        if status.ok:
            rows += [{"round": rnd, "method": METHODS[i // r], **rec} for i, rec in enumerate(_measure(log, data))]
        done[0] += 3 * r * (config.steps - k)
    table = _table(rows)
    return Result(_last_round(table), {"sparsity": table}, status)


def _status(log: RoundLog, rnd: int, config: Config) -> contract.Status:
    t = log.trainer
    if t.diverged_step is None:
        return contract.OK
    method = "dense" if rnd == 0 else METHODS[t.diverged_model // config.repeats]
    return contract.warning(f"diverged in round {rnd} at step {t.diverged_step} ({method}): the loss blew up; rounds before it are "
            f"shown; try a smaller learning rate, e.g. lr={config.lr / 10:g}")


def _measure(log: RoundLog, data: Data) -> list[dict]:
    """Per model: fraction of weights left, final test accuracy and train loss, and the step (in
    this round) at which the test loss was lowest."""
    stack = log.trainer.stack
    total = sum(w[0].numel() for w in stack.weights)
    kept = sum(m.flatten(1).sum(1) for m in stack.masks).cpu() if stack.masks else torch.full((stack.size,), float(total))
    accuracy = _accuracy(stack, data.x_test, data.y_test)
    train_loss = _mse(stack, data.x, data.y)
    best = torch.stack(log.test_losses).argmin(0)
    return [{"remaining": float(kept[i]) / total, "test_accuracy": float(accuracy[i]), "train_loss": float(train_loss[i]),
             "steps_to_best": log.eval_steps[int(best[i])]} for i in range(stack.size)]


COLUMNS = ["round", "remaining", "method", "test_accuracy", "train_loss", "steps_to_best"]


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def _last_round(table: pd.DataFrame) -> dict:
    """Means over repeats in the last completed round, and the dense accuracy to compare them with."""
    if table.empty:
        return {}
    means = table.groupby(["round", "method"])[["remaining", "test_accuracy", "steps_to_best"]].mean()
    last = int(table["round"].max())
    out = {"rounds_done": last, "remaining": round(float(means.loc[(last, "ticket"), "remaining"]), 5),
           "dense_accuracy": round(float(means.loc[(0, "ticket"), "test_accuracy"]), 4)}
    for m in METHODS:
        out[f"{m}_accuracy"] = round(float(means.loc[(last, m), "test_accuracy"]), 4)
        out[f"{m}_steps_to_best"] = float(means.loc[(last, m), "steps_to_best"])
    return out


METHOD_WORDS = {"ticket": "ticket: pruned mask, rewound weights", "random_reinit": "same mask, random re-init",
                "random_mask": "random mask, rewound weights"}
#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "rounds_done": "pruning rounds done",
    "remaining": "fraction of weights remaining",
    "dense_accuracy": "test accuracy of the dense network",
    **{f"{m}_accuracy": f"test accuracy, {words}" for m, words in METHOD_WORDS.items()},
    **{f"{m}_steps_to_best": f"step of the lowest test loss, {words}" for m, words in METHOD_WORDS.items()},
    "round": "pruning round",
    "method": "method",
    "test_accuracy": "test accuracy",
    "train_loss": "final training loss",
    "steps_to_best": "step of the lowest test loss",
}
WIDTH = 640  # both panels, so their x axes line up
COLORS = {"ticket": PALETTE.blue, "random_reinit": PALETTE.orange, "random_mask": PALETTE.grey}


def make_charts(result: Result) -> list[Figure]:
    """One figure (the page offers one CSV per table): accuracy on top, training loss below."""
    table = result.tables["sparsity"]
    if table.empty:
        return []
    # one-panel hconcats: the page stretches a plain chart to the container, which would overflow a vconcat
    chart = alt.hconcat(_accuracy_chart(table))
    caption = ("Top: test accuracy, mean over repeats (line) and their range (band), against the fraction of "
               "weights left (log scale; sparser to the right); dashed: the dense network.")
    if table["round"].max() > 0:
        chart = alt.vconcat(chart, alt.hconcat(_loss_chart(table)))
        caption += (" Bottom: final training loss (MSE to one-hot targets) after the same number of steps: the ticket "
                    "trains fastest. The CSV also has the step of the lowest test loss (steps_to_best, checked every "
                    f"{EVAL_EVERY} steps); at these budgets it is mostly the last step, i.e. still improving.")
    return [Figure("Test accuracy as the network is pruned", chart, "sparsity", caption)]


def _by_method(table: pd.DataFrame, value: str) -> pd.DataFrame:
    agg = table.groupby(["round", "method"], as_index=False).agg(
        remaining=("remaining", "mean"), mean=(value, "mean"), lo=(value, "min"), hi=(value, "max"))
    agg["label"] = agg["method"].map(METHOD_WORDS)
    return agg


def _color() -> alt.Color:
    # the legend draws each method as its line, at full strength, not as the pale band under it
    return alt.Color("label:N", title=None,
                     scale=alt.Scale(domain=[METHOD_WORDS[m] for m in METHODS], range=[COLORS[m] for m in METHODS]),
                     legend=alt.Legend(orient="top", direction="vertical", labelLimit=0, symbolType="stroke",
                                       symbolOpacity=1, symbolStrokeWidth=3))


def _x() -> alt.X:
    """Percentages read the same at every decade ("10%", "1%"), so the log axis keeps one format."""
    return log_axis("remaining", "fraction of weights remaining (log scale)", fmt="~%", reverse=True, nice=False)


def _tooltip(value: str) -> list[alt.Tooltip]:
    return [alt.Tooltip("round:Q", title=LABELS["round"]), alt.Tooltip("label:N", title=LABELS["method"]),
            alt.Tooltip("remaining:Q", title=LABELS["remaining"], format=".2%"),
            alt.Tooltip("mean:Q", title=f"{value}, mean of the runs", format=".3g")]


def _accuracy_chart(table: pd.DataFrame) -> alt.LayerChart:
    agg = _by_method(table, "test_accuracy")
    base = alt.Chart(agg).encode(x=_x(), color=_color())
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lo:Q", title="test accuracy", scale=alt.Scale(zero=False)), y2="hi:Q")
    line = base.mark_line(point=True).encode(
        y="mean:Q",
        tooltip=[*_tooltip("test accuracy"), alt.Tooltip("lo:Q", title="lowest run", format=".3f"),
                 alt.Tooltip("hi:Q", title="highest run", format=".3f")])
    dense = float(table.loc[table["round"] == 0, "test_accuracy"].mean())
    # named in a legend: a label on the chart sat on the curves, which all start at the dense accuracy
    reference = pd.DataFrame({"y": [dense], "text": [f"dense network {dense:.3f}"]})
    rule = alt.Chart(reference).mark_rule(color=PALETTE.ink).encode(
        y="y:Q", strokeDash=alt.StrokeDash("text:N", title=None, scale=alt.Scale(range=[[6, 4]]),
                                           legend=alt.Legend(orient="bottom", labelLimit=0, symbolStrokeWidth=2)))
    return alt.layer(band, line, rule).resolve_scale(strokeDash="independent").properties(width=WIDTH, height=320)


def _loss_chart(table: pd.DataFrame) -> alt.Chart:
    loss = _by_method(table, "train_loss")
    return alt.Chart(loss).mark_line(point=True).encode(
        x=_x(), y=log_y("mean", "final training loss", values=loss["mean"]), color=_color(),
        tooltip=_tooltip("final training loss"),
    ).properties(width=WIDTH, height=200)


#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "Fast schedule: 40% a round": {},
    "Frankle & Carbin's schedule: 20% a round, 15 rounds": {"prune_rate": 0.2, "rounds": 15, "steps": 200},
    "Plain gradient descent": {"optimizer": "sgd", "lr": 2.0, "steps": 200},
    "Synthetic task: pruning helps a net that overfits": {"dataset": "synthetic"},
}

EXPERIMENT = contract.Experiment(
    name="lottery-ticket",
    title="Lottery tickets",
    claim="Pruned to a tenth of its weights and reset to its initial values, a subnetwork still trains to full accuracy.",
    icon=":material/content_cut:",
    order=80,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
