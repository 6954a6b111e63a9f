"""Page: Simplicity bias — networks learn low frequencies first, at rates the NTK's spectrum predicts."""

from core.experiments import spectral_bias
from ui import page

page.render(
    spectral_bias.EXPERIMENT,
    intro=(
        "A one-hidden-layer ReLU network learns a sum of sines around a circle (by default sin t + sin 2t + "
        "sin 4t + sin 8t, each of amplitude 1, on 64 evenly spaced points) with full-batch gradient descent. "
        "You will see how fast each frequency's part of the error shrinks, next to what the network's "
        "infinite-width tangent kernel predicts from its eigenvalues, and what the network computes on the way."
    ),
    question="all four sines have the same amplitude, and the network can represent each of them. In what order, "
    "and how fast, does gradient descent learn them?",
    answers=[
        "All at the same rate: they are equally large",
        "Lowest frequency first; each doubling of the frequency takes several times as many steps",
        "Highest frequency first: the wiggles make the largest local errors",
        "The low ones quickly; sin 8t is never learned",
    ],
    answer=1,
    because=(
        "The tangent kernel's eigenvalue for frequency k falls roughly like 1/k² and each Fourier mode of the "
        "error shrinks at a rate set by its eigenvalue, so each doubling of the frequency takes several times "
        "as many steps."
    ),
    why="""
**Why a kernel has favourite frequencies.** A wide network trained by gradient descent moves its outputs
with its tangent kernel Θ: one step on the loss mean (f − y)² changes the outputs on the training points by
−η Θ (2/n)(f − y) (η the learning rate), so the residual r = f − y obeys r ← (I − 2 η Θ / n) r. On an evenly spaced grid of the
circle Θ(x_i, x_j) depends only on the angle between the points, so the Gram matrix is *circulant*: its
eigenvectors are exactly the Fourier modes, and each frequency k of the residual shrinks by its own factor
(1 − 2 η λₖ) every step, λₖ being the kernel's eigenvalue for that mode (third chart; dashed curves in the
first). Its half-life is ln 2 / (2 η λₖ) steps, roughly. For a ReLU network λₖ falls like 1/k² on the
circle (Basri et al. 2019), so doubling the frequency multiplies the time to learn it by about four, more at
low k. That is the *spectral bias* (Rahaman et al. 2019) or *frequency principle* (Xu et al. 2019): networks
fit the smooth part of a function first and the fine detail last, which is one reason early stopping
regularises and why networks find simple functions among all those that fit.

**What the measurements show, and where the theory stops.** At the defaults the frequencies are learned
lowest first, and the half-lives of k = 1, 2 and 4 are within about 10% of the kernel's. The highest one
(k = 8) comes out about one and a half times slower than predicted. This is not the finite-width kernel at
initialisation: the same network *linearised* at its init (open diamonds) follows the prediction. It is
training itself: the kernel moves slightly as the net learns, and a mode whose own eigenvalue is tiny is the
first to feel it. The gap closes as the width grows (preset "Wider still"). Past the first half-life the
solid curves also bend away from the dashed ones and level off: once the kernel has moved it is no longer
exactly circulant, the modes are no longer independent, and the large residual still left at k = 8 leaks
into the others (remove 8 from the frequencies and sin 4t decays as predicted to the end). The predictions
take f₀ into account without subtracting it: each curve is the residual's amplitude relative to its own
start, and under kernel gradient descent that ratio does not depend on the random initial function.

**The parameterization decides whether the kernel theory applies.**
- *μP* (maximal update parameterization, Yang & Hu 2021) starts from exactly the same kernel, but its
  features learn: the kernel grows (metric *kernel growth*) until the step size sits at the *edge of
  stability* (Cohen et al. 2021), where *sharpness* = η × the loss's largest curvature, 2 η λ_max(Θ)/n,
  reaches 2 and the loss stops falling monotonically. The low frequencies are learned a little faster than
  predicted (k = 2 by about 15%), then partly come back (their curves climb again), and the highest one is
  learned several times slower: the order survives, the rates do not.
- *standard* (PyTorch's scaling, learning rate divided by the width to stay stable) learns only through
  its read-out layer: a random-features model whose kernel is smoother still, so every frequency is several
  times slower than the NTK predicts, exactly as slow as its own linearisation.

**The bias matters, and odd frequencies are special.** Without biases a ReLU network's kernel on the circle
has *zero* eigenvalue at every odd frequency above 1 (Basri et al. 2019): it cannot learn sin 3t at all in
the kernel regime. This page's default bias scale is 1, which makes the spectrum fall steadily; the preset
"Tiny bias" (0.1) shows sin 3t learned after sin 4t and sin 6t.

References: Rahaman, Baratin, Arpit, Draxler, Lin, Hamprecht, Bengio, Courville (2019), *On the spectral bias
of neural networks*, ICML; Xu, Zhang, Luo, Xiao, Ma (2019), *Frequency principle: Fourier analysis sheds
light on deep neural networks* (and Xu, Zhang, Xiao 2019, *Training behavior of deep neural network in
frequency domain*); Basri, Jacobs, Kasten, Kritchman (2019), *The convergence rate of neural networks for
learned functions of different frequencies*, NeurIPS; Jacot, Gabriel, Hongler (2018), *Neural tangent
kernel*; Yang & Hu (2021), *Feature learning in infinite-width neural networks*; Cohen, Kaur, Li, Kolter,
Talwalkar (2021), *Gradient descent on neural networks typically occurs at the edge of stability*.
""",
)
