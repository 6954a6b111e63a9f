"""Page: Benign overfitting."""

from core.experiments import benign_overfitting
from core.textbook import benign_script
from ui import page


def textbook_paragraph() -> str:
    """The textbook script's numbers, reproduced by core.textbook rather than typed."""
    s = benign_script()
    return (
        f"**What the textbook page's script actually shows.** It reports train MSE {s.train_mse:.3f} and test MSE "
        f"{s.test_mse:.1f} for n = {s.n}, p = {s.p}, 10 signal coordinates, noise 0.3, and calls that benign "
        "overfitting. Both numbers are artefacts. (1) It standardises the features without an intercept: centring "
        f"the columns makes the rows of X sum to zero, so X has rank {s.centred_rank} = n − 1 and the "
        f"\"interpolant\" cannot fit the mean of y; the train MSE {s.train_mse:.3f} is exactly ȳ² "
        f"({s.mean_label_squared:.3f}). (2) Its test set is drawn with another random seed, hence another true weight "
        f"vector: the test MSE {s.test_mse:.1f} is worse than predicting zero everywhere ({s.test_mean_square:.1f}, "
        "the test labels' mean square). Done correctly on the same draw, the interpolant does fit (train MSE "
        f"{s.correct_train_mse:.0e}) and its excess risk is {s.correct_excess_risk:.1f} of a signal variance of "
        f"{s.signal_variance:.1f}: it recovers only about {1 - s.correct_excess_risk / s.signal_variance:.0%} of "
        f"the signal, near the {s.n / s.p:.0%} that r²(1 − n/p) predicts for isotropic features "
        "(excess risk "
        f"{s.predicted_excess_risk:.1f}). The textbook's setting (the preset \"isotropic, p = 5n\") is the standard "
        "example of overfitting that is **not** benign."
    )

page.render(
    benign_overfitting.EXPERIMENT,
    intro=(
        "The minimum-norm linear interpolant fits n = 100 noisy labels exactly while the number of features p "
        "grows from just above n to 20,000. You will see its excess test risk split into bias and variance, "
        "computed exactly for each training set (points) beside the theory (lines), for five shapes of the "
        "feature spectrum."
    ),
    question="the model fits every noisy training label perfectly. As p grows far beyond n, will its test error "
    "go up (more overfitting), go down to the noise level, or depend on something else? Try each spectrum.",
    why="""
**Why fitting noise can be harmless.** The min-norm interpolant puts the noise somewhere: into the
directions the data cannot use for prediction. With a few strong directions (which carry the signal) and
very many weak ones, the weak directions soak up the noise — each a little, so that together they barely
change any prediction — while the strong directions are learned almost as by a ridge regression whose
penalty, the *implicit ridge* κ (with Σ λ_i/(λ_i + κ) = n), is about the sum of the weak eigenvalues
divided by n. The variance is σ²·tr(C), C = (XXᵀ)⁻¹ X Σ Xᵀ (XXᵀ)⁻¹, computed here exactly in the n × n
Gram matrix; the bias is |Σ^½ (I − P) θ*|² with P the projection on the rows of X.

**How the verdict is reached.** From what the run measured at the largest p: the fit must interpolate
(train MSE at machine precision), the variance (noise that reached the predictions) must be under 10% of
σ², and the bias (signal lost) under 10% of the signal variance. Beside it the caption shows Bartlett, Long,
Lugosi and Tsigler's (2020) conditions, with r_k = Σ_{i>k} λ_i / λ_{k+1}, R_k = (Σ_{i>k} λ_i)² / Σ_{i>k} λ_i²
and k* the first k with r_k ≥ n: their theorem bounds the excess risk, up to constants, by terms in
**r₀/n, k*/n and n/R_k***, so these being small is *sufficient* for benign overfitting, for every signal at
once. It is not necessary: r₀/n only measures the implicit ridge against the top eigenvalue, and κ costs
bias only in proportion to (κ/(λ + κ))² on the directions the signal occupies. The preset *Spiked, heavier
tail* has r₀/n = 0.15, yet the bias is under 1% of the signal and the variance under 6% of σ².

**Reading the spectra** (at n = 100, σ = 0.5). *Spiked* (k strong directions, the rest at the weak eigenvalue):
benign once p is large — the variance falls all along the sweep and ends under 6% of σ². *Isotropic*: not
benign; the bias r²(1 − n/p) means the interpolant learns only a fraction n/p of the signal, exactly
Hastie et al.'s curve r²(1 − 1/γ) + σ²/(γ − 1). *Power law* 1/t, t = 1 + i/k: its tail sum grows like
k log p without bound, so the implicit ridge grows with p and shrinks the signal ever more. The excess
risk falls to a minimum, 0.122 at p = 1,879, then rises again, to 0.145 at p = 20,000 (κ from 0.21 to
0.35); more features make it worse. That is not "tempered" in the sense of Mallinar et al. (2022): tempered
describes the limit n → ∞, where the risk settles a constant factor above the noise (as for spectra i^−α
with α > 1); here n is fixed and the risk turns up because the 1/t tail is too heavy.

*Bartlett et al.'s example* 1/(t log²(t + 1)), benign in their Theorem 6: its tail sum converges, so κ
stays small (bias near 0) and the risk keeps falling as p grows; but benign is a statement about n → ∞,
and k*/n shrinks only like 1/log n. At n = 100 the
variance is still 43% of σ² (k = 1), and from n = 25 to 200 it falls only from 50% to 42%.
*Exponential*: harmful; the spectrum decays too fast for any tail to absorb the noise, so the variance is
many times σ² (21 times here) however large p is.

**The theory lines** are the deterministic equivalent of ridgeless regression (Hastie, Montanari, Rosset,
Tibshirani 2022, Thm 5; Bach 2024), with the same implicit ridge κ. For isotropic features they are
exactly Hastie et al.'s formula.

""" + textbook_paragraph() + """

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
    answer=2,
    because=(
        "Fitting noise is harmless only when many weak feature directions soak it up, each a little, while a "
        "few strong ones carry the signal; with another spectrum the same interpolation hurts."
    ),
)
