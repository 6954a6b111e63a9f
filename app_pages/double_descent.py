"""Page: Double descent."""

from core.experiments import double_descent
from core.experiments.double_descent import N_TEST, RIDGE_GRID
from ui import page

page.render(
    double_descent.EXPERIMENT,
    intro=(
        "Least-squares models of growing size p are fitted to the same n training points, from far fewer "
        "parameters than points to five times more, and their test error is drawn against p/n with the exact "
        "theory beside it. You will see the error climb towards the interpolation threshold p = n, spike there, "
        "and fall again beyond it, while a classical bound only grows."
    ),
    question="at p = n the model has exactly enough parameters to fit every training point. Is that where the "
    "test error is lowest, highest, or neither; and what happens when p is five times n?",
    why=f"""
**Why the spike at p = n.** Below the threshold least squares averages the noise over n points with
p parameters; its variance is σ² p/(n - p - 1), which explodes as p approaches n. Beyond the
threshold infinitely many weight vectors fit the data exactly, and ridgeless least squares picks the
one of *minimum norm*. Right at p = n there is only one interpolant, and fitting the noise exactly
forces it through the smallest singular value of the feature matrix, which is close to 0: the
weights (right panel) and the error blow up. Adding parameters past n gives the fit room to absorb
the noise in many directions, each with a small coefficient, and the error comes down again
(variance σ² n/(p - n - 1)). For the linear model the dashed curve is the exact finite-n
formula for Gaussian features (Belkin, Hsu, Xu 2019), including the noise floor σ²:

- p ≤ n - 2: σ² (1 + p/(n - p - 1));
- p ≥ n + 2: r² (1 - n/p) + σ² (1 + n/(p - n - 1)), with r² = |β|² the signal energy.

As n grows with p/n fixed this becomes Hastie, Montanari, Rosset and Tibshirani's (2019) curve.
The formula is the *expected* error; near p = n a few unlucky draws (a feature matrix with a tiny
singular value) dominate that mean, so the chart draws the median of the draws, with the band
holding the middle half of them, and the caption gives the mean at p = n beside it.

**Why the classical bound goes vacuous.** Uniform-convergence bounds have the shape
train error + C·sqrt(p/n): they reward small models and can only grow with p. Past the threshold
the train error is zero and the bound exceeds the error of predicting 0 (the grey dotted line), so
it says nothing, while the actual test error falls. Counting parameters is the wrong measure of
complexity for minimum-norm interpolants; the norm of the solution (right panel) is a better one.

**Optimal ridge removes the peak.** With ridge = optimal each p uses its risk-minimising penalty:
λ* = σ² (p/n)/r² for the linear model (with the penalty n λ |w|², this is the posterior mean for
β ~ N(0, r²/p I), so it is optimal at every finite n; Dobriban and Wager 2018), and for random
features the λ, of {len(RIDGE_GRID)} values from {RIDGE_GRID[0]:g} to {RIDGE_GRID[-1]:g}, with the least error on held-out
validation points ({N_TEST} fresh synthetic inputs, or half of the digits not trained on), scored
against their noiseless targets. Neither looks at the test points. The spike is gone.

**Whether the tuned curve then falls depends on what a bigger model means.** With truth = per-p
(the default, Hastie et al.'s setting) every p gets a fresh truth of the same energy |β|² = 1,
spread over p coefficients: a bigger model is a *harder problem*, with more coefficients to estimate
from the same n points, so even the best ridge does worse as p grows and the tuned curve rises all
the way. With truth = fixed there is one truth over the largest model's features; a model of size p
sees the first p, and the coordinates it cannot see act as extra noise. Then a bigger model only
sees more of the same problem, and the optimally tuned error falls with every p: more parameters do
not hurt once the ridge is tuned (Nakkiran, Venkat, Kakade, Ma 2021). The theory curve there is
Belkin, Hsu and Xu's exact formula with r² the energy the model sees, |β|² p/D (D the largest p),
and the unseen |β|² (1 - p/D) added to σ². Either way the peak is a property of *ridgeless* fitting at the
threshold, not of model size.

**What the textbook page overstates.** It says overparameterized models do not overfit because
gradient descent "consistently finds the good" interpolants. The minimum-norm interpolant is what
gradient descent finds, and near p = n it is the worst model on this page. And in the
well-specified linear model (the default) the overparameterized side never beats a small model:
every interpolant's error is above r² (1 - n/p) + σ², while p = 1 scores about σ². When the
small models miss part of the truth it is different: with truth = fixed the error at p = 5n is below
every underparameterized model's (the "weak features" of Belkin, Hsu, Xu), and with the digits and
random ReLU or Fourier features (noise 0) the error beyond the threshold falls well below the best
underparameterized one, as in Belkin, Hsu, Ma, Mandal (2019). Which regime wins depends on how much
of the target the features miss, not on a law.

References: Belkin, Hsu, Ma, Mandal (2019), *Reconciling modern machine-learning practice and the
classical bias-variance trade-off*, PNAS; Belkin, Hsu, Xu (2020), *Two models of double descent for
weak features*, SIAM J. Math. Data Sci.; Hastie, Montanari, Rosset, Tibshirani (2022), *Surprises in
high-dimensional ridgeless least squares interpolation*, Ann. Stat.; Dobriban, Wager (2018),
*High-dimensional asymptotics of prediction: ridge regression and classification*, Ann. Stat.;
Nakkiran, Venkat, Kakade, Ma (2021), *Optimal regularization can mitigate double descent*, ICLR;
Rahimi, Recht (2007), *Random features for large-scale kernel machines*.
""",
    answers=[
        'Lowest at p = n',
        'Highest at p = n, lower again at p = 5n',
        'Highest at p = n, and even higher at p = 5n',
        'No special point',
    ],
    answer=1,
    because=(
        "At p = n the one interpolant must fit the noise through a near-zero singular value, so the error "
        "blows up; past n the minimum-norm fit spreads the noise thinly over many directions and the error "
        "comes down again."
    ),
)
