"""The model zoo in PyTorch: same names, same ``state_dict`` keys and shapes as scratchnet's."""

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
    return _mlp([784, 100, 10], out_sigmoid=True)


def mlp_3b1b() -> nn.Sequential:
    return _mlp([784, 16, 16, 10], out_sigmoid=False)


def linear_mask() -> nn.Sequential:
    return _mlp([784, 10], out_sigmoid=False)


def latent3() -> nn.Sequential:
    return _mlp([784, 10, 3, 10], out_sigmoid=False)


# --8<-- [end:zoo]


def build(name: str) -> nn.Sequential:
    """The zoo model called ``name``."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(SPECS)}")
    return globals()[name]()
