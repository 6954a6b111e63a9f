"""Page: Implicit bias of gradient descent."""

from core.experiments import implicit_bias
from ui import page

page.render(
    implicit_bias.EXPERIMENT,
    intro=(
        "With more parameters than data points (p > n) infinitely many weight vectors fit the training set "
        "exactly, and gradient descent has to end at one of them. You will see which one: its distance to the "
        "minimum-norm solution and to the point theory predicts, step by step, and the same geometry in two "
        "dimensions; switch the task to classification to watch the logistic-loss weights turn toward the "
        "max-margin SVM."
    ),
    question="start gradient descent at a random w₀ of norm 1 instead of at zero. Will it still end at the "
    "minimum-norm interpolant, somewhere random, or somewhere you can compute in advance?",
    why="""
**Least squares.** The gradient of |Xw − y|² is 2Xᵀ(Xw − y): a combination of the rows of X. So
gradient descent can only move w inside the row space of X; the part of w₀ in the null space of X
(the directions the data cannot see) is carried along untouched. Inside the row space there is exactly
one interpolant, pinv(X) y, and with a step below the stable limit 2/λ_max gradient descent converges to
it. Hence the limit **pinv(X) y + (I − pinv(X) X) w₀**, and from w₀ = 0 the minimum-norm interpolant: the
"implicit regularisation" of gradient descent is simply that it never adds anything the data did not ask
for. Both facts are checked here to machine precision (the plateau of the blue curve is predicted: the solid
grey line).
In two dimensions: the solutions of x·w = y form a line, the gradient is a multiple of x, so every path is
perpendicular to that line and stops at the foot of the perpendicular from its start.

**What this does not say.** "Gradient descent finds the minimum-norm solution" holds for linear least
squares from zero; from another start it finds the solution nearest to that start. For deep networks the
implicit bias is not a norm in weight space and is still an open research question. Above a step size of 1 (of
the stable limit) the steepest direction overshoots more at each step and the run diverges; try 1.2.

**Logistic loss on separable data.** No finite w has zero loss, so |w| grows forever (like log t: w(t) ≈
w_SVM log t, so |w| gains about ln(10) |w_SVM| per tenfold of steps), but w/|w| converges to the
hard-margin SVM direction (Soudry, Hoffer, Nacson, Gunasekar, Srebro 2018). The convergence is only
logarithmic: the margin gap closes like 1/log t, so even 100,000 steps leave GD short of the SVM's margin,
and 1 − cosine falls more slowly than any power of t (its slope on log axes flattens every decade).
Early stopping of logistic regression is therefore far from max-margin.

References: Gunasekar, Lee, Soudry, Srebro (2018), *Characterizing implicit bias in terms of optimization
geometry*; Soudry et al. (2018), *The implicit bias of gradient descent on separable data*, JMLR;
Zhang, Bengio, Hardt, Recht, Vinyals (2017), *Understanding deep learning requires rethinking generalization*.
""",
    answers=[
        'At the minimum-norm interpolant anyway',
        'Somewhere random on the solution set',
        'At a point computable in advance: min-norm plus the null-space part of w₀',
        'It does not converge',
    ],
    answer=2,
    because=(
        "The gradient is always a combination of the data rows, so the part of w₀ the data cannot see is "
        "carried along untouched: the limit is pinv(X) y plus the null-space part of w₀."
    ),
)
