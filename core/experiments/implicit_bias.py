"""Implicit bias of gradient descent: among the many zero-loss solutions it picks a particular one.

Regression (n < p least squares): GD from w0 ends at pinv(X) y + (I - pinv(X) X) w0, so from zero
it finds the minimum-norm interpolant, and the part of w0 in the null space of X never moves.
Classification (separable data, logistic loss): the weights grow without bound, but their
direction converges to the hard-margin SVM's, only like 1/log t (Soudry et al. 2018).

Everything is float64 numpy; GD is run step by step (it is the object of study) but recorded at
log-spaced steps only, so 100000-step runs give small tables.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from sklearn.svm import SVC

from core import contract, linear
from core.charts import PALETTE, log_axis, log_y, words
from core.contract import Figure, Result, param
from core.mlp import derive_seed

#: Recorded steps per run (log-spaced, plus step 0 and the last).
RECORD = 160
#: Shift of each point along the teacher direction, so classes are separable by a clear margin.
CLASS_GAP = 0.5
#: C of the SVM: large enough that no slack is used, i.e. the hard-margin SVM.
HARD_MARGIN_C = 1e10
#: A loss this many times its start (or not finite) counts as divergence.
BLOWUP = 1e8
#: Steps at most in the 2-D picture (it stops earlier once the path has landed).
PLANE_STEPS = 60
#: |w0| in the 2-D picture (fixed: the picture is about geometry, not about the init control).
PLANE_W0 = 1.6


@dataclass(frozen=True)
class Config:
    task: str = param("regression", "least squares (n < p: many interpolants) or logistic loss on separable data",
                      choices=("regression", "classification"), label="task")
    n: int = param(20, "training samples", lo=1, hi=100, label="training samples n")
    p: int = param(100, "parameters (features)", lo=2, hi=500, label="parameters p")
    init: float = param(0.0, "norm of the starting point w₀ (random direction); 0 starts at the origin",
                        lo=0.0, hi=2.0, step=0.1, label="start |w₀|")
    steps: int = param(2000, "full-batch gradient steps", lo=10, hi=100_000, label="gradient steps")
    lr: float = param(0.3, "step size as a fraction of the stable limit 2 / (largest Hessian eigenvalue)",
                      lo=0.01, hi=1.2, step=0.01, label="step size (fraction of the stable limit)")
    seed: int = param(0, "random seed for the data and w₀", lo=0, hi=2**31 - 1, label="random seed")


def flops(config: Config) -> float:
    """Two n x p matrix-vector products per step, the SVD behind pinv and (classification) the
    SVM's kernel matrix on the mirrored data."""
    n, p = config.n, config.p
    svd = 4 * n * p * min(n, p)
    svm = 8 * n * n * p if config.task == "classification" else 0
    return 4 * n * p * config.steps + svd + svm


def record_steps(steps: int) -> np.ndarray:
    """Step 0, then log-spaced steps up to the last: slow (log t) convergence needs a log axis."""
    return np.unique(np.concatenate([[0], np.geomspace(1, steps, RECORD).round().astype(int)]))


def size(config: Config) -> tuple[int, int]:
    return config.p, config.n


def run(config: Config, progress: contract.Progress | None, dev: torch.device) -> Result:
    """numpy float64 on the CPU whatever ``dev`` says: matrix-vector steps this small would
    spend their time launching GPU kernels."""
    with linear.single_threaded_blas():
        return _regression(config, progress) if config.task == "regression" else _classification(config, progress)


def regression_problem(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n x p), y from a linear teacher plus noise, and w0 with |w0| = init exactly."""
    rng = np.random.default_rng(derive_seed(config.seed, "regression"))
    X = rng.standard_normal((config.n, config.p))
    y = X @ (rng.standard_normal(config.p) / math.sqrt(config.p)) + 0.1 * rng.standard_normal(config.n)
    direction = rng.standard_normal(config.p)
    return X, y, config.init * direction / np.linalg.norm(direction)


def _regression(config: Config, progress: contract.Progress | None) -> Result:
    X, y, w0 = regression_problem(config)
    n = config.n
    pinv = np.linalg.pinv(X)
    w_min = pinv @ y
    limit = w_min + w0 - pinv @ (X @ w0)
    scale = float(np.linalg.norm(w_min)) or 1.0
    hessian_top = 2 * np.linalg.norm(X, 2) ** 2 / n  # MSE = |Xw - y|^2 / n has Hessian 2 X^T X / n
    eta = config.lr * 2 / hessian_top
    null0 = w0 - pinv @ (X @ w0)

    def row(step: int, w: np.ndarray) -> dict:
        moved = (w - w0) - pinv @ (X @ (w - w0))  # null-space part of the displacement
        return {"step": step, "train_loss": float(np.mean((X @ w - y) ** 2)),
                "dist_to_min_norm": float(np.linalg.norm(w - w_min)) / scale,
                "dist_to_limit": float(np.linalg.norm(w - limit)) / scale,
                "norm": float(np.linalg.norm(w)), "_moved": float(np.linalg.norm(moved)) / scale}

    def update(w: np.ndarray) -> np.ndarray:
        return w - eta * (2 / n) * (X.T @ (X @ w - y))

    rows, stopped = _descend(w0.copy(), update, row, config, progress, "trajectory")
    traj = pd.DataFrame(rows)
    last = traj.iloc[-1]
    metrics = {
        "dist_to_min_norm": float(last["dist_to_min_norm"]),
        "dist_to_limit": float(last["dist_to_limit"]),
        "null_space_part": float(np.linalg.norm(null0)) / scale,
        "null_space_moved": float(traj["_moved"].max()),
        "train_loss": float(last["train_loss"]),
        "min_norm": scale,
        "limit_norm": float(np.linalg.norm(limit)),
    }
    tables = {"trajectory": traj.drop(columns="_moved"), "plane": plane(config)}
    return Result(metrics, tables, _divergence(stopped, config))


def _descend(w: np.ndarray, update: Callable[[np.ndarray], np.ndarray], row: Callable[[int, np.ndarray], dict],
             config: Config, progress: contract.Progress | None, table: str) -> tuple[list[dict], int | None]:
    """Run ``steps`` GD updates, recording rows at the log-spaced steps; stop at divergence
    (returns the step) with the rows so far kept."""
    marks = record_steps(config.steps)
    rows = [row(0, w)]
    first = rows[0].get("train_loss", 1.0) or 1.0
    report_every = max(1, len(marks) // 10)
    for i, (a, b) in enumerate(itertools.pairwise(marks)):
        for _ in range(a, b):
            w = update(w)
        rows.append(row(int(b), w))
        loss = rows[-1]["train_loss"]
        if not math.isfinite(loss) or loss > BLOWUP * first:
            return rows[:-1] if not math.isfinite(loss) else rows, int(b)
        if progress is not None and (i + 1) % report_every == 0:
            progress(b / config.steps, f"step {b} of {config.steps}", {table: pd.DataFrame(rows)[_COLUMNS[table]]})
    return rows, None


#: Words for the metrics and table columns, as a reader sees them (comparison table, legends).
LABELS = {
    "dist_to_min_norm": "distance to the minimum-norm interpolant",
    "dist_to_limit": "distance to the predicted limit",
    "null_space_part": "null-space part of w₀ (the plateau)",
    "null_space_moved": "largest move of the null-space part",
    "train_loss": "training loss",
    "min_norm": "norm of the minimum-norm interpolant",
    "limit_norm": "norm of the predicted limit",
    "cosine_to_svm": "cosine to the SVM direction",
    "normalized_margin": "normalized margin",
    "svm_margin": "SVM margin",
    "weight_norm": "weight norm |w|",
    "norm": "weight norm |w|",
    "step": "step",
    "kind": "path",
    "w1": "w₁",
    "w2": "w₂",
}

_COLUMNS = {"trajectory": ["step", "train_loss", "dist_to_min_norm", "dist_to_limit", "norm"],
            "margin": ["step", "cosine_to_svm", "normalized_margin", "norm"]}


def _divergence(stopped: int | None, config: Config) -> contract.Status:
    if stopped is None:
        return contract.OK
    return contract.warning(f"diverged by step {stopped}: lr = {config.lr:g} of the stable limit is beyond it (above 1 "
                            f"the steepest direction overshoots more each step); use lr below 1, e.g. lr=0.5")


def plane(config: Config) -> pd.DataFrame:
    """The 2-D picture (p = 2, n = 1): GD from 0 and from w0, the line of solutions x.w = y, and
    the perpendicular from w0 to it. Gradients are multiples of x, so every path runs along x,
    perpendicular to the line, and lands at the foot of the perpendicular from its start."""
    rng = np.random.default_rng(derive_seed(config.seed, "plane"))
    angle = rng.uniform(0.15, 0.35) * math.pi
    x = 1.5 * np.array([math.cos(angle), math.sin(angle)])
    y = 1.2
    unit = x / np.linalg.norm(x)
    along = np.array([-unit[1], unit[0]])
    w_min = y * x / (x @ x)
    w0 = PLANE_W0 * (2 * along - unit) / math.sqrt(5)  # off the line, and not on the x axis through 0
    eta = config.lr * 2 / (2 * (x @ x))
    frames = [_plane_path("GD from 0", np.zeros(2), x, y, eta), _plane_path("GD from w0", w0, x, y, eta)]
    foot = w_min + (w0 @ along) * along
    span = np.array([-2.2, 2.2])
    line = w_min + span[:, None] * along
    frames.append(pd.DataFrame({"kind": "solutions x·w = y", "step": np.nan, "w1": line[:, 0], "w2": line[:, 1]}))
    frames.append(pd.DataFrame({"kind": "perpendicular from w0", "step": np.nan,
                                "w1": [w0[0], foot[0]], "w2": [w0[1], foot[1]]}))
    return pd.concat(frames, ignore_index=True)


def _plane_path(kind: str, w: np.ndarray, x: np.ndarray, y: float, eta: float) -> pd.DataFrame:
    points = [w]
    for _ in range(PLANE_STEPS):
        w = w - eta * 2 * x * (x @ w - y)
        points.append(w)
        if abs(x @ w - y) < 1e-4 or not np.all(np.isfinite(w)) or np.abs(w).max() > 10:
            break
    arr = np.array(points)
    return pd.DataFrame({"kind": kind, "step": np.arange(len(arr), dtype=float), "w1": arr[:, 0], "w2": arr[:, 1]})


def classification_problem(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian points labelled by a random teacher, each pushed CLASS_GAP along it: separable
    through the origin for any n and p, so the SVM without intercept exists; and w0."""
    rng = np.random.default_rng(derive_seed(config.seed, "classification"))
    X = rng.standard_normal((config.n, config.p))
    teacher = rng.standard_normal(config.p)
    teacher /= np.linalg.norm(teacher)
    y = np.where(X @ teacher >= 0, 1.0, -1.0)
    direction = rng.standard_normal(config.p)
    return X + CLASS_GAP * y[:, None] * teacher, y, config.init * direction / np.linalg.norm(direction)


def hard_margin_svm(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The hard-margin linear SVM through the origin: min |w| subject to y_i x_i.w >= 1.

    scikit-learn's SVC always fits an intercept; on the mirrored data set {(x, y), (-x, -y)}
    the optimal intercept is 0 by symmetry, so SVC there solves exactly the problem without one
    (LinearSVC(fit_intercept=False) would too, but liblinear needs minutes at a hard-margin C)."""
    svm = SVC(kernel="linear", C=HARD_MARGIN_C, tol=1e-10).fit(np.vstack([X, -X]), np.concatenate([y, -y]))
    return svm.coef_.ravel().astype(float)


def _classification(config: Config, progress: contract.Progress | None) -> Result:
    X, y, w0 = classification_problem(config)
    n = config.n
    w_svm = hard_margin_svm(X, y)
    svm_dir = w_svm / np.linalg.norm(w_svm)
    signed = X * y[:, None]
    smoothness = np.linalg.norm(X, 2) ** 2 / (4 * n)  # logistic loss: Hessian <= X^T X / (4n)
    eta = config.lr * 2 / smoothness

    def row(step: int, w: np.ndarray) -> dict:
        margins = signed @ w
        norm = float(np.linalg.norm(w))
        return {"step": step, "train_loss": float(np.mean(np.logaddexp(0.0, -margins))),
                "cosine_to_svm": float(w @ svm_dir) / norm if norm > 0 else 0.0,
                "normalized_margin": float(margins.min()) / norm if norm > 0 else 0.0, "norm": norm}

    def update(w: np.ndarray) -> np.ndarray:
        return w + eta * (signed.T @ expit(-(signed @ w))) / n

    rows, stopped = _descend(w0, update, row, config, progress, "margin")
    table = pd.DataFrame(rows)
    last = table.iloc[-1]
    metrics = {
        "cosine_to_svm": float(last["cosine_to_svm"]),
        "normalized_margin": float(last["normalized_margin"]),
        "svm_margin": float(1 / np.linalg.norm(w_svm)),
        "train_loss": float(last["train_loss"]),
        "weight_norm": float(last["norm"]),
    }
    return Result(metrics, {"margin": table[_COLUMNS["margin"]]}, _divergence(stopped, config))


def make_charts(result: Result) -> list[Figure]:
    tables = result.tables
    figures = []
    if "trajectory" in tables:
        figures.append(Figure("Where gradient descent goes", _trajectory_chart(result), "trajectory",
                              "Distance of the iterate to the minimum-norm interpolant and to the predicted limit "
                              "pinv(X)y + (I − pinv(X)X)w₀, relative to |pinv(X)y|; from w₀ = 0 the two coincide and the dashed "
                              "line runs along the solid one. "
                              "With w₀ ≠ 0 the solid grey line is the theory's plateau: |null-space part of w₀| / |pinv(X)y|. "
                              + _regression_text(result.metrics)))
    if "plane" in tables:
        figures.append(Figure("The same in two dimensions (p = 2, n = 1)", _plane_chart(tables["plane"]), "plane",
                              "Every point on the grey line fits the one data point exactly. Gradients are multiples of x, "
                              "so GD moves perpendicular to the line and lands at the foot of the perpendicular from "
                              "where it started: from 0 that is the minimum-norm solution."))
    if "margin" in tables:
        figures.append(Figure("The direction converges to the max-margin SVM, slowly", _margin_charts(result), "margin",
                              "Left: 1 − cosine between GD's weights and the hard-margin SVM (scikit-learn), on log "
                              "axes: a straight line would be a power law; this is slower. Right: the SVM margin minus "
                              "GD's normalized margin min_i y_i x_i·w / |w|; dashed: the rate C / log t of Soudry et al. "
                              "(2018), matched at the last step. " + _classification_text(result)))
    return figures


def _regression_text(m: dict) -> str:
    if "dist_to_min_norm" not in m:
        return ""
    return (f"Here, at the last step: distance to the min-norm interpolant {m['dist_to_min_norm']:.2g}, to the predicted "
            f"limit {m['dist_to_limit']:.2g}; the null-space part of w₀ moved by at most {m['null_space_moved']:.2g}.")


def _classification_text(result: Result) -> str:
    """The last step's numbers, and |w|'s growth over the last decade of steps against the
    ln(10) |w_SVM| that w(t) ~ w_SVM log t predicts (Soudry et al.)."""
    m = result.metrics
    if "cosine_to_svm" not in m:
        return ""
    text = (f"Here, at the last step: cosine {m['cosine_to_svm']:.6f}, normalized margin {m['normalized_margin']:.4g} "
            f"against the SVM's {m['svm_margin']:.4g}.")
    growth = norm_growth_per_decade(result.tables["margin"])
    if growth is not None:
        text += (f" |w| grew by {growth:.3g} over the last tenfold of steps; w(t) ≈ w_SVM log t predicts "
                 f"ln(10) |w_SVM| = {math.log(10) / m['svm_margin']:.3g}.")
    return text


def norm_growth_per_decade(margin: pd.DataFrame) -> float | None:
    """|w| at the last step minus |w| at a tenth of it (None for runs under 100 steps)."""
    last = int(margin["step"].iloc[-1])
    if last < 100:
        return None
    steps = margin["step"].to_numpy()
    tenth = int(np.abs(steps - last / 10).argmin())
    return float(margin["norm"].iloc[-1] - margin["norm"].iloc[tenth])


def _log_step_x(steps: pd.Series) -> alt.X:
    top = max(2, int(steps.max()))
    return log_axis("step", "step (log)", values=[1, top], nice=False, domain=[1, top])


def _trajectory_chart(result: Result) -> alt.LayerChart:
    traj = result.tables["trajectory"]
    distances = ["dist_to_min_norm", "dist_to_limit"]
    long = traj[traj["step"] > 0].melt(id_vars="step", value_vars=distances, var_name="distance to",
                                        value_name="relative distance")
    long["relative distance"] = long["relative distance"].clip(lower=1e-16)
    long = words(long, "distance to", LABELS)
    to_min, to_limit = (long["distance to"] == LABELS[d] for d in distances)
    x = _log_step_x(traj["step"])
    y = log_y("relative distance", "distance / |pinv(X) y| (log)", values=long["relative distance"])
    color = alt.Color("distance to:N", title=None,
                      legend=alt.Legend(orient="bottom", labelLimit=0, symbolType="stroke", symbolOpacity=1,
                                        symbolStrokeWidth=3),
                      scale=alt.Scale(domain=[LABELS[d] for d in distances], range=[PALETTE.blue, PALETTE.red]))
    tooltip = [alt.Tooltip("step:Q", title="step"), alt.Tooltip("distance to:N", title="distance"),
               alt.Tooltip("relative distance:Q", title="relative distance", format=".3g")]
    # the min-norm distance wide and half transparent, the limit distance dashed on top: from w0 = 0
    # they coincide, and the dashes then run along the wide line, so neither hides the other
    wide = alt.Chart(long[to_min]).mark_line(strokeWidth=6, opacity=0.45).encode(x=x, y=y, color=color, tooltip=tooltip)
    dashed = alt.Chart(long[to_limit]).mark_line(strokeDash=[6, 3], strokeWidth=2).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    layers = [wide, dashed]
    plateau = result.metrics.get("null_space_part")
    if plateau:
        frame = pd.DataFrame({"theory": [plateau], "label": ["theory: |null-space part of w₀|"]})
        layers.append(alt.Chart(frame).mark_rule(color=PALETTE.grey).encode(y="theory:Q"))
        layers.append(alt.Chart(frame).mark_text(align="left", baseline="bottom", dx=4, dy=-2, color=PALETTE.dark_grey).encode(
            x=alt.value(0), y="theory:Q", text="label:N"))
    return alt.layer(*layers).properties(height=300)


def _plane_chart(data: pd.DataFrame) -> alt.HConcatChart:
    scale = alt.Scale(domain=[-2.5, 2.5], nice=False)
    x, y = alt.X("w1:Q", scale=scale, title="w₁"), alt.Y("w2:Q", scale=scale, title="w₂")
    kinds = ["solutions x·w = y", "perpendicular from w0", "GD from 0", "GD from w0"]
    color = alt.Color("kind:N", title=None, legend=alt.Legend(labelExpr="replace(datum.label, 'w0', 'w₀')"),
                      scale=alt.Scale(domain=kinds, range=[PALETTE.grey, PALETTE.light_grey, PALETTE.blue, PALETTE.red]))
    static = alt.Chart(data[data["step"].isna()]).mark_line(clip=True).encode(
        x=x, y=y, color=color, detail="kind:N", order="w1:Q",
        strokeDash=alt.condition(alt.datum.kind == "perpendicular from w0", alt.value([5, 4]), alt.value([1, 0])))
    paths = alt.Chart(data[data["step"].notna()]).mark_line(point=True, clip=True).encode(
        x=x, y=y, color=color, order="step:Q", tooltip=[alt.Tooltip("kind:N", title="path"), alt.Tooltip("step:Q", title="step"),
                                                        alt.Tooltip("w1:Q", title="w₁", format=".3f"),
                                                        alt.Tooltip("w2:Q", title="w₂", format=".3f")])
    labels = alt.Chart(_plane_labels(data)).mark_text(align="left", dx=7, dy=-7, fontSize=13, color=PALETTE.ink).encode(
        x=x, y=y, text="label:N")
    # a one-panel hconcat keeps its fixed width when the page stretches charts: equal axes, true right angles
    return alt.hconcat(alt.layer(static, paths, labels).properties(width=440, height=440))


def _plane_labels(data: pd.DataFrame) -> pd.DataFrame:
    """w0 and the two landing points (the last point of each path)."""
    from_zero = data[data["kind"] == "GD from 0"]
    from_w0 = data[data["kind"] == "GD from w0"]
    rows = [("w₀", from_w0.iloc[0]), ("min-norm", from_zero.iloc[-1]), ("limit from w₀", from_w0.iloc[-1])]
    return pd.DataFrame([{"label": label, "w1": r["w1"], "w2": r["w2"]} for label, r in rows])


def _margin_charts(result: Result) -> alt.Chart | alt.HConcatChart:
    """Cosine panel, plus the margin-gap panel once the run is done (it needs the SVM margin)."""
    cosine = _cosine_chart(result.tables["margin"])
    if "svm_margin" not in result.metrics:
        return cosine
    return alt.hconcat(cosine, _margin_chart(result))


def _cosine_chart(margin: pd.DataFrame) -> alt.Chart:
    data = margin[margin["step"] > 0].assign(gap=lambda d: (1 - d["cosine_to_svm"]).clip(lower=1e-16))
    return alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=_log_step_x(margin["step"]), y=log_y("gap", "1 − cosine to the SVM direction", values=data["gap"]),
        color=alt.value(PALETTE.blue),
        tooltip=[alt.Tooltip("step:Q", title="step"), alt.Tooltip("cosine_to_svm:Q", title=LABELS["cosine_to_svm"], format=".6f")],
    ).properties(width=380, height=280)


def _margin_chart(result: Result) -> alt.Chart:
    margin = result.tables["margin"]
    svm = result.metrics["svm_margin"]
    data = margin[margin["step"] > 1].assign(gap=lambda d: svm - d["normalized_margin"])
    data = data[data["gap"] > 0]
    x = _log_step_x(margin["step"])
    y = log_y("gap", "SVM margin − normalized margin", values=data["gap"])
    sim = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=12), color=PALETTE.blue).encode(
        x=x, y=y, tooltip=[alt.Tooltip("step:Q", title="step"),
                           alt.Tooltip("normalized_margin:Q", title=LABELS["normalized_margin"], format=".4f")])
    if data.empty:
        return sim.properties(width=380, height=280)
    last = data.iloc[-1]
    rate = data[["step"]].assign(gap=lambda d: last["gap"] * math.log(last["step"]) / np.log(d["step"]))
    theory = alt.Chart(rate).mark_line(strokeDash=[6, 4], color=PALETTE.grey).encode(x=x, y=y)
    return alt.layer(sim, theory).properties(width=380, height=280)


#: Named settings that make the point: the page offers them, the warm start computes them.
PRESETS = {
    "From zero: the minimum-norm interpolant": {},
    "From a random w0: the null-space part stays": {"init": 1.0},
    "Step above the stable limit (diverges)": {"lr": 1.2, "init": 1.0},
    "Logistic loss → max-margin, slowly": {"task": "classification", "steps": 100_000, "lr": 0.9},
}

EXPERIMENT = contract.Experiment(
    name="implicit-bias",
    title="Implicit bias",
    claim="Gradient descent picks the minimum-norm fit, or the max-margin direction, without being told.",
    icon=":material/call_split:",
    order=20,
    config=Config,
    run=run,
    flops=flops,
    charts=make_charts,
    size=size,
    backend="cpu (numpy float64)",
    presets=PRESETS,
    labels=LABELS,
)
