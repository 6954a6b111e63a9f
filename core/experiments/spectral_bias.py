"""Simplicity (spectral) bias: a network learns a function's low frequencies first, and the
neural tangent kernel's spectrum says how fast it learns each one.

The task: n points on a uniform grid of the circle, x_j = sqrt(2) (cos t_j, sin t_j) with
t_j = 2 pi j / n (|x|^2 / d = 1, the NTK's natural input scale), and a target that is a sum of
sines sin(k t) at the chosen frequencies k, fitted by a one-hidden-layer ReLU net with full-batch
gradient descent on the app's loss L = mean_j (f(x_j) - y_j)^2.

Theory. On this grid the kernel Theta(x_i, x_j) depends on t_i - t_j only, so the Gram matrix is
circulant and its eigenvectors are exactly the Fourier modes e^{i k t}; its eigenvalue for mode k
is Lambda_k = sum_m Theta(0, t_m) cos(k t_m). For the linearised network one gradient step moves
the outputs by -lr Theta dL/df = -lr Theta (2/n) (f - y), so the residual r = f - y obeys
r <- (I - 2 lr Theta / n) r, and the residual's Fourier coefficient at frequency k is multiplied
by (1 - 2 lr lambda_k) every step, lambda_k = Lambda_k / n (the eigenvalue of the kernel's integral
operator, independent of n). Its half-life is ln(1/2) / ln|1 - 2 lr lambda_k| steps. lambda_k
falls with k (like k^-2 for this kernel on the circle, Basri et al. 2019), so high frequencies take
longer: quadratically longer.

The initial function. f_0 is a random function of size O(1) (a Gaussian-process draw that does not
shrink with width), so the initial residual f_0 - y has some of f_0 in every mode, also at the
target's frequencies. We keep it and measure honestly: the *measured* amplitude of mode k is
|c_k(t)| / |c_k(0)|, the residual's Fourier amplitude at step t relative to its own value at step 0.
Under kernel gradient descent that ratio is exactly |1 - 2 lr lambda_k|^t whatever f_0 is (each
mode decays by its own factor), so nothing has to be subtracted, the net trains on the real target
and the function chart shows it starting from its real random f_0. (Subtracting f_0, or a doubled
antisymmetric init with f_0 = 0, would describe a different network; in a trial at width 1024 the
doubled init did not bring the half-lives closer to the theory anyway.)

The bias. The engine's default bias scale (0.1) makes the ReLU kernel nearly blind to odd
frequencies above 1 (without biases they are exactly zero: Basri et al. 2019): at bias 0.1,
lambda_3 is 0.0037 while lambda_4 is 0.032, and frequency 3 is learned after 6. With bias 1 the
spectrum falls monotonically, so the default is bias 1 and a preset shows the small-bias case.

What the measurements say (tests/test_spectral_bias.py checks each, at the defaults: width 4096,
frequencies 1, 2, 4, 8, lr 0.1, 2000 steps): the frequencies are learned lowest first. In NTK
parameterization the half-lives of k = 1, 2, 4 are within 10% of the analytic NTK's; the highest
one, k = 8, comes out about 1.5 times slower: the kernel moves a little while the large low modes
are fitted, and a mode whose own eigenvalue is tiny feels that first. The gap closes as the width
grows (k = 8: 2.3x at width 2048, 1.5x at 4096, 1.2x at 16384). The same net linearised at its init
(its own finite-width kernel, frozen: the ``linearised`` column) follows the theory within a few
percent, so the gap is training moving the kernel, not the kernel at init. Past the first half-life
the trained net's lower modes level off instead of vanishing (k = 4 ends 170 times above the
prediction): the moved kernel is no longer circulant, and the large residual still left at k = 8
leaks into them (without sin 8t in the target k = 4 decays as predicted). muP starts from the same kernel
but its features learn: the kernel grows (its top eigenvalue about threefold) until the learning
rate sits at the edge of stability (sharpness 2 lr lambda_max(Theta_T) / n reaches 2, against 0.7 in
NTK parameterization), so k = 2 is learned about 15% faster than predicted, k = 1 and 2 then
partly come back, and k = 8 is learned several times slower. Standard parameterization at lr / width learns only through its read-out: every
frequency is several times slower than the NTK predicts.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import contract, mlp, ntk
from core.charts import ORDERED, PALETTE, log_axis, log_y
from core.contract import ConfigError, Figure, Result, param

#: Steps recorded one by one at the start (the lowest frequency halves within a few steps).
EARLY = 20
#: About this many recorded steps after the early ones.
RECORD = 200
#: Progress reports (with the partial modes table) per run.
REPORTS = 20
#: Angles at which the learned function is drawn.
GRID = 181
#: Relative amplitudes below this are not drawn on the log axis (float32 noise floor region).
FLOOR = 1e-3
#: A residual mode has been "learned" once its amplitude falls to this fraction of its start.
HALF = 0.5


@dataclass(frozen=True)
class Config:
    frequencies: tuple[int, ...] = param((1, 2, 4, 8), "frequencies k of the target sum of sin(k t), one sine of "
                                         "amplitude 1 each", lo=1, hi=32, max_len=6,
                                         label="target frequencies k")
    n: int = param(64, "grid points on the circle (the training inputs)", lo=16, hi=256, label="training points n")
    width: int = param(4096, "hidden units of the one-hidden-layer ReLU net", lo=16, hi=16384, label="hidden units")
    parameterization: str = param("ntk", "ntk: weights N(0,1) scaled by 1/sqrt(fan-in) in the forward pass (the "
                                  "kernel theory's scaling); standard: PyTorch-style, learning rate divided by the "
                                  "width to stay stable; mup: maximal update (read-out scaled by an extra 1/sqrt(width), "
                                  "learning rate times the width)", choices=mlp.PARAMETERIZATIONS,
                                  label="parameterization")
    bias: float = param(1.0, "scale of the biases at init and in the forward pass (the NTK's β); small values make the "
                        "kernel nearly blind to odd frequencies above 1", lo=0.05, hi=2.0, step=0.05,
                        label="bias scale β")
    steps: int = param(2000, "full-batch gradient-descent steps", lo=10, hi=20000, step=10, label="gradient steps")
    lr: float = param(0.1, "learning rate (before the parameterization's width scaling)", lo=1e-3, hi=2.0, log=True,
                      label="learning rate")
    seed: int = param(0, "random seed for the initialisation", lo=0, hi=2**31 - 1, label="random seed")

    def check(self) -> None:
        top = max(self.frequencies)
        if 2 * top >= self.n:
            raise ConfigError(f"frequencies: {top} needs more than {2 * top} grid points (n = {self.n}); "
                              f"raise n or lower the frequency")


def sizes(config: Config) -> tuple[int, ...]:
    return mlp.layer_sizes(2, config.width, 1)


def checkpoints(steps: int) -> list[int]:
    """Where the learned function is drawn: the start, then a decade apart up to the last step."""
    return sorted({0, *(round(steps / 10**j) for j in range(3) if steps / 10**j >= 1)})


def record_steps(steps: int) -> np.ndarray:
    """Every step up to EARLY, then about RECORD evenly spaced steps up to the last (and the
    checkpoints where the function is drawn)."""
    stride = max(1, math.ceil(steps / RECORD))
    return np.unique(np.concatenate([np.arange(min(EARLY, steps) + 1), np.arange(0, steps + 1, stride), [steps],
                                     checkpoints(steps)]))


def flops(config: Config) -> float:
    """Training, the forward passes that record the residual and draw the function, and the two
    empirical tangent kernels (a forward and a backward pass plus two n x n Grams per layer)."""
    pairs = list(itertools.pairwise(sizes(config)))
    macs = sum(i * o for i, o in pairs)
    records = len(record_steps(config.steps)) * config.n
    drawn = len(checkpoints(config.steps)) * GRID
    kernel = 2.0 * (2 * config.n * macs + sum(config.n**2 * (i + o) for i, o in pairs))
    return mlp.train_flops(sizes(config), config.n, config.steps) + 2.0 * macs * (records + drawn) + 2 * kernel


def size(config: Config) -> tuple[int, int]:
    return mlp.count_params(sizes(config)), config.n


# --- the theory ---------------------------------------------------------------------------------


def angles(n: int) -> np.ndarray:
    return 2 * np.pi * np.arange(n) / n


def on_circle(t: np.ndarray) -> np.ndarray:
    """Points sqrt(2) (cos t, sin t): |x|^2/d = 1."""
    return math.sqrt(2.0) * np.stack([np.cos(t), np.sin(t)], axis=1)


def target(frequencies: tuple[int, ...], t: np.ndarray) -> np.ndarray:
    return sum(np.sin(k * t) for k in frequencies)


def ntk_spectrum(n: int, bias: float) -> np.ndarray:
    """lambda_k for k = 0 .. n/2: the analytic NTK Gram matrix's eigenvalue for Fourier mode k,
    divided by n (the eigenvalue of the kernel's integral operator on the circle). The Gram matrix
    is circulant, so these are the DFT of its first row (real: the kernel is even in t)."""
    x = on_circle(angles(n))
    row = ntk.analytic_ntk(x[:1], x, 1, b_std=bias)[0]
    return np.real(np.fft.rfft(row)) / n


def decay_factor(lr: float, eigenvalue: float | np.ndarray) -> float | np.ndarray:
    """|1 - 2 lr lambda_k|: what one GD step on mean (f - y)^2 multiplies mode k's residual by."""
    return np.abs(1.0 - 2.0 * lr * eigenvalue)


def predicted_half_life(lr: float, eigenvalue: float) -> float:
    """Steps for mode k to halve under kernel GD; nan where it never does (lr past 1/lambda_k's
    stability limit, or a zero eigenvalue): a missing value, as the measured side writes it."""
    factor = float(decay_factor(lr, eigenvalue))
    if factor <= 0.0:
        return 0.0
    if factor >= 1.0:
        return math.nan
    return math.log(HALF) / math.log(factor)


def measured_half_life(steps: np.ndarray, amplitude: np.ndarray) -> tuple[float, bool]:
    """The step where the relative amplitude first falls to HALF (log-linear interpolation between
    records) and True; if it never does, an exponential extrapolation from the start to the last
    record, ln(1/2) / ln(a_T) * T, and False (nan if it did not fall at all)."""
    below = np.nonzero(amplitude <= HALF)[0]
    if len(below):
        j = int(below[0])
        if j == 0:
            return 0.0, True
        s0, s1 = float(steps[j - 1]), float(steps[j])
        l0, l1 = math.log(amplitude[j - 1]), math.log(max(amplitude[j], 1e-300))
        return s0 + (math.log(HALF) - l0) / (l1 - l0) * (s1 - s0), True
    last = float(amplitude[-1])
    if not 0.0 < last < 1.0:
        return math.nan, False
    return math.log(HALF) / math.log(last) * float(steps[-1]), False


# --- the run ------------------------------------------------------------------------------------


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """Train the net on the grid, recording the residual's Fourier amplitudes at the target's
    frequencies, and put the kernel prediction beside them."""
    freqs = list(config.frequencies)
    t = angles(config.n)
    x = torch.as_tensor(on_circle(t), dtype=torch.float32, device=dev)
    y = torch.as_tensor(target(config.frequencies, t), dtype=torch.float32, device=dev).unsqueeze(1)
    grid = np.linspace(0.0, 2 * np.pi, GRID)
    x_grid = torch.as_tensor(on_circle(grid), dtype=torch.float32, device=dev)
    spectrum = ntk_spectrum(config.n, config.bias)
    eig = spectrum[freqs]

    stack = mlp.init_parameterized(sizes(config), [mlp.derive_seed(config.seed, "init")], config.parameterization,
                                   b_std=config.bias, device=dev)
    lr = config.lr / config.width if config.parameterization == "standard" else config.lr
    trainer = mlp.Trainer(stack, x, y, lr=lr, optimizer="sgd", steps=config.steps)
    kernel = _kernel(stack, x)
    top_start = float(np.linalg.eigvalsh(kernel)[-1])

    def amplitudes() -> np.ndarray:
        with torch.no_grad():
            residual = (mlp.predict(stack, x)[0, :, 0] - y[:, 0]).double().cpu().numpy()
        return np.abs(np.fft.rfft(residual))[freqs]

    start = amplitudes()
    with torch.no_grad():
        initial_residual = (mlp.predict(stack, x)[0, :, 0] - y[:, 0]).double().cpu().numpy()
    records, rows, functions = record_steps(config.steps), [], []
    marks = set(checkpoints(config.steps))
    report_every = max(1, math.ceil(len(records) / REPORTS))
    for i, step in enumerate(records):
        if step > trainer.done:
            trainer.advance(int(step) - trainer.done)
            if trainer.diverged_step is not None:
                break
        measured = amplitudes() / start
        predicted = decay_factor(config.lr, eig) ** step
        rows.extend({"step": int(step), "frequency": k, "measured": float(m), "predicted": float(p)}
                    for k, m, p in zip(freqs, measured, predicted))
        if step in marks:
            functions.append(_function(stack, x_grid, grid, int(step), config.frequencies))
        if progress is not None and (i + 1) % report_every == 0 and i + 1 < len(records):
            progress(float(step) / config.steps, f"step {step} of {config.steps}", {"modes": pd.DataFrame(rows)})
    modes = pd.DataFrame(rows)
    linear = linearised_amplitudes(kernel, lr, initial_residual, modes["step"].unique(), freqs)
    half_lives = _half_lives(config, modes, eig, linear)
    tables = {
        "modes": modes,
        "function": pd.concat(functions, ignore_index=True),
        "half_lives": half_lives,
        "spectrum": pd.DataFrame({"frequency": np.arange(len(spectrum)), "eigenvalue": spectrum,
                                  "in_target": np.isin(np.arange(len(spectrum)), freqs)}),
    }
    metrics = _metrics(half_lives)
    top_end = math.nan if trainer.diverged_step is not None else float(np.linalg.eigvalsh(_kernel(stack, x))[-1])
    metrics["sharpness"] = 2.0 * lr * top_end / config.n
    metrics["kernel_growth"] = top_end / top_start
    return Result(metrics, tables, _status(config, trainer, half_lives))


def _kernel(stack: mlp.MLPStack, x: torch.Tensor) -> np.ndarray:
    """The net's own tangent kernel on the grid, each tensor weighted by its learning-rate scale:
    the kernel gradient descent moves the outputs with (times the trainer's rate)."""
    return ntk.empirical_ntk(stack, x)[0].double().cpu().numpy()


def linearised_amplitudes(kernel: np.ndarray, lr: float, residual: np.ndarray, steps: np.ndarray,
                          frequencies: list[int]) -> np.ndarray:
    """[len(steps), len(frequencies)]: the relative mode amplitudes of the net linearised at its
    init (its own finite-width kernel, frozen), r_t = (I - 2 lr Theta_0 / n)^t r_0, exactly, in
    Theta_0's eigenbasis. Where the net departs from this, training moved its kernel."""
    n = len(residual)
    evals, evecs = np.linalg.eigh(kernel)
    factors = 1.0 - 2.0 * lr * evals / n
    with np.errstate(over="ignore", invalid="ignore"):
        paths = (factors[None, :] ** np.asarray(steps, dtype=float)[:, None] * (evecs.T @ residual)) @ evecs.T
        amplitudes = np.abs(np.fft.rfft(paths, axis=1))[:, frequencies]
        return amplitudes / amplitudes[:1]


def _function(stack: mlp.MLPStack, x_grid: torch.Tensor, grid: np.ndarray, step: int,
              frequencies: tuple[int, ...]) -> pd.DataFrame:
    with torch.no_grad():
        pred = mlp.predict(stack, x_grid)[0, :, 0].double().cpu().numpy()
    return pd.DataFrame({"angle": grid, "step": step, "prediction": pred, "target": target(frequencies, grid)})


def _half_lives(config: Config, modes: pd.DataFrame, eig: np.ndarray, linear: np.ndarray) -> pd.DataFrame:
    rows = []
    for i, (k, lam) in enumerate(zip(config.frequencies, eig)):
        curve = modes[modes["frequency"] == k]
        steps = curve["step"].to_numpy()
        measured, reached = measured_half_life(steps, curve["measured"].to_numpy())
        rows.append({"frequency": k, "eigenvalue": float(lam), "predicted": predicted_half_life(config.lr, lam),
                     "linearised": measured_half_life(steps, linear[:, i])[0], "measured": measured,
                     "reached": reached})
    return pd.DataFrame(rows)


def _metrics(half_lives: pd.DataFrame) -> dict:
    """learned_order: the frequencies that fell to half, by when they did; then those that did not,
    by their extrapolated half-life."""
    order = half_lives.assign(late=~half_lives["reached"]).sort_values(["late", "measured", "frequency"],
                                                                        na_position="last")["frequency"]
    gap = (half_lives["measured"] - half_lives["predicted"]).abs() / half_lives["predicted"]
    return {
        "learned_order": ",".join(str(int(k)) for k in order),
        "half_life_rel_error": float(gap.max()) if gap.notna().all() else math.nan,
    }


def _status(config: Config, trainer: mlp.Trainer, half_lives: pd.DataFrame) -> contract.Status:
    if trainer.diverged_step is not None:
        return contract.warning(f"diverged at step {trainer.diverged_step}: the loss blew up; try a smaller learning "
                                f"rate, e.g. lr={config.lr / 4:g}; the steps before are still shown")
    late = half_lives[~half_lives["reached"]]["frequency"].tolist()
    if late:
        which = ", ".join(map(str, late))
        return contract.warning(f"frequency {which} did not fall to half its starting amplitude in {config.steps} "
                                f"steps: its measured half-life is extrapolated; give more steps")
    return contract.OK


# --- charts -------------------------------------------------------------------------------------

COLORS = [PALETTE.blue, PALETTE.orange, PALETTE.green, PALETTE.red, PALETTE.purple, PALETTE.ink]
#: Words for the metrics and table columns, as a reader sees them (comparison table, tooltips).
LABELS = {
    "learned_order": "order in which the frequencies were learned",
    "half_life_rel_error": "largest gap between measured and predicted half-life (relative)",
    "sharpness": "sharpness at the end, 2 η λ_max / n",
    "kernel_growth": "growth of the kernel's top eigenvalue in training",
    "step": "gradient-descent step",
    "frequency": "frequency k",
    "measured": "measured",
    "predicted": "predicted by the analytic NTK",
    "linearised": "network linearised at its init",
    "reached": "fell to half in the steps run",
    "eigenvalue": "NTK eigenvalue λₖ",
    "in_target": "in the target",
    "angle": "angle t",
    "prediction": "network output",
    "target": "target",
}


#: The legend's words for the two curves of each frequency.
CURVES = {"measured": "trained network", "predicted": "kernel gradient descent (analytic NTK)"}


def _frequency_scale(frequencies: list[int]) -> alt.Scale:
    return alt.Scale(domain=[f"k = {k}" for k in frequencies], range=COLORS[: len(frequencies)])


def make_charts(result: Result) -> list[Figure]:
    tables = result.tables
    modes = tables["modes"]
    figures = [Figure("Each frequency's share of the error, step by step", _modes_chart(modes), "modes",
                      _modes_caption(tables))]
    if "function" in tables:
        figures.append(Figure("What the network computes on the way", _function_chart(tables["function"]),
                              "function", "The net's output around the circle at a few steps (the legend gives each "
                              "colour's step) over the target (thick grey). It starts at its random initial function, takes the slow "
                              "wave first and the fast wiggles last."))
    if "spectrum" in tables:
        figures.append(Figure("The tangent kernel's eigenvalue per frequency", _spectrum_chart(tables["spectrum"]),
                              "spectrum", "Analytic infinite-width NTK of this net on the grid: the eigenvalue of its "
                              "Fourier mode k (the Gram matrix is circulant). The target's frequencies are the large "
                              "coloured dots. A mode's half-life is about ln 2 / (2 η λₖ) steps, η the learning rate."))
    if "half_lives" in tables:
        figures.append(Figure("Half-lives: the network against the kernel's prediction",
                              _half_life_chart(tables["half_lives"]), "half_lives", _half_life_caption(tables)))
    return figures


def _modes_caption(tables: dict[str, pd.DataFrame]) -> str:
    text = ("The residual f − y's amplitude at each target frequency, relative to its value at step 0 (log scale). "
            "Solid: the trained network; dashed: gradient descent with the analytic NTK, (1 − 2 η λₖ)ᵗ, η the learning rate.")
    half = tables.get("half_lives")
    if half is None or half.empty:
        return text
    parts = [f"k = {int(r.frequency)}: {r.measured:.0f} ({r.predicted:.0f})" for r in half.itertuples()]
    return text + " Half-lives in steps, measured (predicted): " + "; ".join(parts) + "."


def _half_life_caption(tables: dict[str, pd.DataFrame]) -> str:
    half = tables["half_lives"]
    gap = (half["measured"] - half["predicted"]) / half["predicted"]
    worst = int(gap.abs().idxmax()) if gap.notna().any() else None
    text = ("Steps until each frequency's residual halves, log-log; on the dashed diagonal a net does exactly "
            "what the infinite-width kernel predicts. Dots: the trained network. Open diamonds: the same network "
            "linearised at its init (its own finite-width kernel, frozen); where the dot leaves the diamond, "
            "training moved the kernel.")
    if worst is None:
        return text
    row = half.loc[worst]
    return text + (f" Largest gap: k = {int(row['frequency'])}, {row['measured']:.0f} steps measured against "
                   f"{row['predicted']:.0f} predicted ({gap[worst]:+.0%}).")


def _modes_chart(modes: pd.DataFrame) -> alt.LayerChart:
    frequencies = sorted(int(k) for k in modes["frequency"].unique())
    long = modes.melt(id_vars=["step", "frequency"], value_vars=["measured", "predicted"], var_name="curve",
                      value_name="amplitude")
    long = long[np.isfinite(long["amplitude"]) & (long["amplitude"] >= FLOOR)].copy()
    long["k"] = "k = " + long["frequency"].astype(int).astype(str)
    long["curve"] = long["curve"].map(CURVES)
    color = alt.Color("k:N", title="frequency", scale=_frequency_scale(frequencies),
                      legend=alt.Legend(orient="right"))
    dash = alt.StrokeDash("curve:N", title="curve", scale=alt.Scale(domain=list(CURVES.values()), range=[[1, 0], [6, 4]]),
                          legend=alt.Legend(orient="right", symbolStrokeColor=PALETTE.grey, labelLimit=0))
    return alt.Chart(long).mark_line(strokeWidth=2).encode(
        x=alt.X("step:Q", title="gradient-descent step"),
        y=log_y("amplitude", "residual amplitude / its start (log scale)", values=long["amplitude"]),
        color=color, strokeDash=dash, detail="curve:N",
        tooltip=[alt.Tooltip("k:N", title="frequency"), alt.Tooltip("curve:N", title="curve"),
                 alt.Tooltip("step:Q", title=LABELS["step"]), alt.Tooltip("amplitude:Q", title="relative amplitude", format=".3g")],
    ).properties(height=380)


def _function_chart(function: pd.DataFrame) -> alt.LayerChart:
    x = alt.X("angle:Q", title="angle t on the circle (radians)", scale=alt.Scale(domain=[0, 2 * math.pi], nice=False))
    first = function[function["step"] == function["step"].min()]
    target_line = alt.Chart(first).mark_line(color=PALETTE.light_grey, strokeWidth=6).encode(
        x=x, y=alt.Y("target:Q", title="output"))
    steps = sorted(int(s) for s in function["step"].unique())
    scale = alt.Scale(domain=[str(s) for s in steps], scheme=ORDERED)
    data = function.assign(at=function["step"].astype(int).astype(str))
    lines = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=x, y="prediction:Q",
        color=alt.Color("at:O", title="step", scale=scale, sort=[str(s) for s in steps],
                        legend=alt.Legend(orient="bottom", direction="horizontal")),
        tooltip=[alt.Tooltip("step:Q", title=LABELS["step"]), alt.Tooltip("angle:Q", title=LABELS["angle"], format=".2f"),
                 alt.Tooltip("prediction:Q", title=LABELS["prediction"], format=".3f"),
                 alt.Tooltip("target:Q", title=LABELS["target"], format=".3f")],
    )
    return alt.layer(target_line, lines).properties(height=340)


def _spectrum_chart(spectrum: pd.DataFrame) -> alt.LayerChart:
    data = spectrum[spectrum["frequency"] >= 1].copy()
    targets = data[data["in_target"]].copy()
    targets["k"] = "k = " + targets["frequency"].astype(int).astype(str)
    top = max(2, int(data["frequency"].max()))
    x = log_axis("frequency", "frequency k (log scale)", values=[1, top], domain=[1, top], nice=False)
    y = log_y("eigenvalue", "NTK eigenvalue λₖ (log scale)", values=data["eigenvalue"])
    tooltip = [alt.Tooltip("frequency:Q", title=LABELS["frequency"]),
               alt.Tooltip("eigenvalue:Q", title=LABELS["eigenvalue"], format=".3g")]
    every = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(color=PALETTE.grey), color=PALETTE.grey).encode(
        x=x, y=y, tooltip=tooltip)
    marked = alt.Chart(targets).mark_point(filled=True, size=160, opacity=1).encode(
        x=x, y=y, color=alt.Color("k:N", title="target", scale=_frequency_scale(sorted(targets["frequency"].astype(int)))),
        tooltip=tooltip)
    return alt.layer(every, marked).properties(height=300)


def _half_life_chart(half: pd.DataFrame) -> alt.LayerChart:
    long = half.melt(id_vars=["frequency", "predicted"], value_vars=["measured", "linearised"], var_name="net",
                     value_name="half_life")
    long = long[np.isfinite(long["half_life"]) & (long["half_life"] > 0) & np.isfinite(long["predicted"])
                & (long["predicted"] > 0)].copy()
    long["k"] = "k = " + long["frequency"].astype(int).astype(str)
    long["net"] = long["net"].map({"measured": "trained network", "linearised": "linearised at init"})
    values = np.concatenate([long["half_life"].to_numpy(), long["predicted"].to_numpy()]) if len(long) else np.ones(1)
    lo, hi = float(values.min()) / 2, float(values.max()) * 2
    x = log_axis("predicted", "predicted half-life, analytic NTK (steps, log)", values=[lo, hi])
    y = log_y("half_life", "half-life (steps, log)", values=[lo, hi])
    diagonal = alt.Chart(pd.DataFrame({"predicted": [lo, hi], "half_life": [lo, hi]})).mark_line(
        strokeDash=[6, 4], color=PALETTE.ink).encode(x=x, y=y)
    color = alt.Color("k:N", title="frequency", scale=_frequency_scale(sorted(long["frequency"].astype(int).unique())))
    tooltip = [alt.Tooltip("k:N", title="frequency"), alt.Tooltip("net:N", title="network"),
               alt.Tooltip("predicted:Q", title="predicted half-life (steps)", format=".1f"),
               alt.Tooltip("half_life:Q", title="half-life (steps)", format=".1f")]
    trained = alt.Chart(long[long["net"] == "trained network"]).mark_point(
        filled=True, size=180, opacity=1).encode(x=x, y=y, color=color, tooltip=tooltip)
    linear = alt.Chart(long[long["net"] == "linearised at init"]).mark_point(
        shape="diamond", filled=False, size=260, strokeWidth=2).encode(x=x, y=y, color=color, tooltip=tooltip)
    return alt.layer(diagonal, linear, trained).properties(height=320)


#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "NTK, wide: the kernel predicts the rates": {},
    "Wider still (16,384 units): the gap at k = 8 closes": {"width": 16384},
    "μP: the features move": {"parameterization": "mup", "steps": 8000},
    "High frequencies need many more steps": {"frequencies": (1, 3, 6, 10), "steps": 6000},
    "Tiny bias: odd frequencies stall": {"bias": 0.1, "frequencies": (1, 3, 4, 6), "steps": 3000},
}

EXPERIMENT = contract.Experiment(
    name="spectral-bias",
    title="Simplicity bias",
    claim="Networks learn a function's low frequencies first, at rates the tangent kernel's spectrum predicts.",
    icon=":material/graphic_eq:",
    order=25,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    presets=PRESETS,
    labels=LABELS,
)
