"""One module per phenomenon; importing this package registers them all."""

from core.experiments import (
    optimization,  # noqa: F401
    scaling,  # noqa: F401
)
