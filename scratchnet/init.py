"""Initialisers: the book's two (chapter 3) and PyTorch's default for Linear layers.

Each fills a ``Linear``'s parameters in place from a random source. The book's draw from a
``randn(*shape)`` callable — ``np.random.randn`` reproduces the book's global stream — biases
before weights, as ``network2.Network.default_weight_initializer`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .nn.linear import Linear

Randn = Callable[..., np.ndarray]


# --8<-- [start:book_init]
def book_default(layer: Linear, randn: Randn = np.random.randn) -> None:
    """Book's default: ``b ~ N(0, 1)``, ``w ~ N(0, 1) / sqrt(n_in)`` (saturation-avoiding)."""
    if layer.bias is not None:
        layer.bias.data[...] = randn(layer.out_features, 1)[:, 0]
    layer.weight.data[...] = randn(layer.out_features, layer.in_features) / np.sqrt(layer.in_features)


def book_large(layer: Linear, randn: Randn = np.random.randn) -> None:
    """Book's chapter 1 initialisation: ``b ~ N(0, 1)``, ``w ~ N(0, 1)``."""
    if layer.bias is not None:
        layer.bias.data[...] = randn(layer.out_features, 1)[:, 0]
    layer.weight.data[...] = randn(layer.out_features, layer.in_features)
# --8<-- [end:book_init]


def torch_linear(layer: Linear, rng: np.random.Generator) -> None:
    """PyTorch's default for ``nn.Linear``: weight and bias ``U(-1/sqrt(in), 1/sqrt(in))``."""
    bound = 1.0 / np.sqrt(layer.in_features)
    layer.weight.data[...] = rng.uniform(-bound, bound, layer.weight.data.shape)
    if layer.bias is not None:
        layer.bias.data[...] = rng.uniform(-bound, bound, layer.bias.data.shape)
