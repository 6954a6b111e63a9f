"""Page: Lazy training — wide networks barely move, and behave like kernel regression; and whether
moving (learning features) helps, by the output scale α from rich to lazy."""

from core.experiments import lazy_training
from core.experiments.lazy_training import TEACHER_D
from ui import page

# The settings the texts name, read from the defaults so the words follow the controls' defaults.
DEFAULT = lazy_training.Config()
RICH, LAZY = DEFAULT.alphas[0], DEFAULT.alphas[-1]

page.render(
    lazy_training.EXPERIMENT,
    intro=(
        "One-hidden-layer ReLU networks from 16 to 4,096 units wide learn the same regression task with "
        "the same full-batch gradient descent. You will see how far training moved their weights and their "
        "tangent kernel, and, on a 1-D task on a circle, what the trained networks compute next to kernel "
        "regression with the infinite-width neural tangent kernel. Last, whether moving helps: one net of "
        f"width {DEFAULT.scale_width} learns a task where features matter (y = |⟨u, x⟩| in {TEACHER_D} dimensions) at "
        f"output scales α from {RICH} (free to learn features) to {LAZY} (lazy), against kernel regression with its "
        "initial tangent kernel."
    ),
    question="the 4,096-unit network has 256 times as many weights as the 16-unit one, and both fit the data. "
    "Does each of its weights move more, less, or about the same? And on the ridge task, which reaches the lower "
    f"test error: the net at output scale α = {RICH}, whose kernel can move, or the lazy one at α = {LAZY}?",
    answers=[
        f"Less, about 16 times (1/√width); the rich net (α = {RICH}) has the lower test error",
        f"Less, about 16 times (1/√width); the lazy net (α = {LAZY}) has the lower test error",
        "Less, about 256 times (1/width); both reach the same test error: both fit the data",
        f"About the same; the lazy net (α = {LAZY}) has the lower test error",
    ],
    answer=0,
    because=(
        "Each of n weights has a 1/√n lever on the output, so 256 times the width means about 16 times less "
        "movement; on the ridge task the rich net's kernel moves towards the target and its test error is "
        "several times lower."
    ),
    why=f"""
**Why wide networks are lazy.** In NTK parameterization (each weight N(0, 1), the layer's output scaled by
1/√fan-in) a network of width n changes its output by O(1) when every weight moves by only O(1/√n): there
are n of them, each with a 1/√n lever. So fitting the data takes a relative weight change |W_T − W_0|/|W_0|
that falls like **n^−1/2** (the dashed guide). The tangent kernel K(x, x') = ∇f(x)·∇f(x') is built from the
weights, so it barely changes either, and gradient descent on the network becomes gradient descent on its
linearisation f_0 + ∇f_0·(w − w_0): kernel regression with K (Jacot, Gabriel, Hongler 2018; Lee et al. 2019).
As n → ∞ the kernel at initialisation is no longer random; it is the analytic NTK, computed by a
layer-by-layer recursion (Arora et al. 2019). The metric *ntk rel error* measures the distance from the
widest net's kernel to it (about 3% at width 4,096 with one hidden layer; it falls like n^−1/2).

**What the function view shows.** Each network is drawn as f − f_0: its initial output is a random function
(a Gaussian-process sample) that does not shrink with width, and kernel regression from a zero start
describes only what training adds. The dashed line is gradient descent on the linearised model with the
analytic NTK, for the same steps and learning rate; the widest net lies on them, the narrow one does not.

**Lazy is a choice of scaling, not a law.** Switch the parameterization:
- *standard* (PyTorch's, the scale in the stored weights): the tangent kernel grows like the width, so the
  largest stable learning rate shrinks like 1/width; we divide it by the width. Then the read-out layer
  does nearly all the learning (a random-features model): weights move like n^−1, the kernel even less, and
  the training loss stays high.
- *μP* (maximal update parameterization, Yang & Hu 2021: read-out scaled by another 1/√n, learning rate
  times n): the tangent kernel changes by O(1) at every width (by a factor of a few at depth 1, by one
  to two times its size at depth 2). That kernel change *is* the feature learning: the network is *not* kernel regression,
  and the nets leave the dashed curve. "Weights move O(1)" holds at depth 1 only: with two hidden layers the
  all-parameter weight change falls with width (try the μP preset with depth 2; the chart caption gives the
  run's numbers) because the n × n hidden matrices dominate |W_0| while each is moved by a low-rank O(1)
  amount. Read μP's feature learning off the kernel curve, not the weight curve.

**Where the usual one-line claim overreaches.** "Weights move like 1/√width" is true for every single
weight of the first and last layers. With two or more hidden layers the n × n hidden matrices hold most of
|W_0| (it grows like n) while training moves them by a low-rank O(1) amount, so the all-parameter ratio
falls nearer 1/width (slope ≈ −0.9 at depth 2). The relative kernel change falls *faster* than n^−1/2 here
(slope ≈ −0.7 at depth 1): n^−1/2 is an upper bound; the kernel's change during training is of order
1/width (Dyer & Gur-Ari 2020; Huang & Yau 2020), the O(1/√n) terms cancelling on average.
And lazy training is not why networks work well where features matter: the last chart shows one that
learns features beat its own kernel.

**Lazy or rich: the output scale α.** Chizat, Oyallon & Bach (2019, *On lazy training in differentiable
programming*) showed that laziness is a matter of scale: train f_α = α (f(w) − f(w_0)) on the loss divided
by α², with the same learning rate. Every α then takes the same step in function space at the start (the α
in front cancels the 1/α of the loss's gradient), but the weights need travel only 1/α as far once α is
large (the middle chart: four times α, a quarter of the movement), so the kernel freezes and the net *is*
gradient descent on its linearisation: kernel regression with its initial tangent kernel K_0 (the dashed
line, computed for the same steps and rate). We train the ordinary net on the shifted targets
f(w_0) + y/α, which is the same loss, and read off α (f − f_0). The nets are μP, where α = 1 is the
mean-field scale at which features keep learning at any width, and α = √width
({DEFAULT.scale_width ** 0.5:g} at the default width) is exactly NTK-parameterization training: the same
weight steps, the same function.

**The task, and which way it goes.** y = |⟨u, x⟩| (standardised, so a test MSE of 1 is predicting the mean)
for Gaussian x in {TEACHER_D} dimensions and a random unit direction u: it depends on one direction only, and
two ReLU units along ±u represent it exactly. A rotation-invariant kernel cannot point at u, and |z| has no
linear part to find it by, so it must learn the curvature from scratch, which takes about d² samples
(Ghorbani, Mei, Misiakiewicz & Montanari 2021); with {DEFAULT.scale_n} it leaves about half the variance
unexplained. At the largest α the net's test error is within 10% of that kernel's (the caption gives the
run's numbers). At α = {RICH} the kernel moves hundreds of times as far, its centred alignment with the
target yyᵀ (Cortes, Mohri & Rostamizadeh 2012: the cosine between the centred kernel and yyᵀ on the
training inputs) more than doubles while at α = {LAZY} it stays at its initial value, and the test error is
**several times lower**: here moving helps. The test error rises steadily with α; every scale fits the
training set. Woodworth et al. (2020) draw the same picture for linear diagonal networks: a large scale
gives the kernel's ℓ2 bias, a small one a bias towards sparse solutions, and a target that uses one
direction of {TEACHER_D} rewards the latter. It is not a law: Geiger, Spigler, Jacot & Wyart (2020) found
fully connected nets on image data often generalise *better* lazy, so which regime wins depends on the task.

**How frozen is frozen.** With the *lazy limit* preset (α up to 4,096) the weights still move 1/α as far,
but the kernel's change falls more slowly, about like 1/√α: a ReLU unit whose input changes sign at a
training point changes the kernel by a jump, however small the step that flipped it. At large α only a few
unit–input pairs flip (their number falls like 1/α), and |K_T − K_0|, a sum of such jumps in random
directions, falls about like the square root of their number. The net's test error sits on the kernel's
all the same.

References: Jacot, Gabriel, Hongler (2018), *Neural tangent kernel*; Lee, Xiao, Schoenholz, Bahri, Novak,
Sohl-Dickstein, Pennington (2019), *Wide neural networks of any depth evolve as linear models under gradient
descent*; Arora, Du, Hu, Li, Salakhutdinov, Wang (2019), *On exact computation with an infinitely wide neural
net*; Yang & Hu (2021), *Feature learning in infinite-width neural networks*; Novak et al. (2020),
*Neural Tangents*; Dyer & Gur-Ari (2020), *Asymptotics of wide networks from Feynman diagrams*; Huang &
Yau (2020), *Dynamics of deep neural networks and neural tangent hierarchy*; Chizat, Oyallon & Bach (2019),
*On lazy training in differentiable programming*; Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry
& Srebro (2020), *Kernel and rich regimes in overparametrized models*; Geiger, Spigler, Jacot & Wyart (2020),
*Disentangling feature and lazy training in deep neural networks*; Cortes, Mohri & Rostamizadeh (2012),
*Algorithms for learning kernels based on centered alignment*; Ghorbani, Mei, Misiakiewicz & Montanari (2021),
*Linearized two-layers neural networks in high dimension*.
""",
)
