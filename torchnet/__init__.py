"""torchnet: the same models as scratchnet, in idiomatic PyTorch (CUDA when present)."""

import torch


def default_device() -> torch.device:
    """The device torchnet uses unless told otherwise: CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
