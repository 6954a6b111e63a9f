"""Page: Bigger models train easier."""

from core.experiments import optimization
from ui import page

page.render(
    optimization.EXPERIMENT,
    intro=(
        "Networks of several widths learn the same small regression task (the textbook page's: "
        "y = sin(x1+…+x5) + 0.5 cos(x6+…+x10) + noise) with the same optimizer and step count. "
        "You will see each width's training loss as it trains, then its final train and held-out "
        "test loss against its parameter count."
    ),
    question="the 500-unit network has over 2,000 parameters per training point. Will it train faster "
    "or slower than the 10-unit one, and will its test loss be worse?",
    why="""
**Why wider trains easier.** With p ≫ n the set of parameters that fit the data exactly is not a
point but a huge manifold, and from a random start gradient descent is almost always close to some
part of it. Wide networks are also close to their linearisation around the initial weights (see
*Lazy training*): the loss is then nearly convex along the path, the tangent kernel is well
conditioned, and gradient descent converges linearly (Du et al. 2019; Allen-Zhu, Li, Song 2019).

**Part of it is only a larger step.** These nets use the standard parameterization (PyTorch's default
initialisation), in which the tangent kernel grows with the width: at the default initial weights its mean
diagonal is about 3 at width 10 and 30 at width 500. A gradient step moves the function by the learning rate times
the kernel times the residual, so at one fixed rate the wide net takes a ten times larger step. Set *learning-rate mode* to
*tuned* (preset *Fair step sizes*): every width then trains at each rate of the learning rate × (0.3, 1, 3, 10, 30) and
keeps the one that reaches the threshold first without diverging. At the defaults the ratio of steps to
the threshold, narrowest over widest, falls from 5.6x at learning rate 0.01 (1,747 vs 311 steps) to 3.2x (131 vs
41), and past width 200 the tuned steps hardly change (45 vs 41). Wider still trains faster at a fair
step size, by about half the factor a fixed rate shows. Widths 10-200 keep the grid's top rate, 0.3;
0.5 is slower for each of them, and at 1 the wide nets diverge within a few steps. Adam has its own
step-size effect: at learning rate 0.001 (preset) the ratio is 13x.

**What the test curve shows, honestly.** The wide networks drive the training loss far below the noise
floor, so classical reasoning predicts their test loss to explode. It does not: at the defaults it falls
as the width grows. But no width learns the target: with n = 100 points in d = 20 dimensions a sine of a
sum of five inputs is out of reach, and every width's test loss is worse than always predicting the
mean (the caption gives the numbers). "Wider nets interpolate and still overfit less than narrow ones" is
the true claim here, not "they generalise well". With two input dimensions (preset) the target is
learnable: every width beats the mean by far, and the two widest end within a factor of two of the noise
floor.

References: Du, Zhai, Poczos, Singh (2019), *Gradient descent provably optimizes over-parameterized
neural networks*; Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*; Allen-Zhu, Li, Song (2019),
*A convergence theory for deep learning via over-parameterization*.
""",
    answers=[
        "Wider nets: faster, and test loss no worse",
        "Wider nets: faster, but test loss much worse (overfitting)",
        "Wider nets: slower (more parameters to fit)",
        "No clear difference",
    ],
    answer=0,
    because=(
        "At p ≫ n gradient descent starts close to a huge set of exact fits and the wide nets take larger "
        "effective steps, so they reach the threshold in fewer steps, and at the defaults their test loss "
        "falls as the width grows."
    ),
)
