"""The model zoo, by name; ``torchnet.models`` has the same names with identical ``state_dict``s.

Every model takes images ``(N, 1, 28, 28)`` (or rows ``(N, 784)``) and returns ``(N, 10)``.
``SPECS`` holds each model's training defaults for ``scratchnet train``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .nn import Flatten, Linear, Module, Sequential, Sigmoid


@dataclass(frozen=True)
class ModelSpec:
    """Training defaults of a zoo model (shared by both libraries)."""

    loss: str  # "quadratic" | "cross_entropy_sigmoid" | "cross_entropy" | "mse_onehot"
    optimizer: str  # "sgd" | "adam"
    lr: float
    batch_size: int
    epochs: int
    dataset: str
    description: str


SPECS: dict[str, ModelSpec] = {
    "book_mlp": ModelSpec(
        loss="quadratic",
        optimizer="sgd",
        lr=3.0,
        batch_size=10,
        epochs=30,
        dataset="mnist",
        description="[784, 30, 10] sigmoid, quadratic cost: the book's chapter 1 network",
    ),
    "book_mlp100": ModelSpec(
        loss="cross_entropy_sigmoid",
        optimizer="sgd",
        lr=0.5,
        batch_size=10,
        epochs=30,
        dataset="mnist",
        description="[784, 100, 10] sigmoid, cross-entropy cost: chapter 3's larger network",
    ),
    "mlp_3b1b": ModelSpec(
        loss="cross_entropy",
        optimizer="sgd",
        lr=0.1,
        batch_size=100,
        epochs=100,
        dataset="mnist",
        description="[784, 16, 16, 10], sigmoid hidden layers, softmax cross-entropy: "
        "3Blue1Brown's network",
    ),
    "linear_mask": ModelSpec(
        loss="mse_onehot",
        optimizer="sgd",
        lr=0.5,
        batch_size=64,
        epochs=10,
        dataset="mnist",
        description="[784, 10], no hidden layer, MSE on one-hot targets: each class's weights "
        "are a mask",
    ),
    "latent3": ModelSpec(
        loss="cross_entropy",
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        epochs=10,
        dataset="mnist",
        description="[784, 10, 3, 10], sigmoid hidden layers: a 3-D latent space to watch",
    ),
}


def _mlp(sizes: list[int], dtype, rng, out_sigmoid: bool) -> Sequential:
    """Flatten, then ``Linear(sizes[i], sizes[i+1])`` each followed by a Sigmoid (the last one
    only when ``out_sigmoid``); children are "0", "1", ... so keys read "1.weight", "3.bias"."""
    rng = rng if rng is not None else np.random.default_rng()
    layers: list[Module] = [Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(n_in, n_out, dtype=dtype, rng=rng))
        if i < len(sizes) - 2 or out_sigmoid:
            layers.append(Sigmoid())
    return Sequential(*layers)


# --8<-- [start:zoo]
def book_mlp(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 30) -> Sigmoid -> Linear(30, 10) -> Sigmoid."""
    return _mlp([784, 30, 10], dtype, rng, out_sigmoid=True)


def book_mlp100(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 100) -> Sigmoid -> Linear(100, 10) -> Sigmoid."""
    return _mlp([784, 100, 10], dtype, rng, out_sigmoid=True)


def mlp_3b1b(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 16) -> Sigmoid -> Linear(16, 16) -> Sigmoid -> Linear(16, 10).

    The output is logits (its loss is softmax cross-entropy)."""
    return _mlp([784, 16, 16, 10], dtype, rng, out_sigmoid=False)


def linear_mask(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 10): no non-linearity, so each row of W is a mask over the image."""
    return _mlp([784, 10], dtype, rng, out_sigmoid=False)


def latent3(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 10) -> Sigmoid -> Linear(10, 3) -> Sigmoid -> Linear(3, 10).

    The 3 sigmoid units are the latent space; the output is logits."""
    return _mlp([784, 10, 3, 10], dtype, rng, out_sigmoid=False)


# --8<-- [end:zoo]


def build(name: str, dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """The zoo model called ``name``; an unknown name lists the known ones."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(SPECS)}")
    return globals()[name](dtype=dtype, rng=rng)
