"""The textbook's decision table, go big or stay small, as a checklist that leans and says why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.experiments.scaling.laws import LAWS

#: How N_opt grows with compute under each fitted law, quoted in the first row's reason.
EXPONENTS = tuple(law.exponent for law in LAWS.values())


@dataclass(frozen=True)
class Factor:
    """One row of the textbook's table: the answer that favours a big model, the one that favours a small
    one, and why each does."""

    key: str
    question: str
    big: str
    small: str
    why_big: str
    why_small: str


FACTORS = (
    Factor("training_compute", "Training compute", "Abundant", "Limited",
           f"the compute-optimal model grows with the budget (about C^{min(EXPONENTS):.2f} to C^{max(EXPONENTS):.2f} "
           "on the frontier above)",
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
