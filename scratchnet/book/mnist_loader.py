"""The book's ``mnist_loader``: same functions, same formats, built on ``scratchnet.data``.

``load_data()`` -> ``(training_data, validation_data, test_data)``, each ``(X, y)`` with X
float32 ``(N, 784)`` (pixels k/256, exactly the pickle's values) and y int64 ``(N,)``.
``load_data_wrapper()`` -> lists of ``(x, y)`` tuples: x ``(784, 1)``; y a one-hot ``(10, 1)``
column for training and an int for validation and test.
"""

from __future__ import annotations

import numpy as np

from ..data import load


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The book's three ``(X, y)`` pairs: 50,000 training, 10,000 validation, 10,000 test images."""
    d = load("mnist")
    return tuple((X.reshape(len(X), 784), y) for X, y in (d["train"], d["validation"], d["test"]))


def vectorized_result(j: int) -> np.ndarray:
    """A ``(10, 1)`` column with 1.0 in row ``j`` and zeros elsewhere."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


def load_data_wrapper() -> tuple[list, list, list]:
    """``(training_data, validation_data, test_data)`` as the book's networks take them."""
    tr_d, va_d, te_d = load_data()
    training_data = [(x.reshape(784, 1), vectorized_result(y)) for x, y in zip(*tr_d, strict=True)]
    validation_data = [(x.reshape(784, 1), int(y)) for x, y in zip(*va_d, strict=True)]
    test_data = [(x.reshape(784, 1), int(y)) for x, y in zip(*te_d, strict=True)]
    return training_data, validation_data, test_data
