"""Lazy or rich: the output scale α of Chizat, Oyallon & Bach (2019) on a task where learned
features matter, against kernel regression with the network's initial tangent kernel.

The model is f_α(x) = α (f(x; w) − f(x; w₀)) trained on the loss |f_α − y|² / α². Because
|α (f − f₀) − y|² / α² = |f − (f₀ + y/α)|², that is the ordinary net trained with the ordinary
mean squared error on the shifted targets f₀ + y/α, with the plain learning rate, and its
prediction is read off as α (f − f₀). The step size needs no α in it: a gradient step moves f by
−lr K ∇_f L (K the tangent kernel), so f_α moves by −lr K α ∇_f L = −lr K ∇_{f_α} |f_α − y|² (the
∇_f L = ∇_{f_α}|f_α − y|² / α of the shifted loss cancels the α in front). Every α therefore takes
the same function-space step with the same initial kernel; only how far w must travel to make it
differs, about 1/α. (Chizat et al. write the loss as R(α h)/α² and the step as lr; written on the
unscaled R(α h) the same step is lr/α².) As α → ∞ the net is its linearisation: kernel gradient
descent with the initial kernel K₀ for the same steps and rate, ``ntk.kernel_regression``. The
kernel's change follows the weights' 1/α only until the few ReLU gates that flip on a training input
(each a jump in K, however small the step; their number falls like 1/α) dominate it; from α of a few
hundred at the defaults it falls about like 1/√α.

Which nets: μP (``mlp.init_parameterized(..., "mup")``), where α = 1 is the mean-field scale at
which features learn at any width, and α = √width is exactly NTK-parameterization training: every
weight takes the same step and α (f − f₀) is the same function (the read-out bias, which μP's
forward pass does not scale by 1/√width, steps 1/√width as far and moves the output as much). So
the integer scales 1 ... 256 at width 256 run from rich to sixteen times lazier than NTK training.

The task: a single-index ridge y = g(⟨u, x⟩) in d = 20 with g(z) = |z| standardised (mean 0,
variance 1), u a random unit vector. It depends on x only through one direction, and two ReLU
units aligned with u represent it exactly (|z| = relu(z) + relu(−z)): a net that learns features
can find u. A rotation-invariant kernel cannot point at u, and |z| has no linear part for it to
pick u up from, so it must learn the quadratic-and-higher part from scratch, which takes about
d² = 400 samples; at n = 256 it cannot.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import mlp, ntk
from core.charts import PALETTE, log_y
from core.contract import Figure
from core.experiments.lazy_training.config import TEACHER_D, Config
from core.experiments.lazy_training.width import Failure, kernel_change, kernel_flops, weight_change

#: Hidden layers of the α sweep's nets: the two-layer nets of Chizat et al.'s and the mean-field
#: analysis, whose story (two units along ±u fit the ridge) the page tells; a second hidden layer
#: shows the same at fifteen times the cost.
DEPTH = 1
#: Held-out samples on which every test MSE is measured (the target has variance 1, so a test MSE
#: of 1 is what predicting the mean scores).
TEST_N = 2000
#: The parameterization of the α sweep (see the module's docstring for why μP).
PARAMETERIZATION = "mup"
COLUMNS = ["alpha", "test_mse", "rel_kernel_change", "kernel_alignment", "rel_weight_change", "train_mse"]
NET = "network α (f − f₀)"
LAZY_LIMIT = "kernel regression with K₀ (lazy limit)"
KERNEL = "tangent kernel |K_T − K₀| / |K₀|"
WEIGHTS = "weights |W_T − W₀| / |W₀|"
ALIGNMENT = "alignment of K_T with y yᵀ"
INITIAL = "alignment of K₀"


def ridge(z: torch.Tensor) -> torch.Tensor:
    """|z| for z ~ N(0, 1), standardised: E|z| = sqrt(2/π), Var|z| = 1 − 2/π."""
    return (z.abs() - math.sqrt(2 / math.pi)) / math.sqrt(1 - 2 / math.pi)


def teacher_task(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gaussian inputs in TEACHER_D dimensions and the ridge target along one random unit
    direction u (all from one generator): training x, y, then TEST_N held-out x, y (float64)."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(TEACHER_D, generator=gen, dtype=torch.float64)
    u /= u.norm()
    x = torch.randn(n, TEACHER_D, generator=gen, dtype=torch.float64)
    x_test = torch.randn(TEST_N, TEACHER_D, generator=gen, dtype=torch.float64)
    return x, ridge(x @ u).unsqueeze(1), x_test, ridge(x_test @ u).unsqueeze(1)


def kernel_alignment(kernel: torch.Tensor, y: torch.Tensor) -> float:
    """Centred kernel-target alignment (Cortes, Mohri & Rostamizadeh 2012): the cosine between the
    centred kernel H K H and the centred target kernel H y yᵀ H, H = I − 11ᵀ/n. It is 1 when the
    kernel is c yyᵀ, a kernel that only sees the target's direction; near 0 for one blind to it.
    ⟨HKH, Hyyᵀ H⟩ = y_cᵀ K y_c and |H yyᵀ H| = |y_c|², y_c = y − mean(y)."""
    centred = kernel - kernel.mean(0, keepdim=True) - kernel.mean(1, keepdim=True) + kernel.mean()
    yc = (y - y.mean()).reshape(-1, 1).to(kernel.dtype)
    return float((yc.T @ kernel @ yc).squeeze() / (centred.norm() * yc.pow(2).sum()))


def sizes(config: Config) -> tuple[int, ...]:
    return mlp.layer_sizes(TEACHER_D, config.scale_width, DEPTH)


def flops(config: Config) -> float:
    """Per α: training, the kernel after it, the test forward pass; once: K₀ on the training set
    (float64, counted as float32) and between test and training inputs."""
    shape = sizes(config)
    forward = 2.0 * TEST_N * sum(i * o for i, o in itertools.pairwise(shape))
    per_alpha = mlp.train_flops(shape, config.scale_n, config.scale_steps) + kernel_flops(shape, config.scale_n) + forward
    once = kernel_flops(shape, config.scale_n) + kernel_flops(shape, TEST_N, config.scale_n)
    return len(config.alphas) * per_alpha + once


def sweep(config: Config, dev: torch.device,
          report: Callable[[pd.DataFrame], None]) -> tuple[pd.DataFrame, dict[str, float], list[Failure]]:
    """Train the same initial net at every output scale (``report`` gets the table after each);
    test MSE, how far the kernel moved, its alignment with the target; the lazy limit's test MSE."""
    x64, y64, xt64, yt64 = teacher_task(config.scale_n, mlp.derive_seed(config.seed, "ridge"))
    seed = mlp.derive_seed(config.seed, "scale-init")
    # the lazy limit in float64: the same draw as the nets' (init_parameterized draws in float64)
    exact = mlp.init_parameterized(sizes(config), [seed], PARAMETERIZATION, dtype=torch.float64, device=dev)
    k0 = ntk.empirical_ntk(exact, x64.to(dev))[0]
    k0_test = ntk.empirical_ntk(exact, xt64.to(dev), x64.to(dev))[0]
    lazy = ntk.kernel_regression(k0.cpu().numpy(), k0_test.cpu().numpy(), y64[:, 0].numpy(), config.lr, config.scale_steps)
    metrics = {"kernel_test_mse": float(np.mean((lazy - yt64[:, 0].numpy()) ** 2)),
               "initial_alignment": kernel_alignment(k0, y64.to(dev))}
    x, y, x_test, y_test = (t.to(dev, torch.float32) for t in (x64, y64, xt64, yt64))
    k_start = k0.float()
    rows, failures = [], []
    for alpha in config.alphas:
        row, diverged = _one_scale(config, alpha, seed, (x, y, x_test, y_test), k_start)
        rows.append(row)
        if diverged is not None:
            failures.append((f"output scale α = {alpha}", diverged))
        report(pd.DataFrame(rows, columns=COLUMNS))
    return pd.DataFrame(rows, columns=COLUMNS), metrics, failures


def _one_scale(config: Config, alpha: int, seed: int, data: tuple[torch.Tensor, ...],
               k0: torch.Tensor) -> tuple[dict, int | None]:
    """Train f on f₀ + y/α (the scaled loss, see the module docstring) and score α (f − f₀)."""
    x, y, x_test, y_test = data
    stack = mlp.init_parameterized(sizes(config), [seed], PARAMETERIZATION, device=x.device)
    start = [p.clone() for p in stack.params()]
    with torch.no_grad():
        f0, f0_test = mlp.predict(stack, x), mlp.predict(stack, x_test)
    trainer = mlp.Trainer(stack, x, f0 + y / alpha, lr=config.lr, optimizer="sgd", steps=config.scale_steps)
    trainer.advance(config.scale_steps)
    log = trainer.log()
    if log.diverged_step is not None:
        nan = float("nan")
        return dict(zip(COLUMNS, [alpha, nan, nan, nan, nan, nan])), log.diverged_step
    with torch.no_grad():
        test_mse = (alpha * (mlp.predict(stack, x_test) - f0_test) - y_test).pow(2).mean()
    kernel = ntk.empirical_ntk(stack, x)[0]
    # the shifted loss is |f − f₀ − y/α|², so α² times it is the scaled model's own training MSE
    return dict(zip(COLUMNS, [alpha, float(test_mse), kernel_change(kernel, k0), kernel_alignment(kernel, y),
                              weight_change(stack, start), float(log.final[0]) * alpha**2])), None


def figure(table: pd.DataFrame, metrics: dict) -> Figure:
    """Test error, kernel change and alignment against α, with the lazy limit drawn where known."""
    x = _alpha_axis(table)
    chart = alt.hconcat(_error_panel(table, metrics.get("kernel_test_mse"), x), _change_panel(table, x),
                        _alignment_panel(table, metrics.get("initial_alignment"), x)).resolve_scale(color="independent")
    return Figure(f"Lazy or rich: does moving the kernel help? (the ridge task y = |⟨u, x⟩|, d = {TEACHER_D})", chart,
                  "scale_sweep", "The same initial μP net (one hidden layer) trained at each output scale α: it "
                  "predicts α (f − f₀) and trains on the loss divided by α². Left: test MSE (1 = predicting the "
                  "mean); the dashed line is kernel regression with the initial tangent kernel K₀, the α → ∞ limit. "
                  "Middle: how far the weights and the tangent kernel moved. Right: how well the kernel lines up "
                  "with the target (centred kernel-target alignment)." + verdict(table, metrics))


def verdict(table: pd.DataFrame, metrics: dict) -> str:
    """This run's two ends in numbers, and which way the rich end went."""
    done = table.dropna(subset=["test_mse"])
    if len(done) < 2 or "kernel_test_mse" not in metrics:
        return ""
    rich, lazy, kernel = done.iloc[0], done.iloc[-1], metrics["kernel_test_mse"]
    ratio = rich["test_mse"] / kernel
    way = f"{1 / ratio:.1f} times lower than" if ratio < 1 else f"{ratio:.1f} times higher than"
    return (f" Here the lazy end (α = {int(lazy['alpha'])}) reaches test MSE {lazy['test_mse']:.3g} against the "
            f"kernel's {kernel:.3g} ({lazy['test_mse'] / kernel - 1:+.1%}); the rich end (α = {int(rich['alpha'])}) "
            f"reaches {rich['test_mse']:.3g}, {way} the lazy limit, while its kernel moved "
            f"{rich['rel_kernel_change'] / lazy['rel_kernel_change']:.0f} times as far "
            f"({rich['rel_kernel_change']:.2g} against {lazy['rel_kernel_change']:.2g}) and its alignment went "
            f"{metrics['initial_alignment']:.2g} → {rich['kernel_alignment']:.2g}. Every scale fits the training "
            f"set: training MSE at most {done['train_mse'].max():.2g}.")


def _alpha_axis(table: pd.DataFrame) -> alt.X:
    """Log α with a tick at every scale run, the axis ending at the first and last."""
    alphas = sorted(int(a) for a in table["alpha"])
    domain = [alphas[0], alphas[-1]] if len(alphas) > 1 else alt.Undefined
    return alt.X("alpha:Q", title="output scale α (log scale)", scale=alt.Scale(type="log", domain=domain, nice=False),
                 axis=alt.Axis(values=alphas, format="~g"))


def _error_panel(table: pd.DataFrame, kernel_mse: float | None, x: alt.X) -> alt.LayerChart:
    net = table.dropna(subset=["test_mse"]).assign(curve=NET).rename(columns={"test_mse": "mse"})
    frames = [net[["alpha", "mse", "curve"]]]
    if kernel_mse is not None:
        frames.append(pd.DataFrame({"alpha": [table["alpha"].min(), table["alpha"].max()], "mse": kernel_mse,
                                    "curve": LAZY_LIMIT}))
    colors = alt.Scale(domain=[NET, LAZY_LIMIT], range=[PALETTE.blue, PALETTE.ink])
    color = alt.Color("curve:N", title=None, scale=colors, legend=alt.Legend(orient="bottom", labelLimit=0))
    dash = alt.StrokeDash("curve:N", scale=alt.Scale(domain=[NET, LAZY_LIMIT], range=[[1, 0], [6, 4]]), legend=None)
    tooltip = [alt.Tooltip("alpha:Q", title="α"), "curve", alt.Tooltip("mse:Q", format=".3g", title="test MSE")]
    return alt.Chart(pd.concat(frames, ignore_index=True)).mark_line(point=True).encode(
        x=x, y=log_y("mse", "test mean squared error (log scale)"), color=color, strokeDash=dash, tooltip=tooltip,
    ).properties(width=300, height=280, title="test error")


def _change_panel(table: pd.DataFrame, x: alt.X) -> alt.Chart:
    long = table.melt(id_vars=["alpha"], value_vars=["rel_weight_change", "rel_kernel_change"], var_name="quantity",
                      value_name="change").dropna()
    long = long[long["change"] > 0].assign(quantity=lambda f: f["quantity"].map(
        {"rel_weight_change": WEIGHTS, "rel_kernel_change": KERNEL}))
    color = alt.Color("quantity:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0),
                      scale=alt.Scale(domain=[WEIGHTS, KERNEL], range=[PALETTE.blue, PALETTE.red]))
    return alt.Chart(long).mark_line(point=True).encode(
        x=x, y=log_y("change", "relative change (log scale)"), color=color,
        tooltip=[alt.Tooltip("alpha:Q", title="α"), "quantity", alt.Tooltip("change:Q", format=".3g")],
    ).properties(width=260, height=280, title="how far training moved the net")


def _alignment_panel(table: pd.DataFrame, initial: float | None, x: alt.X) -> alt.LayerChart:
    y = alt.Y("kernel_alignment:Q", title=ALIGNMENT, scale=alt.Scale(zero=True))
    tooltip = [alt.Tooltip("alpha:Q", title="α"), alt.Tooltip("kernel_alignment:Q", format=".3g")]
    layers = [alt.Chart(table.dropna(subset=["kernel_alignment"])).mark_line(
        point=alt.OverlayMarkDef(color=PALETTE.green), color=PALETTE.green).encode(x=x, y=y, tooltip=tooltip)]
    if initial is not None:
        rule = pd.DataFrame({"kernel_alignment": [initial], "label": [INITIAL]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[6, 4], color=PALETTE.dark_grey).encode(
            y="kernel_alignment:Q", tooltip=["label", alt.Tooltip("kernel_alignment:Q", format=".3g")]))
    return alt.layer(*layers).properties(width=260, height=280, title="kernel–target alignment (dashed: at init)")
