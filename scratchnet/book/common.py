"""What ``network`` and ``network2`` share: the book's shuffle, sigmoid, and list <-> matrix.

The book keeps data as lists of ``(x, y)`` column vectors; the kernels take row-major matrices.
``stack`` converts once per call to ``SGD``, never per mini-batch.
"""

from __future__ import annotations

import random

import numpy as np


# --8<-- [start:py2_shuffle]
def py2_shuffle(x: list, rand=random.random) -> None:
    """Shuffle ``x`` in place exactly as Python 2's ``random.shuffle`` did (the book's runs).

    For i from the end down to 1, swap x[i] with x[j], ``j = int(random() * (i + 1))``.
    Python 3's ``random.shuffle`` draws differently, so it would not reproduce the book.
    """
    for i in reversed(range(1, len(x))):
        j = int(rand() * (i + 1))
        x[i], x[j] = x[j], x[i]
# --8<-- [end:py2_shuffle]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The sigmoid function, ``1 / (1 + e^{-z})``, as the book writes it."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid function, ``sigma(z) (1 - sigma(z))``."""
    return sigmoid(z) * (1 - sigmoid(z))


def stack(data: list, name: str, n_in: int, n_out: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``X`` float64 ``(n, n_in)`` and targets from a list of ``(x, y)`` tuples.

    ``n_out`` given: y are ``(n_out, 1)`` columns -> ``(n, n_out)``; ``None``: y are ints -> ``(n,)``.
    """
    if not data:
        raise ValueError(f"{name} is empty")
    x0, y0 = data[0]
    if np.shape(x0) not in ((n_in, 1), (n_in,)):
        raise ValueError(f"{name}: each x must be a ({n_in}, 1) column for a network with {n_in} inputs, "
                         f"got {np.shape(x0)}")
    X = np.empty((len(data), n_in))
    for i, (x, _) in enumerate(data):
        X[i] = x.reshape(-1)
    if n_out is None:
        y = np.fromiter((int(v) for _, v in data), dtype=np.int64, count=len(data))
        return X, y
    if np.shape(y0) not in ((n_out, 1), (n_out,)):
        raise ValueError(f"{name}: each y must be a ({n_out}, 1) one-hot column, got {np.shape(y0)} "
                         "(validation and test data carry int labels; pass them as evaluation data)")
    Y = np.empty((len(data), n_out))
    for i, (_, v) in enumerate(data):
        Y[i] = v.reshape(-1)
    return X, Y


def labels_of(data: list, n_out: int) -> np.ndarray:
    """Int labels of a data list whose y are ints or one-hot columns."""
    y0 = data[0][1]
    if np.ndim(y0) == 0:
        return np.fromiter((int(v) for _, v in data), dtype=np.int64, count=len(data))
    return np.fromiter((int(np.argmax(v)) for _, v in data), dtype=np.int64, count=len(data))


def shuffled_order(n: int, order: np.ndarray) -> np.ndarray:
    """Apply the book's per-epoch ``random.shuffle(training_data)`` to an index permutation."""
    lst = order.tolist()
    py2_shuffle(lst)
    return np.asarray(lst, dtype=np.int64)
