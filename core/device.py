"""Which device runs the networks: CUDA when present, unless the caller forces the CPU."""

from __future__ import annotations

import torch


def pick_device(force_cpu: bool = False) -> torch.device:
    """CUDA if available and not forced off, else the CPU."""
    if not force_cpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def describe(device: torch.device) -> str:
    """A short human label, e.g. 'cuda (NVIDIA H200)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
