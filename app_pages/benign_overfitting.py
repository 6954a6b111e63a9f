"""Page: Benign overfitting."""

from core.experiments import benign_overfitting
from ui import page

page.render(
    benign_overfitting.EXPERIMENT,
    intro=(
        "The minimum-norm linear interpolant fits n = 100 noisy labels exactly while the number of features p "
        "grows from just above n to 20,000. You will see its excess test risk split into bias and variance, "
        "computed exactly for each training set (points) beside the theory (lines), for four shapes of the "
        "feature spectrum."
    ),
    question="the model fits every noisy training label perfectly. As p grows far beyond n, will its test error "
    "go up (more overfitting), go down to the noise level, or depend on something else? Try each spectrum.",
    why="""
**Why fitting noise can be harmless.** The min-norm interpolant puts the noise somewhere: into the
directions the data cannot use for prediction. With a few strong directions (which carry the signal) and
very many weak ones, the weak directions soak up the noise — each a little, so that together they barely
change any prediction — while the strong directions are learned almost as by a ridge regression. Bartlett,
Long, Lugosi and Tsigler (2020) made this exact with two effective ranks of the covariance spectrum
λ₁ ≥ λ₂ ≥ …: r_k = Σ_{i>k} λ_i / λ_{k+1} and R_k = (Σ_{i>k} λ_i)² / Σ_{i>k} λ_i², with k* the first k
where r_k ≥ n. The excess risk is small exactly when **r₀/n, k*/n and n/R_k* are all small**; the verdict
on this page calls them small below 0.1. The variance is σ²·tr(C), C = (XXᵀ)⁻¹ X Σ Xᵀ (XXᵀ)⁻¹, computed
here exactly in the n × n Gram matrix; the bias is |Σ^½ (I − P) θ*|² with P the projection on the rows of X.

**Reading the four spectra.** *Spiked* (k strong directions, the rest at `weak`): benign once p is large —
the variance falls like n/R and ends a few percent of σ². *Isotropic*: not benign; the bias
r²(1 − n/p) means the interpolant learns only a fraction n/p of the signal, exactly Hastie et al.'s curve
r²(1 − 1/γ) + σ²/(γ − 1). *Power law* (1 + i/k)⁻¹: the borderline case of Bartlett et al. (decay 1/i without
a log factor): tempered, the risk falls only slowly with p. *Exponential*: harmful; the spectrum decays too
fast for any tail to absorb the noise, so the variance is many times σ² however large p is.

**The theory lines** are the deterministic equivalent of ridgeless regression (Hastie, Montanari, Rosset,
Tibshirani 2022, Thm 5; Bach 2024): the weak directions act as an implicit ridge κ with
Σ λ_i/(λ_i + κ) = n. For isotropic features they are exactly Hastie et al.'s formula.

**What the seed's script actually shows.** It reports train MSE 0.068 and test MSE 20 for n = 100,
p = 500, 10 signal coordinates, noise 0.3, and calls that benign overfitting. Both numbers are artefacts.
(1) It standardises the features without an intercept: centring the columns makes the rows of X sum to
zero, so X has rank n − 1 and the "interpolant" cannot fit the mean of y; the train MSE 0.068 is exactly
ȳ². (2) Its test set is drawn with another seed, hence another true weight vector; the test MSE 20 is
essentially the variance (21.8) of an unrelated function. Done correctly on the same draw, the
interpolant does fit (train MSE 4e−29) and its excess risk is 6.1 of a signal variance of 7.3: it recovers
only about one fifth of the signal, as r²(1 − 1/5) predicts. The seed's setting (the preset "isotropic,
p = 5n") is the standard example of overfitting that is **not** benign.

References: Bartlett, Long, Lugosi, Tsigler (2020), *Benign overfitting in linear regression*, PNAS;
Hastie, Montanari, Rosset, Tibshirani (2022), *Surprises in high-dimensional ridgeless least squares
interpolation*, Ann. Statist.; Mallinar et al. (2022), *Benign, tempered, or catastrophic*; Bach (2024),
*High-dimensional analysis of double descent for linear regression with random projections*.
""",
    answers=[
        'It goes up: more parameters, more overfitting',
        'It falls towards the noise level',
        'It depends on the spectrum of the features',
        'It stays where it is',
    ],
    presets={
        "Spiked: benign": {},
        "Isotropic, p = 5n (the seed's setting): not benign": {"spectrum": "isotropic", "p": 500, "k": 10, "noise": 0.3},
        "Power law: tempered": {"spectrum": "power-law"},
        "Exponential: harmful": {"spectrum": "exponential"},
    },
)
