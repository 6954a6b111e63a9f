"""Page: Width vs depth at a fixed parameter budget."""

from core import mlp
from core.experiments import width_depth
from ui import page

#: The He-init preset's learning rate and the default it replaces, as the page states them.
HE_LR = width_depth.PRESETS["He init rescues the plain nets"]["lr"]
DEFAULT_LR = width_depth.Config().lr
#: How far the defaults' nets land from the budget, at most, as a fraction of it.
DEFAULT = width_depth.Config()
OFF_BUDGET = max(abs(mlp.count_params(sizes) - DEFAULT.budget) for _, _, sizes in width_depth.shapes(DEFAULT)) / DEFAULT.budget

page.render(
    width_depth.EXPERIMENT,
    intro=(
        "Five ReLU networks with the same number of parameters (5,000) but 1 to 12 hidden layers learn the same "
        "small regression task with the same optimizer: the deeper the net, the narrower it must be. You will see "
        "each one's final train and test loss, and how strongly its first layer is pushed compared with its last."
    ),
    question="the 12-layer network is 21 units wide, the 1-layer one 1,000. With plain gradient descent from "
    "PyTorch's default initialisation, which "
    "trains to the lower loss, and what changes if every hidden layer gets a skip connection?",
    answers=[
        "Deep one stalls; with skips it trains",
        "Deep one wins: depth is more expressive",
        "Both about the same: parameters are what count",
        "Deep one stalls, and skips do not help",
    ],
    answer=0,
    because=(
        "With PyTorch's default initialisation each plain layer shrinks the backpropagated signal about "
        "six-fold, so the first of 12 layers gets a gradient some 10⁵ times smaller and barely learns; a skip "
        "connection gives the gradient a path around every layer, and the deep net trains (the wide one-layer "
        "net still does best here)."
    ),
    why="""
**How the widths are chosen.** A net with L hidden layers of width w on d = 3 inputs has
P(w) = (L − 1) w² + (d + L + 1) w + 1 weights and biases. For each depth the page solves P(w) = budget with the
quadratic formula and takes whichever neighbouring integer lands closer, so every net is within half a
width-step of the budget (within """ + f"{OFF_BUDGET:.0%}" + """ at the defaults; the table lists the exact counts).

**Why deep narrow plain nets stall.** Backpropagation multiplies the error signal by one weight matrix and one
ReLU mask per layer. With PyTorch's default initialisation (the page's default; uniform, variance 1/(3 fan-in)) each layer
shrinks the signal's variance about six-fold, so after 12 layers the first layer receives a gradient some
10⁵ times smaller than the last (right panel): it effectively does not learn, and with a fixed learning
rate the whole net sits near "predict the mean". Narrow layers make it worse: the fluctuations of the
signal grow like exp(depth/width) (Hanin & Rolnick 2018).

**Why skip connections fix it.** With h ← h + a·relu(W h + b) the backward pass gains an identity path:
∂L/∂h_l = (∂L/∂z_l) W_l + ∂L/∂h_{l+1}, so the signal reaches the first layer without being multiplied by
every matrix on the way (He et al. 2016). The gradient ratio stays within a factor of a few of the shallow
nets', and the 8- and 12-layer nets train (here to about a third of the stalled loss; the wide one-layer
net, which needs no help, still does best at this learning rate and step count). Each branch is scaled by
a = 1/√(number of blocks), so the sum of the blocks stays the same size at any depth (Hayou et al. 2021);
without it the 12-layer residual net diverges at the learning rate the others use.

**What the textbook page leaves out: three remedies.** "Deep narrow nets are hard to train" is about plain
gradient descent from PyTorch's default initialisation. Each of three changes, on its own, makes the plain
12-layer net train (the presets run them; the chart caption gives each run's numbers):
(1) *He initialisation* (He et al. 2015: normal, variance 2/fan-in, zero biases) keeps the signal's size
through every ReLU layer in expectation, so the gradient ratio no longer collapses with depth. Its weights are
larger, so the wide one-layer net needs a smaller learning rate (the preset uses """ + f"{HE_LR:g}; at the \
default {DEFAULT_LR:g} it diverges)" + """.
(2) *Adam* rescales every parameter's step by its own gradient size, which undoes the vanishing gradient.
(3) *Skip connections*, above. Initialisation alone goes a long way: with variance-preserving (orthogonal,
"dynamical isometry") initialisation Xiao et al. (2018) train plain convolutional nets 10,000 layers deep
without skips or normalisation. Skip connections make depth forgiving of the initialisation rather than
being the only way through. At this small budget the extra depth also buys little: with Adam, which
trains every depth, the five nets' test losses lie within a third of each other on this smooth target.

References: He, Zhang, Ren, Sun (2016), *Deep residual learning for image recognition*; Glorot & Bengio
(2010), *Understanding the difficulty of training deep feedforward neural networks*; He, Zhang, Ren, Sun
(2015), *Delving deep into rectifiers*; Hanin & Rolnick (2018), *How to start training: the effect of
initialization and architecture*; Balduzzi et al. (2017), *The shattered gradients problem*; Hayou,
Clerico, He, Deligiannidis, Doucet, Rousseau (2021), *Stable ResNet*; Xiao, Bahri, Sohl-Dickstein,
Schoenholz, Pennington (2018), *Dynamical isometry and a mean field theory of CNNs: how to train
10,000-layer vanilla convolutional neural networks*.
""",
)
