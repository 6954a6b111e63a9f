"""The lazy-training page's settings: the width sweep's, and the output-scale sweep's beside them."""

from __future__ import annotations

from dataclasses import dataclass

from core import mlp
from core.contract import ConfigError, param

#: Input dimension of the α sweep's ridge task: large enough that a rotation-invariant kernel needs
#: many more samples (~d²) than the default n to learn a non-linear ridge, small enough to stay cheap.
TEACHER_D = 20


@dataclass(frozen=True)
class Config:
    widths: tuple[int, ...] = param((16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
                                    "hidden units per layer, one network per width", lo=4, hi=4096, max_len=10,
                                    label="widths (hidden units per layer)")
    depth: int = param(1, "hidden layers of the width sweep's nets (the α sweep's have one)", lo=1, hi=4,
                       label="hidden layers")
    parameterization: str = param("ntk", "ntk: weights N(0,1) scaled by 1/sqrt(fan-in) in the forward pass; standard: "
                                  "PyTorch-style, learning rate divided by the width to stay stable; mup: maximal update "
                                  "(read-out scaled by an extra 1/sqrt(width), learning rate times the width)",
                                  choices=mlp.PARAMETERIZATIONS, label="parameterization")
    n: int = param(64, "training samples (Gaussian inputs, the textbook's target)", lo=8, hi=512,
                   label="training samples n")
    d: int = param(10, "input dimensions", lo=1, hi=100, label="input dimensions d")
    steps: int = param(200, "full-batch gradient-descent steps", lo=10, hi=2000, step=10, label="training steps")
    lr: float = param(0.5, "learning rate (before the parameterization's width scaling)", lo=1e-3, hi=4.0, log=True,
                       label="learning rate η")
    alphas: tuple[int, ...] = param((1, 4, 16, 64, 256),
                                    "output scales α of the lazy-vs-rich sweep: each net predicts α (f − f₀) and trains "
                                    "on the loss divided by α² (in μP, where α = 1 learns features and α = √width "
                                    "trains like NTK parameterization)", lo=1, hi=4096, max_len=8,
                                    label="output scales α")
    scale_width: int = param(256, "hidden units per layer of the nets in the lazy-vs-rich sweep", lo=16, hi=2048,
                             label="width of the α sweep")
    scale_n: int = param(256, f"training samples of the ridge task y = |⟨u, x⟩| in {TEACHER_D} dimensions (α sweep)",
                         lo=32, hi=1024, label="ridge-task samples")
    scale_steps: int = param(1000, "full-batch gradient-descent steps of each net in the α sweep", lo=10, hi=4000,
                             step=10, label="α-sweep steps")
    seed: int = param(0, "random seed for data and initialisation", lo=0, hi=2**31 - 1, label="random seed")

    def check(self) -> None:
        if len(self.widths) < 2:
            raise ConfigError("widths: give at least two widths, so a slope against width can be fitted")
        if len(self.alphas) < 2:
            raise ConfigError("alphas: give at least two output scales, so a rich and a lazy end can be compared")


def sizes(config: Config, width: int, d: int | None = None) -> tuple[int, ...]:
    """Layer sizes of a net of this width at the page's depth (input dimension d, else the page's)."""
    return mlp.layer_sizes(config.d if d is None else d, width, config.depth)
