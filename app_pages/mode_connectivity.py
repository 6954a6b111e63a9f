"""Page: Mode connectivity."""

from core.experiments import mode_connectivity
from ui import page

page.render(
    mode_connectivity.EXPERIMENT,
    intro=(
        "Two copies of the same network (the textbook page's: 2 hidden layers of 200 units, 50 points of sin(x₁ + x₂ + x₃) in "
        "10 dimensions, Adam) are trained from different random seeds until both fit the data. "
        "You will see the loss along the straight line between their weights, along the same line after "
        "reordering the second net's hidden units, and along a trained curve; what averaging the two nets gives, "
        "their outputs or their weights; then how the hill changes with width. The preset *Spawned children: one "
        "basin* trains B as a copy of A made a few minibatch steps into training instead, and sweeps that step."
    ),
    question="both nets have training loss below 1e-6. Halfway between them in weight space, is the training "
    "loss still near zero, or is there a hill? What could remove it, and does averaging the two nets help?",
    why="""
**There is a hill.** On the textbook's own setting the training loss halfway along the straight line between
the two nets is about 0.5 — the loss of predicting zero everywhere (the mean square of sin(x₁ + x₂ + x₃) is
0.499). The textbook page says independently trained nets "find solutions in the same basin" and that one
minimum can be moved into another "while staying at zero loss"; its own script prints a midpoint loss of
0.49 and "A loss barrier exists", then prints the same-basin implications anyway. On a straight line,
two minima from different random seeds are *not* connected here.

**Most of the hill is a permutation.** Reordering the hidden units of a layer (their incoming weights,
bias and outgoing weights together) leaves the function unchanged, so every net has 200! × 200!
equivalent copies, and two independent runs land in different ones. Averaging unit 7 of one net with
an unrelated unit 7 of the other destroys both. *Weight matching* (Ainsworth, Hayase, Srinivasa 2023,
Git Re-Basin) pairs each unit of B with the most similar unit of A: per hidden layer a linear assignment
(scipy's `linear_sum_assignment`) on the summed products of incoming weights, biases and outgoing
weights, with the other layers' orders fixed, repeated layer by layer until nothing changes. The
permuted B computes exactly the same function (its end loss is identical), yet the hill drops.

**What is left, and why the initialisation matters.** With the textbook's initialisation (every weight N(0, 0.1²)), the
aligned barrier falls only about in half at width 200, and *grows* with width in the sweep. A fixed
std of 0.1 is He's scale (√(2/fan_in)) at width 200 only; wider layers start larger (the untrained
output's size grows from 0.02 at width 25 to 0.9 at width 400), and the nets fit the 50 points in ~150
steps while moving only about half their initial size (with PyTorch's init they move more than their
whole initial size). Much of each trained net is still its own random start, and two independent
random matrices cannot be permuted into each other. With PyTorch's default init
(±1/√fan_in, try the preset) the aligned barrier shrinks as width grows, to about a fifth of the plain
one here, then levels off: near zero, not zero. Ainsworth et al. report zero-barrier alignment for
wide nets trained on large data sets. More data helps here too: with 500 points (preset) the nets learn
the function (test loss ≈ 0.02) and weight matching removes over 90% of the barrier (0.49 → 0.03).

**A curved path has no hill at all.** Garipov et al. (2018) and Draxler et al. (2018) showed that
minima are joined by simple curves of low loss. Here the quadratic Bezier curve
θ(t) = (1−t)² w_A + 2t(1−t) θ_mid + t² w_B, with only θ_mid trained (on the loss averaged over random t,
gradient 2t(1−t) × the model's gradient), stays within about 1e-4 of zero all the way, with B
*not* permuted. The heatmap shows the plane through w_A, w_B and θ_mid, which holds the whole curve:
the straight path crosses a ridge that the curve walks around.

**What the test loss says.** With 50 points in 10 dimensions the nets fit the data but not the function:
their test loss (≈ 0.7) is worse than predicting zero everywhere (0.5). Midway along the straight line
the model is close to predicting zero, so its test loss is *lower* than at the ends: the hill is in the
training loss only. The curve's models stay fitted to the 50 points and generalise about as the ends do.

**Averaging: outputs or weights?** The textbook page says good solutions form a basin and that averaging
over it, as ensembles do, improves generalisation. There are two different averages, and the averages
chart puts them beside the two nets and beside predicting 0 everywhere. An *ensemble* averages the two
nets' outputs: here it does a little better on new points than either net. Averaging the *weights*
(t = 1/2 on the straight path) makes one new net, and that only works if the midpoint is itself a
low-loss point, i.e. if both nets sit in one basin. At the textbook's setting it sits on top of the hill:
its training loss is close to that of predicting 0, and so is its test loss. That test loss is *below*
the nets' own only because the nets do worse than predicting 0 on new points; it is no sign of a
shared basin. After weight matching the average is a little lower again on both sets, and still far
from a fit. With 500 points (preset) the picture is the textbook one: the plain weight average is
ruined (test loss near predicting 0's), the aligned average is a working model but worse than either
net, and the ensemble beats both nets.

**Children of one net share its basin.** Frankle, Dziugaite, Roy and Carbin (2020) asked when two
copies of one net, trained on from the same point with different minibatch orders (different SGD noise),
end up linearly connected. Set *spawn B from A at step* above 0 and a *batch size* below n: B starts as an exact copy
of A at that step, and from there each draws its own batches. (With full batch every step is the same
deterministic gradient, so the copy would retrace A exactly: the page refuses that setting.) In the
preset (minibatches of 10, SGD), independent nets trained the same way have the full hill, and
so do, in part, children spawned at the very first steps; but children spawned a handful of steps in,
under 1% of training, have barriers hundreds of times lower: after a short unstable start, SGD's noise
no longer carries the copies into different basins. The spawn chart's caption gives the step, the
fraction and the ratio measured. Frankle et al. found the same for ResNets on CIFAR-10 and ImageNet,
where it takes a few percent of training, and at initialisation already for small nets on MNIST.

**Why weight averaging works in practice.** Stochastic weight averaging (Izmailov et al. 2018) averages
points along one SGD trajectory; model soups (Wortsman et al. 2022) average models fine-tuned from one
pre-trained parent. Both average children of one basin, which is where the averaged weights are still a
low-loss point. Here the spawned children are so alike that their weight average has a training loss
near zero and generalises just as they do (no worse, and no better): averaging weights is safe within a
basin, and harmful across basins unless the units are matched first.

References: Garipov, Izmailov, Podoprikhin, Vetrov, Wilson (2018), *Loss surfaces, mode connectivity,
and fast ensembling of DNNs*; Draxler, Veschgini, Salmhofer, Hamprecht (2018), *Essentially no barriers
in neural network energy landscape*; Frankle, Dziugaite, Roy, Carbin (2020), *Linear mode connectivity
and the lottery ticket hypothesis*; Izmailov, Podoprikhin, Garipov, Vetrov, Wilson (2018), *Averaging
weights leads to wider optima and better generalization* (SWA); Wortsman et al. (2022), *Model soups:
averaging weights of multiple fine-tuned models improves accuracy without increasing inference time*;
Ainsworth, Hayase, Srinivasa (2023), *Git Re-Basin: merging models modulo permutation symmetries*;
Entezari, Sedghi, Saukh, Neyshabur (2022), *The role of permutation invariance in linear mode
connectivity of neural networks*.
""",
    answers=[
        "Near zero all the way: one big basin, so averaging their weights works as well as an ensemble",
        "A hill, and nothing removes it",
        "A hill: matching hidden units shrinks it, a curve avoids it, children spawned from one net have none; "
        "averaging outputs helps, averaging weights only within one basin",
        "A hill only on test data",
    ],
    answer=2,
    because=(
        "Most of the hill is a permutation of the hidden units, which weight matching undoes; a curve stays "
        "low, children spawned from one trained net share its basin, and averaging outputs (an ensemble) helps "
        "while averaging weights works only inside one basin."
    ),
)
