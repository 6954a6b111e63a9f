"""Page: Costs and scaling."""

from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.experiments import scaling
from core.experiments.scaling import CHINCHILLA, KAPLAN, KAPLAN_QUOTED_EXPONENT, REFERENCE_MODELS
from core.experiments.scaling.laws import CHINCHILLA_D, CHINCHILLA_N
from core.experiments.scaling.timing import REPEATS, WARMUP
from ui import page


def _count(x: float) -> str:
    """3.35e10 -> '33.5 B', 1e15 -> '1,000 T': counts of parameters and tokens read at a glance."""
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            value = x / size
            return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"
    return f"{x:.3g}"


def at_your_settings(m: Mapping[str, Any]) -> None:
    """The scaling-law numbers of this setting, beside the cost row's numbers of the run itself."""
    st.subheader("At your settings")
    top = st.columns(3)
    top[0].metric("Loss at your (N, D)", f"{m['loss']:.4f}", help=f"{m['law']} law; the run costs 6ND = {m['point_flops']:.2g} FLOPs")
    top[1].metric("Compute-optimal N", _count(m["params_opt"]), help=f"minimises the loss subject to 6ND = {m['compute']:.2g}")
    top[2].metric("Compute-optimal D (tokens)", _count(m["tokens_opt"]),
                  help=f"{m['tokens_per_param_opt']:.0f} tokens per parameter; loss {m['loss_opt']:.4f}")
    low = st.columns(3)
    low[0].metric("Counting inference: N", _count(m["params_opt_inf"]), f"{m['params_opt_inf'] / m['params_opt'] - 1:+.0%}",
                  delta_color="off", help="the cheapest model, training plus serving, that reaches the same loss")
    low[1].metric("Counting inference: D (tokens)", _count(m["tokens_opt_inf"]),
                  f"{m['tokens_opt_inf'] / m['tokens_opt'] - 1:+.0%}", delta_color="off")
    low[2].metric("Lifetime compute saved", f"{m['lifetime_saving']:.1%}",
                  help=f"{m['lifetime_flops']:.3g} FLOPs for the compute-optimal model over its life, "
                       f"{m['lifetime_flops_inf']:.3g} for the inference-aware one")


def checklist(m: Mapping[str, Any] | None) -> None:
    """The textbook's decision table as radio rows; the weighing lives in core (scaling.lean)."""
    st.subheader("Go big or stay small? The textbook's decision table as a checklist")
    st.caption("Pick the side of each row that fits your project; the leaning and its reasons update as you click. "
               "The rows are the textbook's and count equally: a way to organise the decision, not a result.")
    answers = {}
    for f in scaling.FACTORS:
        answers[f.key] = st.radio(f.question, [f.big, scaling.UNSURE, f.small], index=1, horizontal=True,
                                  key=f"_lean_{f.key}")
    leaning = scaling.lean(answers)
    box = st.success if leaning.score >= 2 else st.warning if leaning.score <= -2 else st.info
    box(leaning.verdict)
    if leaning.reasons:
        st.markdown("\n".join(f"- {reason}" for reason in leaning.reasons))
    if m is not None and answers["inference_compute"] == scaling.FACTORS[1].small:
        st.markdown(f"On this page's numbers: serving {_count(m['inference_tokens'])} tokens moves the best model from "
                    f"{_count(m['params_opt'])} to {_count(m['params_opt_inf'])} parameters, trained on "
                    f"{_count(m['tokens_opt_inf'])} tokens instead of {_count(m['tokens_opt'])}.")


# The numbers the text quotes, computed from the laws it describes (milliseconds), never typed.
N_AT_CHINCHILLA, D_AT_CHINCHILLA, _ = scaling.optimum(CHINCHILLA, scaling.Config().compute)
LLAMA3_TOKENS_PER_PARAM = {name: d / n for name, n, d in REFERENCE_MODELS}["Llama 3 8B"]

result = page.render(
    scaling.EXPERIMENT,
    intro=(
        "Two published scaling laws predict a language model's loss from its size N and its training tokens D. "
        "You will see the loss along fixed compute budgets, how the compute-optimal model grows with the budget, "
        "how counting the cost of serving the model shrinks it, and, measured live, what one training step of "
        "this app's own networks costs on this machine. The cost row below the controls (parameters, FLOPs, wall "
        "time) describes that timing run of small networks, not the language model the controls describe; the "
        "language model's numbers are under *At your settings*."
    ),
    question="your compute budget grows tenfold. How much bigger should the compute-optimal model get? "
    "And if it will later serve ten trillion tokens, should it be bigger or smaller than that?",
    answers=("10× bigger", "about 3× bigger", "the same size"),
    answer=1,
    because=(
        "Under the Chinchilla law the compute-optimal size grows like C to the power of about 0.45, so ten "
        "times the budget buys about three times the parameters; ten trillion tokens of serving then move the "
        "optimum to a smaller model trained on more tokens."
    ),
    why=f"""
**What is optimised, exactly.** *Compute-optimal* (the frontier): minimise the predicted loss L(N, D)
subject to a training budget C = 6ND (6 FLOPs per parameter per token: 2 forward, 4 backward). Both laws
have the form L = E + (k_N N^-a + k_D D^-b)^p, which gives the closed form N_opt = G (C/6)^(b/(a+b)),
G = (a k_N / (b k_D))^(1/(a+b)). The page finds the optimum numerically (scipy's bounded Brent on log N)
and draws the closed form beside it; they agree to better than one part in a million.

*Counting inference* (Sardana & Frankle 2023): hold the quality fixed at the compute-optimal loss L* and
minimise the lifetime compute 6ND + 2N·T over every model that reaches L*, where T is the number of tokens
the model will process after training (2 FLOPs per parameter per token, forward only). Along the curve of
equal loss a smaller model needs more tokens, so it costs more to train but less to serve: the optimum
moves to smaller N and larger D as T grows. The usual "compute-optimal" calculators stop at the first step.

**The two laws.** Chinchilla (Hoffmann et al. 2022, approach 3, rounded constants):
L = {CHINCHILLA.e:g} + {CHINCHILLA.k_n:g}/N^{CHINCHILLA.a:g} + {CHINCHILLA.k_d:g}/D^{CHINCHILLA.b:g}, which gives
{CHINCHILLA.loss(CHINCHILLA_N, CHINCHILLA_D):.4f} for Chinchilla itself
({CHINCHILLA_N / 1e9:.0f}e9 parameters, {CHINCHILLA_D / 1e12:.1f}e12 tokens), and
N_opt ∝ C^({CHINCHILLA.b:g}/{CHINCHILLA.a + CHINCHILLA.b:g}) = C^{CHINCHILLA.exponent:.3f}. Kaplan et al. (2020) as usually quoted,
L(N) = (N_c/N)^0.076 with N_c = 8.8e13, has no data term: alone it says bigger is always better and has no
optimum at a fixed budget. This page therefore uses Kaplan's own joint law (their eq. 1.5),
L = ((N_c/N)^(0.076/0.095) + D_c/D)^0.095 with D_c = 5.4e13, which is exactly L(N) when D → ∞; under
C = 6ND it gives N_opt ∝ C^(0.095/0.171) = C^{KAPLAN.exponent:.3f}. Kaplan's headline allocation,
N ∝ C^{KAPLAN_QUOTED_EXPONENT}, came from a different analysis (loss against training steps, with one
learning-rate schedule for runs of every length). Hoffmann et al. *hypothesised* that this schedule
explained the gap; the studies that later reproduced both laws found other causes. Porian et al.
(2024) recovered Chinchilla's exponent by counting the last layer's FLOPs, shortening the warm-up of
small models and tuning the optimizer at each scale, and found careful learning-rate decay not
essential; Pearce & Song (2024) traced much of the gap to Kaplan counting non-embedding parameters
only, in fits made at small scale. The page does not reproduce {KAPLAN_QUOTED_EXPONENT}, on purpose:
it shows what each fitted formula implies. The two laws' losses are not comparable in absolute value (different data and
tokenizers, and Kaplan counts non-embedding parameters only).

**Caveats the numbers carry.** With the rounded approach-3 constants, the optimum at Chinchilla's own budget
is about {N_AT_CHINCHILLA / 1e9:.0f}B parameters on {D_AT_CHINCHILLA / 1e12:.1f}T tokens
(about {D_AT_CHINCHILLA / N_AT_CHINCHILLA:.0f} tokens per parameter), not {CHINCHILLA_N / 1e9:.0f}B on
{CHINCHILLA_D / 1e12:.1f}T ({CHINCHILLA_D / CHINCHILLA_N:.0f} per parameter): the {CHINCHILLA_N / 1e9:.0f}B choice
came from Hoffmann et al.'s approaches 1 and 2 (N ∝ C^0.50). Besiroglu et al. (2024)
refitted approach 3 on the paper's own data and found the published constants inconsistent with the other two
approaches; their refit agrees with about 20 tokens per parameter. The fits used models up to 16B
parameters, so the far ends of the sliders are extrapolation. Llama 3 8B (15T tokens, about
{LLAMA3_TOKENS_PER_PARAM:.0f} per parameter) sits far off the frontier: that is the inference-aware logic in practice.

**Measured here.** The last chart times one full-batch SGD step of the app's own MLP engine (the networks the
other pages train) on this machine: the fastest of {REPEATS} steps, after {WARMUP} warm-up steps, on one CPU thread.
Other work on a shared machine only ever adds time, so the fastest step is the step's own cost; with two
threads, each waiting for the other whenever the scheduler parks one, a single width can come out many
times slower than its neighbours, which a median of a few repeats does not hide. It is still wall time, so
it varies a little from run to run. Small networks cost a fixed
per-step overhead (Python, kernel launches, threads), so their time barely grows; only once the arithmetic
dominates does the time follow the FLOPs (slope 1 against parameters). Memory is counted from the tensors a
step holds (weights, gradients, activations), not measured from the allocator.

**What the textbook page overstates or leaves out.** It is right that the best size grows with compute and that model
and data should grow together, but (1) the exponent depends on the fitted law ({CHINCHILLA.exponent:.2f}, {KAPLAN.exponent:.2f},
{KAPLAN_QUOTED_EXPONENT} or 0.50 depending on whom you read), (2) "compute-optimal" counts training only: a model that will be served at
scale should be smaller and trained longer, which its own "Deployment constraints" section points at, and
(3) these laws are about language models that see each token about once. A compute-optimal LM sees 20 or more
tokens per parameter, so it is *not* overparameterized in the p/n sense of the other pages. The decision
table is a set of unweighted heuristics, not a theorem.

References: Kaplan et al. (2020), *Scaling laws for neural language models*; Hoffmann et al. (2022),
*Training compute-optimal large language models*; Sardana & Frankle (2023), *Beyond Chinchilla-optimal:
accounting for inference in language model scaling laws*; Besiroglu, Erdil, Barnett, You (2024),
*Chinchilla scaling: a replication attempt*; Porian, Wortsman, Jitsev, Schmidt, Carmon (2024),
*Resolving discrepancies in compute-optimal scaling of language models*; Pearce & Song (2024),
*Reconciling Kaplan and Chinchilla scaling laws*.
""",
    after_charts=lambda run: (at_your_settings(run.metrics), checklist(run.metrics)),
)
if result is None:  # the setting could not run: the checklist still helps
    checklist(None)
