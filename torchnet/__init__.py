"""torchnet: the same models as scratchnet, in idiomatic PyTorch (CUDA when present).

torchnet depends on scratchnet (data, the training loop, the model specs); scratchnet never
imports torchnet. PyTorch is the ``torch`` extra: ``pip install 'scratchnet[torch]'``.
"""

try:
    import torch
except ImportError as exc:  # a clear remedy instead of a bare "No module named 'torch'"
    raise ImportError(f"torchnet needs PyTorch, which is not installed here ({exc}): "
                      "pip install 'scratchnet[torch]'") from exc


def default_device() -> torch.device:
    """The device torchnet uses unless told otherwise: CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
