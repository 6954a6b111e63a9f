"""Page: Deep double descent."""

from core.experiments import deep_double_descent
from ui import page

page.render(
    deep_double_descent.EXPERIMENT,
    intro=(
        "One-hidden-layer networks of fifteen widths, from 2 to 256 hidden units (160 to 19,210 parameters), learn "
        "200 of scikit-learn's handwritten digits, a fifth of whose labels have been replaced by a random class. "
        "Every network trains the same way (Adam, 2,000 full-batch steps, squared error on one-hot targets; three "
        "networks per width) and is scored on the 1,597 digits it never saw, with their true labels. You will see "
        "the test and training loss of every width against its parameter count; beside it the same networks with "
        "their first layer frozen, which least squares solves exactly; and the test loss while training."
    ),
    question="the networks fit n K = 200 × 10 = 2,000 numbers (ten outputs per digit). As they grow from 160 to "
    "19,210 parameters, what does their test loss do?",
    answers=[
        "It falls, then rises for good: the big networks memorise the noisy labels",
        "It falls at every size: more parameters never hurt",
        "It rises to a peak below 2,000 parameters, then falls again, far below where it started",
        "It stays flat: the label noise sets the test loss",
    ],
    answer=2,
    because=(
        "The test loss peaks where the networks first manage to fit nearly every noisy label, below p = nK, "
        "then falls at every larger width to far below where it started, although the large networks fit "
        "every noisy label."
    ),
    why="""
**What is measured.** Loss per sample: the squared error between the ten outputs and the one-hot
target, summed over the outputs; on the training set against the labels trained on (noisy), on the
test set against the true labels. p = nK (red line) is where the parameters equal the numbers to
fit. Every point is the mean of three networks. The numbers below are the defaults' and presets' on
a CPU; each caption gives its own run's.

**The peak, and the second descent.** At the defaults the test loss climbs from 1.1 (width 3) to a
peak of 5.5 at width 11 (835 parameters, 0.42 nK), then falls at every width to 0.52 at width 256:
ten times below the peak, and half the best narrow network's, although every network from width 23
on fits every training label, the noisy ones included. The peak is where the networks first fit
nearly every noisy label: at width 11 they misfit 5% of the training labels (the noise changed 37
of the 200), and from width 23 (0.87 nK) they fit every one. Fitting the 2,000 target numbers
themselves (training loss under 0.01) takes width 32, 1.2 nK, close to the count; at the peak the
training loss is still 0.083. The classification error tells the story more quietly: it stalls
near 0.55 from width 8 to 23, then falls to 0.23.

**Noise makes the peak taller; here it does not create it.** Without noise (preset) the peak is
three times lower (1.8, also at width 11, where the clean labels are first fitted exactly) and the
widest net ends at 0.23. Relative to the widest net the two peaks differ less (7.8x against 10x);
the climb above the best narrower network is 2.4x against 5x, and the error falls at almost every
width, from 0.73 to 0.076. With 40% of the labels replaced (preset) the peak rises to 8.5, still at
width 11, and the widest net ends at 0.83. A generated task of the same shape (preset) gives the
same picture: a peak of 5.1 at width 11, 0.53 at width 256.

**What lowers the peak.** Weight decay 0.001 (an L2 penalty, torch.optim's; preset) removes it: the
test loss falls from 0.80 at width 2 to 0.40, never more than 1.1x above a narrower width's, and
the widest net is better than without (0.40 against 0.52). Stopping early does too. In the chart of
the test loss while training, at step 50 no width is above 0.91 and width 11 is at 0.47; from step
79 on width 11 only gets worse, to 5.5. Stopped at 100 steps (preset), the largest climb left is
1.4x (at width 91). The widest nets show epoch-wise double descent, mildly: their test loss falls to
0.40 by step 25, rises to 0.56 by step 200 and falls again to 0.52.

**The exactly solvable analogue.** Freeze each network's first layer at its initial weights and
fit only the read-out: the features are fixed, and least squares gives the minimum-norm fit (where
gradient descent from zero converges) in closed form. Its read-out has (w + 1)K parameters, so it
can interpolate the nK targets from w + 1 = n on. Its test loss peaks exactly there, at w = n − 1 =
199: 1,700, against 0.52 at best below it, with the read-out's norm largest there too; beyond, it
falls back to 0.53 at width 1600. A ridge matching the weight decay removes that peak as well.

**Where the peak sits: what is known and what is not.** For least squares on fixed features (linear
regression, random features) it is a theorem: as p approaches n (per output) the smallest singular
value of the feature matrix goes to zero, so the norm of the interpolating solution and its
variance blow up exactly at p = n, and fall beyond as the minimum-norm solution spreads over more
features (Belkin, Hsu, Xu 2020; Hastie, Montanari, Rosset, Tibshirani 2022; Mei, Montanari 2022).
For trained networks it is an observation: Belkin et al. (2019) saw the peak near p = nK for
two-layer networks on MNIST; Nakkiran et al. (2019) saw it where the training procedure can just
reach zero training error (their "effective model complexity" equal to n), which moves with
training time, optimizer, loss and regularisation. Here the count is only a proxy: the peak comes
at 0.42 nK, where the labels are nearly fitted, before the numbers are. With cross-entropy (preset)
every training label is fitted from width 8 (0.3 nK), because only the largest output must be
right; the test cross-entropy peaks at width 4 (11.7) and falls to 1.3, and the test error falls
at almost every width. No theory yet predicts where a trained network's peak sits or how tall it
is; that optimally tuned regularisation removes it is proved for linear regression (Nakkiran,
Venkat, Kakade, Ma 2021) and, as here, observed for networks.

References: Belkin, Hsu, Ma, Mandal (2019), *Reconciling modern machine-learning practice and the
classical bias–variance trade-off*; Nakkiran, Kaplun, Bansal, Yang, Barak, Sutskever (2019), *Deep
double descent: where bigger models and more data hurt*; Belkin, Hsu, Xu (2020), *Two models of
double descent for weak features*; Hastie, Montanari, Rosset, Tibshirani (2022), *Surprises in
high-dimensional ridgeless least squares interpolation*; Mei, Montanari (2022), *The generalization
error of random features regression*; Nakkiran, Venkat, Kakade, Ma (2021), *Optimal regularization
can mitigate double descent*.
""",
)
