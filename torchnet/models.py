"""The model zoo in PyTorch: same names, same ``state_dict`` keys and shapes as scratchnet's.

Each model takes ``(N, 1, 28, 28)`` or ``(N, 784)`` and returns ``(N, 10)``; its training
defaults are ``SPECS[name]``, the very table ``scratchnet.models`` defines.
"""

from __future__ import annotations

from torch import nn

from scratchnet.models import SPECS, ModelSpec

__all__ = [
    "SPECS",
    "ModelSpec",
    "book_mlp",
    "book_mlp100",
    "build",
    "latent3",
    "linear_mask",
    "mlp_3b1b",
]


def _mlp(sizes: list[int], out_sigmoid: bool) -> nn.Sequential:
    """Flatten, then Linear(sizes[i], sizes[i+1]) each followed by a Sigmoid (the last one only
    when ``out_sigmoid``): children "0", "1", ... as in ``scratchnet.models._mlp``."""
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or out_sigmoid:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


# --8<-- [start:zoo]
def book_mlp() -> nn.Sequential:
    """Flatten -> Linear(784, 30) -> Sigmoid -> Linear(30, 10) -> Sigmoid."""
    return _mlp([784, 30, 10], out_sigmoid=True)


def book_mlp100() -> nn.Sequential:
    """Flatten -> Linear(784, 100) -> Sigmoid -> Linear(100, 10) -> Sigmoid."""
    return _mlp([784, 100, 10], out_sigmoid=True)


def mlp_3b1b() -> nn.Sequential:
    """Flatten -> Linear(784, 16) -> Sigmoid -> Linear(16, 16) -> Sigmoid -> Linear(16, 10)."""
    return _mlp([784, 16, 16, 10], out_sigmoid=False)


def linear_mask() -> nn.Sequential:
    """Flatten -> Linear(784, 10): no non-linearity."""
    return _mlp([784, 10], out_sigmoid=False)


def latent3() -> nn.Sequential:
    """Flatten -> Linear(784, 10) -> Sigmoid -> Linear(10, 3) -> Sigmoid -> Linear(3, 10)."""
    return _mlp([784, 10, 3, 10], out_sigmoid=False)


# --8<-- [end:zoo]


def build(name: str) -> nn.Sequential:
    """The zoo model called ``name``; an unknown name lists the known ones."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(SPECS)}")
    return globals()[name]()
