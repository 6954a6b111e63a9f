"""Page: Bigger models train easier."""

from core.experiments import optimization
from ui import page

page.render(
    optimization.EXPERIMENT,
    intro=(
        "Networks of several widths learn the same small regression task (the seed text's: "
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
Small networks have few directions to move in and get stuck in poor regions.

**What the test curve shows, honestly.** Wider networks drive the training loss to the noise floor and
far below, so classical reasoning predicts the test loss to explode. It does not: it falls as width
grows. But with n = 100 points in d = 20 dimensions this target (a sine of a sum of five inputs) is
genuinely hard to learn; every width's test loss stays near the variance of y, the loss of always
predicting the mean. "Does not overfit catastrophically" is the true claim, not "generalises well".

**What the seed text overstates.** It presents the faster convergence as a general law; it holds for
full-batch gradient descent at a fixed small learning rate, as here. With Adam, or a learning rate
tuned per width, the gaps shrink; try it.

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
    presets={
        "The seed's setting": {},
        "Adam instead of SGD": {"optimizer": "adam", "lr": 0.001},
        "Too large a learning rate (diverges)": {"lr": 1.0},
        "Three seeds per width": {"repeats": 3, "steps": 1000},
    },
)
