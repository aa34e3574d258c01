"""Initialisers: the book's two (chapter 3). PyTorch's default is ``Linear``'s own.

Each fills a ``Linear``'s parameters in place from a random source. The book's two draw
standard normals biases-before-weights, as ``network2.Network.default_weight_initializer``
does, from ``rng``: a ``np.random.Generator``, or any ``randn(*shape)`` callable — the default
``np.random.randn`` is the legacy global stream the book seeds with ``np.random.seed``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .nn.linear import Linear

Randn = Callable[..., np.ndarray]


def _randn(rng: np.random.Generator | Randn) -> Randn:
    """A ``randn(*shape)`` callable from a Generator (or the callable itself)."""
    if isinstance(rng, np.random.Generator):
        return lambda *shape: rng.standard_normal(shape)
    if not callable(rng):
        raise TypeError(
            f"init: rng must be a np.random.Generator or a randn(*shape) callable, "
            f"got {type(rng).__name__}"
        )
    return rng


# --8<-- [start:book_init]
def book_default(layer: Linear, rng: np.random.Generator | Randn = np.random.randn) -> None:
    """The book's default: ``b ~ N(0, 1)`` ``(out,)``, then ``w ~ N(0, 1) / sqrt(n_in)``.

    ``w`` is ``(out, in)``, PyTorch's layout; ``n_in = in``.

    Dividing by ``sqrt(n_in)`` keeps ``z = w a + b`` of order 1, so sigmoids do not saturate.
    """
    randn = _randn(rng)
    if layer.bias is not None:
        layer.bias.data[...] = randn(layer.out_features, 1)[:, 0]  # (out,)
    layer.weight.data[...] = randn(layer.out_features, layer.in_features) / np.sqrt(
        layer.in_features
    )


def book_large(layer: Linear, rng: np.random.Generator | Randn = np.random.randn) -> None:
    """The book's chapter 1 initialisation: ``b ~ N(0, 1)`` ``(out,)``, then ``w ~ N(0, 1)``."""
    randn = _randn(rng)
    if layer.bias is not None:
        layer.bias.data[...] = randn(layer.out_features, 1)[:, 0]  # (out,)
    layer.weight.data[...] = randn(layer.out_features, layer.in_features)  # (out, in)


# --8<-- [end:book_init]
