"""Costs and scaling: how the best model size grows with compute (Kaplan 2020, Hoffmann 2022), how
counting inference moves it, and what a training step costs on the machine running this page.

Both fitted laws share one form, L(N, D) = E + (k_N N^-a + k_D D^-b)^p, so one optimiser and one
closed form serve both, and the closed form is drawn beside what the optimiser finds.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar

from core import contract, mlp
from core.contract import ConfigError, Figure, Result, param
from core.device import describe, pick_device

#: Chinchilla itself (Hoffmann et al. 2022): 70e9 parameters trained on 1.4e12 tokens.
CHINCHILLA_N, CHINCHILLA_D = 70e9, 1.4e12
#: Kaplan et al. 2020, eq. 1.5 and Table 5: alpha_N, N_c (non-embedding parameters), alpha_D, D_c (tokens).
KAPLAN_ALPHA_N, KAPLAN_N_C, KAPLAN_ALPHA_D, KAPLAN_D_C = 0.076, 8.8e13, 0.095, 5.4e13
#: The allocation exponent Kaplan et al. quote (N_opt ~ C^0.73), from their loss-vs-steps fits, not eq. 1.5.
KAPLAN_QUOTED_EXPONENT = 0.73
#: Published models, for scale on the frontier chart: (name, parameters, training tokens).
REFERENCE_MODELS = (
    ("GPT-3", 175e9, 300e9),
    ("Chinchilla", CHINCHILLA_N, CHINCHILLA_D),
    ("Llama 2 7B", 7e9, 2e12),
    ("Llama 3 8B", 8e9, 15e12),
)
#: Decades of compute spanned by the frontier table (the compute slider's range).
FRONTIER_LOG10 = np.arange(18.0, 26.001, 0.25)
#: Offsets, in decades, of the fixed-compute curves around the chosen budget.
ISOFLOP_OFFSETS = (-2, -1, 0, 1, 2)

# The timed MLPs: the app's own engine (core.mlp), full-batch SGD, one warm-up step, then the median
# over REPEATS of the mean step time over STEPS_PER_REPEAT steps.
D_IN, DEPTH, WARMUP, REPEATS, STEPS_PER_REPEAT = 32, 2, 1, 3, 2
TIMED_STEPS = WARMUP + REPEATS * STEPS_PER_REPEAT


@dataclass(frozen=True)
class Law:
    """L(N, D) = E + (k_n N^-a + k_d D^-b)^p, with N parameters and D training tokens."""

    name: str
    e: float
    k_n: float
    a: float
    k_d: float
    b: float
    p: float

    def loss(self, n: float | np.ndarray, d: float | np.ndarray) -> float | np.ndarray:
        return self.e + self.reducible(n, d) ** self.p

    def reducible(self, n: float | np.ndarray, d: float | np.ndarray) -> float | np.ndarray:
        """The bracket k_n N^-a + k_d D^-b: the loss is monotone in it, and better conditioned."""
        return self.k_n * np.power(n, -self.a) + self.k_d * np.power(d, -self.b)

    @property
    def exponent(self) -> float:
        """N_opt grows like C^(b/(a+b)) along C = 6ND (and D_opt like C^(a/(a+b)))."""
        return self.b / (self.a + self.b)

    def closed_form_params(self, compute: float | np.ndarray) -> float | np.ndarray:
        """The compute-optimal N in closed form: setting d/dN of k_n N^-a + k_d (6N/C)^b to zero."""
        g = (self.a * self.k_n / (self.b * self.k_d)) ** (1 / (self.a + self.b))
        return g * np.power(np.asarray(compute) / 6, self.exponent)

    def bracket_for(self, target: float) -> float:
        """The value of the bracket that gives loss ``target``."""
        return (target - self.e) ** (1 / self.p)

    def floor_params(self, target: float) -> float:
        """The smallest N that reaches ``target`` at all, even with unlimited tokens."""
        return (self.k_n / self.bracket_for(target)) ** (1 / self.a)

    def log_tokens_for(self, log_n: float, target: float) -> float:
        """log D such that L(N, D) = target, or +inf below the floor (computed in logs: no overflow)."""
        rest = self.bracket_for(target) - self.k_n * math.exp(-self.a * log_n)
        return (math.log(self.k_d) - math.log(rest)) / self.b if rest > 0 else math.inf


CHINCHILLA = Law("chinchilla", e=1.69, k_n=406.4, a=0.34, k_d=410.7, b=0.28, p=1.0)
#: Kaplan eq. 1.5, L = ((N_c/N)^(aN/aD) + D_c/D)^aD, written in the common form; with D -> infinity
#: it is exactly L(N) = (N_c/N)^0.076.
KAPLAN = Law("kaplan", e=0.0, k_n=KAPLAN_N_C ** (KAPLAN_ALPHA_N / KAPLAN_ALPHA_D), a=KAPLAN_ALPHA_N / KAPLAN_ALPHA_D,
             k_d=KAPLAN_D_C, b=1.0, p=KAPLAN_ALPHA_D)
LAWS = {law.name: law for law in (CHINCHILLA, KAPLAN)}


@dataclass(frozen=True)
class Config:
    """Compute and inference tokens are log10 sliders (they are swept over decades); N and D are number
    boxes, so a published model can be typed exactly (70e9 gives Chinchilla's 1.9366)."""

    law: str = param("chinchilla", "the fitted scaling law: Hoffmann 2022 (Chinchilla) or Kaplan 2020",
                     choices=tuple(LAWS))
    log10_compute: float = param(23.8, "training compute budget C as log10 of FLOPs (23.8: Chinchilla's 5.9e23)",
                                 lo=18.0, hi=26.0, step=0.1, label="compute budget C (log10 FLOPs)")
    n_params: float = param(CHINCHILLA_N, "model size N for the point evaluation, in parameters (type e.g. 7e9)",
                            lo=1e6, hi=1e13, log=True, label="model size N (parameters)")
    n_tokens: float = param(CHINCHILLA_D, "training tokens D for the point evaluation (type e.g. 2e12)",
                            lo=1e8, hi=1e15, log=True, label="training tokens D")
    log10_inference_tokens: float = param(13.0, "tokens the model will process over its life after training, "
                                          "as log10 (each costs 2N FLOPs)", lo=6.0, hi=16.0, step=0.1,
                                          label="lifetime inference tokens (log10)")
    widths: tuple[int, ...] = param((16, 64, 128, 256, 512), "hidden widths of the 2-layer MLPs timed on "
                                    "this machine", lo=4, hi=2048, max_len=8)
    batch: int = param(256, "samples per timed training step", lo=16, hi=2048)

    def check(self) -> None:
        if len(self.widths) < 2:
            raise ConfigError("widths: give at least two widths, so the cost can be fitted against size")

    @property
    def compute(self) -> float:
        return 10.0 ** self.log10_compute

    @property
    def inference_tokens(self) -> float:
        return 10.0 ** self.log10_inference_tokens


def mlp_sizes(width: int) -> tuple[int, ...]:
    return mlp.layer_sizes(D_IN, width, DEPTH)


def flops(config: Config) -> float:
    """Only the timed MLPs do real work (the timed steps, plus one pass that counts memory); the
    scaling-law arithmetic is negligible."""
    return sum(mlp.train_flops(mlp_sizes(w), config.batch, TIMED_STEPS + 1) for w in config.widths)


# --- The science: losses, optima ----------------------------------------------------------------


def optimum(law: Law, compute: float) -> tuple[float, float, float]:
    """(N, D, loss) minimising the loss subject to 6ND = compute, found numerically (bounded Brent
    on log N; the closed form is only used to check it)."""

    def bracket(log_n: float) -> float:
        n = math.exp(log_n)
        return float(law.reducible(n, compute / (6 * n)))

    # Any model with at least 100 parameters and 100 tokens; the loss is unimodal in log N on this line.
    bounds = (math.log(100.0), math.log(compute / 600.0))
    log_n = minimize_scalar(bracket, bounds=bounds, method="bounded", options={"xatol": 1e-10}).x
    n = math.exp(log_n)
    d = compute / (6 * n)
    return n, d, float(law.loss(n, d))


def inference_optimum(law: Law, target: float, inference_tokens: float) -> tuple[float, float]:
    """(N, D) minimising lifetime compute 6ND + 2N*T subject to L(N, D) = target.

    The quality is held fixed and the cost of owning the model is minimised (Sardana & Frankle 2023):
    along the curve of equal loss, a smaller model needs more training tokens but is cheaper per
    token served, so the minimum moves below the training-only optimum as T grows.
    """
    floor = math.log(law.floor_params(target))

    def log_cost(log_n: float) -> float:
        log_d = law.log_tokens_for(log_n, target)
        if not math.isfinite(log_d):
            return math.inf
        # log(6ND + 2NT) = log N + log(6D + 2T), in logs so D near the floor cannot overflow
        return log_n + np.logaddexp(math.log(6.0) + log_d, math.log(2.0 * inference_tokens))

    # The training-only optimum sits a fixed factor above the floor (((a+b)/b)^(1/a): about 10x for
    # Chinchilla); searching up to 1e4x the floor brackets it and everything below it.
    result = minimize_scalar(log_cost, bounds=(floor + 1e-12, floor + math.log(1e4)), method="bounded",
                             options={"xatol": 1e-10})
    return math.exp(result.x), math.exp(law.log_tokens_for(result.x, target))


def log_slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """The least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def isoflop_table(law: Law, compute: float) -> pd.DataFrame:
    """Loss against N along several budgets C = 6ND, each curve spanning 3 decades around its optimum."""
    frames = []
    for offset in ISOFLOP_OFFSETS:
        c = compute * 10.0**offset
        n = optimum(law, c)[0] * np.logspace(-1.5, 1.5, 61)
        d = c / (6 * n)
        frames.append(pd.DataFrame({"compute": c, "params": n, "tokens": d, "loss": law.loss(n, d)}))
    return pd.concat(frames, ignore_index=True)


def frontier_table(law: Law, compute: float) -> pd.DataFrame:
    """The numerical compute-optimal model across 8 decades of compute, plus the chosen budget."""
    budgets = np.unique(np.append(10.0**FRONTIER_LOG10, compute))
    rows = [(c, *optimum(law, c)) for c in budgets]
    return pd.DataFrame(rows, columns=["compute", "params_opt", "tokens_opt", "loss_opt"])


def lifetime_table(law: Law, target: float, inference_tokens: float, n_opt: float, n_inf: float) -> pd.DataFrame:
    """Training, inference and total FLOPs of every model on the curve L(N, D) = target."""
    # from a quarter of the inference-aware optimum to four times the training-only one (never below the
    # floor, where D -> inf)
    n = np.geomspace(max(law.floor_params(target) * 1.001, n_inf / 4), 4 * n_opt, 120)
    d = np.exp([law.log_tokens_for(math.log(v), target) for v in n])
    train, serve = 6 * n * d, 2 * n * inference_tokens
    return pd.DataFrame({"params": n, "tokens": d, "train_flops": train, "inference_flops": serve, "total_flops": train + serve})


def law_metrics(config: Config) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Every scaling-law metric and table for one configuration."""
    law = LAWS[config.law]
    t_inf = config.inference_tokens
    n_opt, d_opt, loss_opt = optimum(law, config.compute)
    n_inf, d_inf = inference_optimum(law, loss_opt, t_inf)
    frontier = frontier_table(law, config.compute)
    lifetime_opt = config.compute + 2 * n_opt * t_inf
    lifetime_inf = 6 * n_inf * d_inf + 2 * n_inf * t_inf
    metrics = {
        "law": law.name,
        "compute": config.compute,
        "inference_tokens": t_inf,
        "point_params": config.n_params,
        "point_tokens": config.n_tokens,
        "point_flops": 6 * config.n_params * config.n_tokens,
        "loss": float(law.loss(config.n_params, config.n_tokens)),
        "params_opt": n_opt,
        "tokens_opt": d_opt,
        "loss_opt": loss_opt,
        "tokens_per_param_opt": d_opt / n_opt,
        "params_opt_inf": n_inf,
        "tokens_opt_inf": d_inf,
        "lifetime_flops": lifetime_opt,
        "lifetime_flops_inf": lifetime_inf,
        "lifetime_saving": 1 - lifetime_inf / lifetime_opt,
        "frontier_slope": log_slope(frontier["compute"], frontier["params_opt"]),
        "frontier_slope_theory": law.exponent,
    }
    tables = {
        "isoflop": isoflop_table(law, config.compute),
        "frontier": frontier,
        "lifetime": lifetime_table(law, loss_opt, t_inf, n_opt, n_inf),
    }
    return metrics, tables


# --- Measured: this machine's cost per training step ---------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_bytes(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> int:
    """Bytes a training step holds at the end of its backward pass (weights, activations kept for
    backward, output, gradients, data), counted from the tensors' storages; allocator overhead and
    short-lived temporaries are not included, so this is a slight underestimate of the peak."""
    out, inputs = mlp.forward(stack, x)
    grads = mlp.backward(stack, inputs, out, y)
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                for t in (*stack.params(), *inputs, out, *grads, x, y)}
    return sum(storages.values())


def time_step(stack: mlp.MLPStack, x: torch.Tensor, y: torch.Tensor) -> float:
    """Median seconds per full-batch SGD step of the app's engine, after one warm-up step."""
    trainer = mlp.Trainer(stack, x, y, lr=1e-4, optimizer="sgd", steps=TIMED_STEPS)
    trainer.advance(WARMUP)
    times = []
    for _ in range(REPEATS):
        _sync(x.device)
        start = time.perf_counter()
        trainer.advance(STEPS_PER_REPEAT)
        _sync(x.device)
        times.append((time.perf_counter() - start) / STEPS_PER_REPEAT)
    return statistics.median(times)


def measure(config: Config, device: torch.device,
            report: Callable[[float, pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """Seconds per step (measured) and memory held (counted) of one MLP per width."""
    gen = torch.Generator().manual_seed(mlp.derive_seed("scaling", "timing", config.batch))
    x = torch.randn(config.batch, D_IN, generator=gen).to(device)
    y = torch.randn(config.batch, 1, generator=gen).to(device)
    rows: list[dict] = []
    for i, width in enumerate(config.widths):
        sizes = mlp_sizes(width)
        stack = mlp.init_stack(sizes, [mlp.derive_seed("scaling", width)], device=device)
        rows.append({
            "width": width,
            "params": mlp.count_params(sizes),
            "flops_per_step": mlp.train_flops(sizes, config.batch, 1),
            "seconds_per_step": time_step(stack, x, y),
            "peak_mb": step_bytes(stack, x, y) / 1e6,
        })
        if report is not None:
            report((i + 1) / len(config.widths), pd.DataFrame(rows))
    return pd.DataFrame(rows)


def run(config: Config, progress: contract.Progress | None = None, device: str | None = None) -> Result:
    """The scaling-law optima (milliseconds), then the timed MLPs (the part that takes time)."""
    start = time.perf_counter()
    dev = torch.device(device) if device else pick_device()
    metrics, tables = law_metrics(config)

    def report(fraction: float, partial: pd.DataFrame) -> None:
        if progress is not None:
            progress(fraction, f"timed {len(partial)} of {len(config.widths)} widths", {"measured": partial})

    measured = measure(config, dev, report)
    tables["measured"] = measured
    metrics |= {
        "time_slope": log_slope(measured["params"], measured["seconds_per_step"]),
        "memory_slope": log_slope(measured["params"], measured["peak_mb"]),
        "flop_slope": log_slope(measured["params"], measured["flops_per_step"]),
    }
    largest = int(measured["params"].max())
    return Result({"status": "ok", **metrics, **contract.cost_metrics(
        largest, config.batch, flops(config), time.perf_counter() - start, describe(dev))}, tables)


# --- The seed's decision table, as a checklist ----------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One row of the seed's table: the answer that favours a big model, the one that favours a small
    one, and why each does."""

    key: str
    question: str
    big: str
    small: str
    why_big: str
    why_small: str


FACTORS = (
    Factor("training_compute", "Training compute", "Abundant", "Limited",
           "the compute-optimal model grows with the budget (about C^0.45 to C^0.56 on the frontier above)",
           "at a small budget the compute-optimal model is small; a bigger one would be under-trained"),
    Factor("inference_compute", "Inference compute", "Flexible / cloud", "Constrained / edge",
           "serving cost can be paid, so size can be set by training compute alone",
           "every token served costs 2N FLOPs and the weights must fit on the device: train a smaller model "
           "on more tokens (the inference-aware optimum above)"),
    Factor("dataset_size", "Dataset size", "Large", "Small",
           "the best model size grows with the tokens available (N and D scale together)",
           "with few tokens the data term dominates the loss; extra parameters buy little and repeat the data"),
    Factor("label_noise", "Label noise", "Moderate", "High",
           "interpolating modest noise can be harmless in high dimensions (see Benign overfitting)",
           "fitting heavy noise exactly hurts unless the features' spectrum makes it benign; regularise, "
           "stop early, or use a smaller model"),
    Factor("domain_knowledge", "Domain knowledge", "Limited", "Strong priors available",
           "with little known structure, spare capacity and data find it (Sutton's bitter lesson)",
           "a model built around known structure needs far fewer parameters and less data"),
    Factor("interpretability", "Interpretability need", "Low", "High",
           "nothing asks for a model a person can audit",
           "fewer parameters are easier to inspect and explain (a crude proxy, but a real one)"),
    Factor("transfer", "Transfer potential", "High", "Low",
           "a large pretrained model's cost is shared by every task it is adapted to",
           "one narrow task rarely repays the cost of a large model"),
)
UNSURE = "Not sure"


@dataclass(frozen=True)
class Leaning:
    """The checklist's verdict: big minus small answers, a sentence, and one reason per answer."""

    score: int
    verdict: str
    reasons: tuple[str, ...]


def lean(answers: Mapping[str, str]) -> Leaning:
    """Weigh the answers (each a Factor's ``big`` or ``small`` label, or anything else for unsure).

    Every factor counts once; the seed's table gives no weights and neither do we. Constrained
    inference is the one hard limit, so it is flagged whatever the count.
    """
    reasons, score = [], 0
    for f in FACTORS:
        answer = answers.get(f.key)
        if answer == f.big:
            score += 1
            reasons.append(f"{f.question}: {answer.lower()} → favours overparameterization: {f.why_big}.")
        elif answer == f.small:
            score -= 1
            reasons.append(f"{f.question}: {answer.lower()} → favours a smaller model: {f.why_small}.")
    if not reasons:
        verdict = "No leaning yet: answer at least one row."
    elif score >= 2:
        verdict = f"Leans toward a large, overparameterized model ({score:+d})."
    elif score <= -2:
        verdict = f"Leans toward a smaller model ({score:+d})."
    else:
        verdict = f"Balanced ({score:+d}): neither side clearly wins; measure both sizes on held-out data."
    if answers.get("inference_compute") == FACTORS[1].small:
        verdict += " Constrained inference is a hard limit whatever the count: fix the size the device allows first."
    return Leaning(score, verdict, tuple(reasons))


# --- Charts ---------------------------------------------------------------------------------------


def make_charts(result: Result) -> list[Figure]:
    tables, m = result.tables, result.metrics
    figures = []
    if "isoflop" in tables:
        figures += [
            Figure("Loss along fixed compute budgets", _isoflop_chart(tables["isoflop"], m), "isoflop",
                   f"Each curve spends one budget C = 6ND; moving right trades tokens for parameters. Diamonds: the "
                   f"closed-form minimum of each curve; the red cross: your model (N, D), which costs "
                   f"{m['point_flops']:.2g} FLOPs and reaches loss {m['loss']:.4f}. Too small and too large both "
                   f"waste the budget."),
            Figure("The compute-optimal model as the budget grows", _frontier_chart(tables["frontier"], m), "frontier",
                   f"Points: the optimum found numerically (scipy); dashed line: the closed form, N_opt ∝ "
                   f"C^{m['frontier_slope_theory']:.4f}; fitted slope {m['frontier_slope']:.4f}. At your budget (grey rule): "
                   f"N = {m['params_opt']:.3g}, D = {m['tokens_opt']:.3g}, {m['tokens_per_param_opt']:.0f} tokens per "
                   f"parameter. Triangles: published models, at their own training compute."),
            Figure("Same loss, cheaper to own: counting inference", _lifetime_chart(tables["lifetime"], m), "lifetime",
                   f"Every model on this curve reaches the compute-optimal loss {m['loss_opt']:.4f}. Training cost "
                   f"falls and serving cost (2N FLOPs per token) rises with N. Counting both, the cheapest is "
                   f"N = {m['params_opt_inf']:.3g} on D = {m['tokens_opt_inf']:.3g} tokens instead of "
                   f"N = {m['params_opt']:.3g} on {m['tokens_opt']:.3g}: {m['lifetime_saving']:.1%} less lifetime compute."),
        ]
    if "measured" in tables:
        figures.append(Figure("Measured on this machine: cost of one training step", _measured_chart(tables["measured"]),
                              "measured", _measured_caption(m)))
    return figures


def _budget_label(c: float) -> str:
    return f"C = {c:.1e}"


def _isoflop_chart(iso: pd.DataFrame, m: Mapping) -> alt.LayerChart:
    law = LAWS[m["law"]]
    data = iso.assign(budget=iso["compute"].map(_budget_label), yours=np.isclose(iso["compute"], m["compute"]))
    order = [_budget_label(c) for c in sorted(iso["compute"].unique())]
    color = alt.Color("budget:N", title="budget", sort=order, scale=alt.Scale(scheme="viridis"))
    lines = alt.Chart(data).mark_line().encode(
        x=_log_x("params", "model size N (parameters)"),
        y=alt.Y("loss:Q", title="predicted loss (nats per token)", scale=alt.Scale(zero=False)),
        color=color,
        strokeWidth=alt.condition("datum.yours", alt.value(3.5), alt.value(1.5)),
        tooltip=[alt.Tooltip("compute:Q", format=".2e"), alt.Tooltip("params:Q", format=".3g"),
                 alt.Tooltip("tokens:Q", format=".3g"), alt.Tooltip("loss:Q", format=".4f")],
    )
    budgets = np.sort(iso["compute"].unique())
    n_star = law.closed_form_params(budgets)
    optima = pd.DataFrame({"compute": budgets, "budget": [_budget_label(c) for c in budgets], "params": n_star,
                           "loss": law.loss(n_star, budgets / (6 * n_star))})
    diamonds = alt.Chart(optima).mark_point(shape="diamond", size=110, filled=True, stroke="black").encode(
        x="params:Q", y="loss:Q", color=color,
        tooltip=[alt.Tooltip("compute:Q", format=".2e", title="closed-form optimum at"),
                 alt.Tooltip("params:Q", format=".3g"), alt.Tooltip("loss:Q", format=".4f")])
    point = pd.DataFrame({"params": [m["point_params"]], "loss": [m["loss"]], "tokens": [m["point_tokens"]],
                          "compute": [m["point_flops"]], "label": ["your (N, D)"]})
    cross = alt.Chart(point).mark_point(shape="cross", size=220, filled=True, color="#d62728").encode(
        x="params:Q", y="loss:Q",
        tooltip=["label", alt.Tooltip("params:Q", format=".3g"), alt.Tooltip("tokens:Q", format=".3g"),
                 alt.Tooltip("compute:Q", format=".2e"), alt.Tooltip("loss:Q", format=".4f")])
    return alt.layer(lines, diamonds, cross).properties(height=340)


def _frontier_chart(frontier: pd.DataFrame, m: Mapping) -> alt.LayerChart:
    law = LAWS[m["law"]]
    quantity = alt.Color("quantity:N", title=None, scale=alt.Scale(domain=["parameters N", "tokens D"],
                                                                   range=["#1f77b4", "#ff7f0e"]))
    numeric = pd.concat([
        pd.DataFrame({"compute": frontier["compute"], "quantity": "parameters N", "value": frontier["params_opt"]}),
        pd.DataFrame({"compute": frontier["compute"], "quantity": "tokens D", "value": frontier["tokens_opt"]}),
    ])
    grid = np.geomspace(frontier["compute"].min(), frontier["compute"].max(), 50)
    n = law.closed_form_params(grid)
    theory = pd.concat([pd.DataFrame({"compute": grid, "quantity": "parameters N", "value": n}),
                        pd.DataFrame({"compute": grid, "quantity": "tokens D", "value": grid / (6 * n)})])
    models = pd.DataFrame([(name, 6 * n_ * d_, q, v) for name, n_, d_ in REFERENCE_MODELS
                           for q, v in (("parameters N", n_), ("tokens D", d_))],
                          columns=["model", "compute", "quantity", "value"])
    x = _log_x("compute", "training compute C (FLOPs)")
    y = alt.Y("value:Q", title="compute-optimal N and D", scale=alt.Scale(type="log"),
              axis=alt.Axis(format=".0e"))
    tip = [alt.Tooltip("compute:Q", format=".2e"), "quantity", alt.Tooltip("value:Q", format=".3g")]
    lines = alt.Chart(theory).mark_line(strokeDash=[6, 4]).encode(x=x, y=y, color=quantity)
    points = alt.Chart(numeric).mark_point(filled=True, size=30).encode(x=x, y=y, color=quantity, tooltip=tip)
    triangles = alt.Chart(models).mark_point(shape="triangle-up", size=90, filled=True, stroke="black").encode(
        x=x, y=y, color=quantity, tooltip=["model", *tip])
    labels = alt.Chart(models[models["quantity"] == "parameters N"]).mark_text(align="left", dx=7, dy=-7, fontSize=11).encode(
        x=x, y=y, text="model")
    rule = alt.Chart(pd.DataFrame({"compute": [m["compute"]]})).mark_rule(color="grey").encode(x=x)
    return alt.layer(rule, lines, points, triangles, labels).properties(height=340)


def _lifetime_chart(lifetime: pd.DataFrame, m: Mapping) -> alt.LayerChart:
    names = {"train_flops": "training 6ND", "inference_flops": "inference 2NT", "total_flops": "total"}
    long = lifetime.melt(id_vars=["params", "tokens"], value_vars=list(names), var_name="part", value_name="flops")
    long["part"] = long["part"].map(names)
    x = alt.X("params:Q", title="model size N (parameters), each trained to the same loss",
              scale=alt.Scale(type="log", nice=False), axis=alt.Axis(format=".0e"))
    # linear, clipped at 2.5x the compute-optimal model's lifetime cost: a 10-30% saving is invisible on a log axis
    top = 2.5 * m["lifetime_flops"]
    lines = alt.Chart(long).mark_line(clip=True).encode(
        x=x, y=alt.Y("flops:Q", title="lifetime compute (FLOPs)", scale=alt.Scale(domain=[0, top]),
                     axis=alt.Axis(format=".1e")),
        color=alt.Color("part:N", title=None, sort=list(names.values()),
                        scale=alt.Scale(range=["#1f77b4", "#ff7f0e", "black"])),
        strokeWidth=alt.condition("datum.part == 'total'", alt.value(3), alt.value(1.5)),
        tooltip=[alt.Tooltip("params:Q", format=".3g"), alt.Tooltip("tokens:Q", format=".3g"), "part",
                 alt.Tooltip("flops:Q", format=".3g")])
    marks = pd.DataFrame({"params": [m["params_opt"], m["params_opt_inf"]],
                          "label": ["compute-optimal (training only)", "cheapest counting inference"]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3]).encode(
        x=x, color=alt.value("#555"), tooltip=["label", alt.Tooltip("params:Q", format=".3g")])
    text = alt.Chart(marks).mark_text(angle=270, align="right", dy=-6, fontSize=11, color="#333").encode(
        x=x, y=alt.value(4), text="label")
    return alt.layer(lines, rules, text).properties(height=320)


def _measured_chart(measured: pd.DataFrame) -> alt.HConcatChart:
    largest = measured.loc[measured["params"].idxmax()]
    seconds_per_flop = largest["seconds_per_step"] / largest["flops_per_step"]
    data = measured.assign(flop_proportional=measured["flops_per_step"] * seconds_per_flop,
                           weights_and_grads=8 * measured["params"] / 1e6)
    x = _log_x("params", "parameters of the MLP")
    tip = ["width", "params", alt.Tooltip("seconds_per_step:Q", format=".3g"), alt.Tooltip("peak_mb:Q", format=".3g"),
           alt.Tooltip("flops_per_step:Q", format=".3g")]
    time_y = alt.Y("seconds_per_step:Q", title="seconds per step (measured)", scale=alt.Scale(type="log"))
    seconds = alt.layer(
        alt.Chart(data).mark_line(strokeDash=[6, 4], color="grey").encode(x=x, y=alt.Y("flop_proportional:Q")),
        alt.Chart(data).mark_line(point=alt.OverlayMarkDef(color="#d62728"), color="#d62728").encode(
            x=x, y=time_y, tooltip=tip),
    ).properties(width=320, height=260, title="time per step; dashed: proportional to FLOPs")
    mem_y = alt.Y("peak_mb:Q", title="memory held by a step (MB, counted)", scale=alt.Scale(type="log"))
    memory = alt.layer(
        alt.Chart(data).mark_line(strokeDash=[6, 4], color="grey").encode(x=x, y=alt.Y("weights_and_grads:Q")),
        alt.Chart(data).mark_line(point=alt.OverlayMarkDef(color="#9467bd"), color="#9467bd").encode(
            x=x, y=mem_y, tooltip=tip),
    ).properties(width=320, height=260, title="memory; dashed: weights + gradients alone")
    return alt.hconcat(seconds, memory)


def _measured_caption(m: Mapping) -> str:
    if "time_slope" not in m:
        return "Timing one MLP per width on this machine…"
    return (f"Each point: one 2-hidden-layer MLP of the app's engine, full-batch SGD on"
            f" this machine ({m['device']}). Time per step is measured (median of {REPEATS} × {STEPS_PER_REPEAT} "
            f"steps; it varies run to run): log-log slope {m['time_slope']:.2f}, against {m['flop_slope']:.2f} for "
            f"the FLOPs. Where small models sit above the dashed FLOP line, a fixed per-step overhead, not arithmetic, "
            f"sets their cost; the machine may be shared, so single points can jump. Memory is counted from the "
            f"tensors a step holds (slope {m['memory_slope']:.2f}).")


def _log_x(field: str, title: str) -> alt.X:
    return alt.X(f"{field}:Q", title=title, scale=alt.Scale(type="log"), axis=alt.Axis(format=".0e"))


EXPERIMENT = contract.register(contract.Experiment(
    name="scaling",
    title="Costs and scaling",
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    summary="The best model size grows with compute, but less than proportionally; counting inference shrinks it.",
))
