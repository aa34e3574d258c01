"""The book's ``mnist_loader``: same functions, same formats, built on ``scratchnet.data``.

``load_data()`` -> ``(training_data, validation_data, test_data)``, each ``(X, y)`` with X
float32 ``(N, 784)`` (pixels k/256, exactly the pickle's values) and y int64 ``(N,)``.
``load_data_wrapper()`` -> lists of ``(x, y)`` tuples: x ``(784, 1)``; y a one-hot ``(10, 1)``
column for training and an int for validation and test (lists that also remember the matrices
their tuples are views of: :class:`~scratchnet.book.pairs.BookPairs`).
"""

from __future__ import annotations

import numpy as np

from ..data import load
from .pairs import book_pairs


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
    # lists of the book's tuples that remember the matrices they are views of, so that SGD
    # does not stack 50,000 columns again at every call (scratchnet.book.pairs)
    return book_pairs(*tr_d, n_classes=10), book_pairs(*va_d, n_classes=None), book_pairs(*te_d, n_classes=None)
