"""One module per phenomenon; importing this package registers them all."""

from core.experiments import (
    benign_overfitting,  # noqa: F401
    double_descent,  # noqa: F401
    implicit_bias,  # noqa: F401
    lazy_training,  # noqa: F401
    lottery_ticket,  # noqa: F401
    mode_connectivity,  # noqa: F401
    optimization,  # noqa: F401
    scaling,  # noqa: F401
    width_depth,  # noqa: F401
)
