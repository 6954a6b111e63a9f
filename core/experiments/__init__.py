"""One module (or package) per phenomenon, each defining ``EXPERIMENT``; core.registry finds them."""
