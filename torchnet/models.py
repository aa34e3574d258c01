"""The model zoo in PyTorch: same names, same ``state_dict`` keys and shapes as scratchnet's.

Each model returns ``(N, 10)``: the MLPs take ``(N, 1, 28, 28)`` or ``(N, 784)``, the CNNs images
of ``SPECS[name].input_shape``; training defaults are ``SPECS[name]``, the very table
``scratchnet.models`` defines.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from scratchnet.models import SPECS, ModelSpec

__all__ = [
    "SPECS",
    "ModelSpec",
    "book_mlp",
    "book_mlp100",
    "book_conv",
    "build",
    "cifar_cnn",
    "fashion_cnn",
    "latent3",
    "linear_mask",
    "mlp_3b1b",
    "vae",
    "VAE",
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


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    """Conv2d 3x3, padding 1, no bias -> BatchNorm2d -> ReLU (as ``scratchnet.models._conv_bn_relu``)."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


# --8<-- [start:cnn_zoo]
def book_conv() -> nn.Sequential:
    """Conv2d(1, 20, 5) MaxPool ReLU, Conv2d(20, 40, 5) MaxPool ReLU, Flatten, [640, 100, 10] ReLU."""
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.ReLU(),        # (N, 20, 12, 12)
        nn.Conv2d(20, 40, 5), nn.MaxPool2d(2), nn.ReLU(),       # (N, 40, 4, 4)
        nn.Flatten(),                                           # (N, 640)
        nn.Linear(640, 100), nn.ReLU(),                         # (N, 100)
        nn.Linear(100, 10),                                     # (N, 10)
    )


def fashion_cnn() -> nn.Sequential:
    """The Fashion-MNIST reference CNN, its ``conv_stack`` and ``fc_stack`` as in the reference."""
    conv_stack = nn.Sequential(
        *_conv_bn_relu(1, 32), nn.MaxPool2d(2),                 # (N, 32, 14, 14)
        *_conv_bn_relu(32, 64), nn.MaxPool2d(2),                # (N, 64, 7, 7)
        *_conv_bn_relu(64, 64),                                 # (N, 64, 7, 7)
    )
    fc_stack = nn.Sequential(
        nn.Flatten(),                                           # (N, 3136)
        nn.Linear(3136, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.5),  # (N, 256)
        nn.Linear(256, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.4),   # (N, 128)
        nn.Linear(128, 10),                                     # (N, 10)
    )
    return nn.Sequential(OrderedDict(conv_stack=conv_stack, fc_stack=fc_stack))


def cifar_cnn() -> nn.Sequential:
    """Six 3x3 conv + BatchNorm + ReLU (32, 32, 64 | pool | 128, 128, 256 | pool), [16384, 512, 10]."""
    conv_stack = nn.Sequential(
        *_conv_bn_relu(3, 32), *_conv_bn_relu(32, 32), *_conv_bn_relu(32, 64),
        nn.MaxPool2d(2),                                        # (N, 64, 16, 16)
        *_conv_bn_relu(64, 128), *_conv_bn_relu(128, 128), *_conv_bn_relu(128, 256),
        nn.MaxPool2d(2),                                        # (N, 256, 8, 8)
    )
    fc_stack = nn.Sequential(
        nn.Flatten(),                                           # (N, 16384)
        nn.Linear(256 * 8 * 8, 512), nn.ReLU(),                 # (N, 512)
        nn.Linear(512, 10),                                     # (N, 10)
    )
    return nn.Sequential(OrderedDict(conv_stack=conv_stack, fc_stack=fc_stack))


# --8<-- [end:cnn_zoo]


def build(name: str) -> nn.Module:
    """The zoo model called ``name``; an unknown name lists the known ones."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(SPECS)}")
    return globals()[name]()


# --8<-- [start:vae]
class VAE(nn.Module):
    """PyTorch's VAE example (``examples/vae/main.py``), with ``latent_dim`` and ``hidden`` free;
    the same ``state_dict`` keys as ``scratchnet.models.VAE``. ``forward(X, eps=None)``."""

    def __init__(self, latent_dim: int = 2, hidden: int = 400) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, latent_dim)
        self.fc22 = nn.Linear(hidden, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = torch.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        return mu + (torch.randn_like(std) if eps is None else eps) * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(z))))

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        mu, logvar = self.encode(x.reshape(len(x), 784))
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar


def vae(latent_dim: int = 2, hidden: int = 400) -> VAE:
    """``VAE(latent_dim, hidden)``."""
    return VAE(latent_dim, hidden)
# --8<-- [end:vae]
