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
magnitude (the output layer at *p*/2), keeps the survivors at their **initial** values (or their values at
`rewind_step`), and trains again for the same budget. Per layer, *c* survivors become
*c* − ⌊*p c*⌋, so the fraction left is exact and identical for all three methods. Biases are never pruned.
Classification is trained with the engine's mean squared error on one-hot targets; accuracy is the
arg-max on a stratified 30% test split the network never trains on. All repeats and the three methods
of a round train together as one batched stack with one mask per model.

**What you should see.** Down to a fraction of the weights, the pruned-and-rewound subnetwork (the
"winning ticket") trains to the dense accuracy, and it trains *faster* (lower training loss after the same
steps). Give the same mask fresh random weights and accuracy falls off much earlier; a random mask of the
same sparsity falls off earlier still. So the mask alone is not the whole story: the ticket is the mask
*together with* the initial weights that magnitude pruning selected (Frankle & Carbin 2019).

**What the claim does not say.** A ticket is found only *after* training the dense network, often many
times over; pruning does not make training cheaper here. With a short training budget, as in this page's
default, part of the gap between ticket and re-initialization is speed: the re-initialized sparse nets are
still improving when training stops (the right-hand chart). Liu et al. (2019) found that with longer
training and well-tuned learning rates, randomly re-initialized pruned networks often match tickets, and
in deeper networks rewinding to the initial values fails unless one rewinds to a weight vector from early
in training (`rewind_step` > 0; Frankle et al. 2020). The default prunes 40% a round to stay fast; the
preset "Frankle & Carbin's schedule" uses their 20%.

References: Frankle & Carbin (2019), *The lottery ticket hypothesis: finding sparse, trainable neural
networks*; Frankle, Dziugaite, Roy, Carbin (2020), *Linear mode connectivity and the lottery ticket
hypothesis*; Liu, Sun, Zhou, Huang, Darrell (2019), *Rethinking the value of network pruning*;
Zhou, Lan, Liu, Yosinski (2019), *Deconstructing lottery tickets: zeros, signs, and the supermask*.
""",
    presets={
        "Fast schedule (40% a round)": {},
        "Frankle & Carbin's schedule: 20% a round, 15 rounds": {"prune_rate": 0.2, "rounds": 15, "steps": 200},
        "Late rewinding to step 25": {"rewind_step": 25},
        "Synthetic 10-class task": {"dataset": "synthetic"},
    },
)
