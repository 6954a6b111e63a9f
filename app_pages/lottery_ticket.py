"""Page: Lottery tickets."""

from core.experiments import lottery_ticket
from ui import page

page.render(
    lottery_ticket.EXPERIMENT,
    intro=(
        "A small network learns scikit-learn's handwritten digits; then, round after round, the smallest weights of "
        "every layer are cut and the survivors are reset to the values they started from, and the sparse network "
        "trains again. You will see its test accuracy against the fraction of weights left, beside the same sparse "
        "wiring with new random weights and a random wiring of the same sparsity."
    ),
    question="with only one weight in ten left, which of the three still reaches the dense network's accuracy: "
    "the pruned mask with its original starting weights, the same mask with fresh random weights, or a random mask?",
    why="""
**What is computed.** Round 0 trains the dense network (ReLU MLP, hidden layers widest first). Each later
round removes, in every layer, the fraction *p* of the surviving weights with the smallest trained
magnitude after the previous round's training (the output layer at *p*/2), resets the survivors to their
**initial** values (or their values at the *rewind to step* control's step), and trains again. Per layer, *c* survivors become
*c* − ⌊*p c*⌋, so the fraction left is exact and identical for all three methods. Biases are never pruned.
The baselines are drawn afresh each round: the ticket's mask on new random weights, and a uniformly random
mask with the same count per layer on the rewound weights. Classification is trained with the engine's
mean squared error on one-hot targets (inputs standardized with the training set's statistics); accuracy
is the arg-max on a stratified 30% test split the network never trains on. All repeats and the three
methods of a round train together as one batched stack with one mask per model.

**What you should see.** At the defaults, down to about 14% of the weights the pruned-and-rewound subnetwork
(the "winning ticket") stays within about a point of the dense network's 97.8%, and at 9% within three,
while the same mask with fresh random weights has lost about ten points and a random mask of the same
sparsity about twenty. The ticket also trains *faster*: after the same number of steps its training loss
is two to three times lower (bottom chart). So the mask alone is not the whole story: the ticket is the mask
*together with* the initial weights that magnitude pruning selected (Frankle & Carbin 2019).

**What the claim does not say.** A ticket is found only *after* training the dense network, once per
round; pruning makes nothing cheaper here. With a short training budget, as in this page's default, part
of the gap between ticket and re-initialization is speed: the re-initialized sparse nets are still
improving when training stops (with plain gradient descent the gap is far larger, see the preset; with
Frankle & Carbin's slower schedule and twice the steps it is smaller, under six points down to 7% of the
weights, before it opens up too). Liu et al. (2019) found that with longer training and well-tuned learning rates, randomly
re-initialized pruned networks often match tickets, and in deeper networks rewinding to the initial values
fails unless one rewinds to a weight vector from early in training (*rewind to step* above 0; Frankle et al.
2020). This two-layer network does not need it: rewinding to step 25 gives the same tickets. With
rewinding to step k, every pruned network trains the round's steps minus k, so the re-initialized one gets k
fewer steps than the dense run; compare the methods at k = 0. On the synthetic task the dense network
overfits (80% test accuracy), and moderate pruning even *raises* the ticket's accuracy: pruning is also
a regularizer.

References: Frankle & Carbin (2019), *The lottery ticket hypothesis: finding sparse, trainable neural
networks*; Frankle, Dziugaite, Roy, Carbin (2020), *Linear mode connectivity and the lottery ticket
hypothesis*; Liu, Sun, Zhou, Huang, Darrell (2019), *Rethinking the value of network pruning*;
Zhou, Lan, Liu, Yosinski (2019), *Deconstructing lottery tickets: zeros, signs, and the supermask*.
""",
    answers=[
        "Only the pruned mask with its original starting weights",
        "The pruned mask, whatever its weights: the wiring is what matters",
        "All three: a tenth of this network is still plenty for digits",
        "None of them: a tenth of the weights is too few",
    ],
    answer=0,
    because=(
        "Magnitude pruning picks a mask together with the initial weights it suits: the same mask on fresh "
        "weights loses about ten points and a random mask about twenty, while the rewound ticket stays within "
        "a few points of the dense network."
    ),
)
