"""The two published scaling laws, in one shared form.

Both fitted laws are L(N, D) = E + (k_N N^-a + k_D D^-b)^p, so one optimiser and one closed form
serve both, and the closed form is drawn beside what the optimiser finds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
