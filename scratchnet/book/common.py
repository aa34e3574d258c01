"""What ``network`` and ``network2`` share: the book's shuffle, sigmoid, and list <-> matrix.

The book keeps data as lists of ``(x, y)`` column vectors; the kernels take row-major matrices.
``stack`` converts once per call to ``SGD``, never per mini-batch, and not at all for the lists
``mnist_loader`` hands out (``pairs.BookPairs``: they remember their matrices).
"""

from __future__ import annotations

import random

import numpy as np
from numba import njit

from ..kernels import fused_mlp, tiers
from .pairs import BookPairs


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
    """Rows ``X`` ``(n, n_in)`` and targets from a list of ``(x, y)`` tuples.

    ``n_out`` given: y are ``(n_out, 1)`` columns -> ``(n, n_out)`` float64; ``None``: y are
    ints -> ``(n,)`` int64. X keeps float32 pixels as they are (the book's values exactly).
    A :class:`~scratchnet.book.pairs.BookPairs` (``mnist_loader``'s lists) that still follows its
    matrices gives them without stacking (a copy in the list's order only when it was shuffled).
    """
    known = stack_rows(data, name, n_in, n_out)
    if known is not None:
        X, Y, order = known
        if np.array_equal(order, np.arange(len(order))):
            return X, Y
        return X[order], Y[order]
    return _stack(data, name, n_in, n_out)


def stack_rows(data: list, name: str, n_in: int, n_out: int | None) \
        -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(X, Y, order)`` of a :class:`~scratchnet.book.pairs.BookPairs` whose matrices fit the network
    (``data[i]`` is row ``order[i]``), without copying; None for any other list (then :func:`stack` it)."""
    rows = data.rows() if isinstance(data, BookPairs) else None
    if rows is None or not len(rows[2]):
        return None
    X, Y, order = rows
    wanted = (len(X),) if n_out is None else (len(X), n_out)
    if X.shape[1] != n_in or Y.shape != wanted:
        return None  # let _stack name what does not fit
    return X, Y if n_out is None else Y.astype(np.float64, copy=False), order


def rows_in_order(data: list, name: str, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, order)`` for ``SGD``: ``data[i]`` is the sample ``(X[order[i]], Y[order[i]])``.

    A :class:`~scratchnet.book.pairs.BookPairs` gives its own matrices and order, copying nothing;
    any other list is stacked (:func:`stack`) with ``order = 0, 1, ..., n - 1``. ``SGD`` shuffles
    ``order`` as the book shuffles the list, and hands it to :func:`leave_in_order` at the end.
    """
    known = stack_rows(data, name, n_in, n_out)
    if known is not None:
        return known
    X, Y = _stack(data, name, n_in, n_out)
    return X, Y, np.arange(len(X))


def leave_in_order(data: list, order: np.ndarray) -> None:
    """Leave ``data`` as the book's in-place ``random.shuffle`` calls left it: ``data[i]`` becomes the
    sample of row ``order[i]`` of the matrices :func:`rows_in_order` gave (for a
    :class:`~scratchnet.book.pairs.BookPairs`, which then still follows its matrices)."""
    if isinstance(data, BookPairs) and data.rows() is not None:
        data.follow(order)
    else:
        data[:] = [data[i] for i in order.tolist()]


def _stack(data: list, name: str, n_in: int, n_out: int | None) -> tuple[np.ndarray, np.ndarray]:
    if not data:
        raise ValueError(f"{name} is empty")
    x0, y0 = data[0]
    if np.shape(x0) not in ((n_in, 1), (n_in,)):
        raise ValueError(f"{name}: each x must be a ({n_in}, 1) column for a network with "
                         f"{n_in} inputs, got {np.shape(x0)}")
    X = _rows([x for x, _ in data], np.shape(x0), len(data), n_in,
              f"{name}: every x must be a ({n_in}, 1) column")                       # (n, n_in)
    if not np.isfinite(X.sum()):  # one pass (an overflow only costs the closer look)
        bad = np.argwhere(~np.isfinite(X))
        if bad.size:
            i, k = bad[0]
            raise ValueError(f"{name}: x number {i} holds {X[i, k]} at row {k}; "
                             "inputs must be finite")
    if n_out is None:
        if np.ndim(y0) != 0:
            raise ValueError(f"{name}: each y must be an int label, got shape {np.shape(y0)}")
        y = np.fromiter((int(v) for _, v in data), dtype=np.int64, count=len(data))
        return X, y
    if np.shape(y0) not in ((n_out, 1), (n_out,)):
        raise ValueError(f"{name}: each y must be a ({n_out}, 1) one-hot column, got "
                         f"{np.shape(y0)} (validation and test data carry int labels; pass "
                         "them as evaluation data)")
    Y = _rows([v for _, v in data], np.shape(y0), len(data), n_out,
              f"{name}: every y must be a ({n_out}, 1) one-hot column")          # (n, n_out)
    return X, Y.astype(np.float64, copy=False)


def _rows(columns: list, shape: tuple, n: int, width: int, message: str) -> np.ndarray:
    """Stack ``n`` columns of one ``shape`` into ``(n, width)`` rows, keeping a float dtype as
    it is (float32 pixels stay exact).

    One ``np.array`` call checks that every column has the shape and copies them, in C; the
    columns are looked at one by one only when it fails, to name the first bad one.
    """
    try:
        X = np.array(columns)                                                  # (n, *shape)
    except (ValueError, TypeError):  # columns of different shapes
        X = None
    if X is None or X.shape != (n, *shape) or X.dtype.kind not in "fiub":
        bad = next((np.shape(c) for c in columns if np.shape(c) != shape), None)
        if bad is None:
            raise ValueError(f"{message} of numbers, got dtype {X.dtype if X is not None else '?'}")
        raise ValueError(f"{message}, got {bad} after {shape}")
    X = X.reshape(n, width)                                                    # (n, width)
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)


def check_sgd(epochs: int, mini_batch_size: int, eta: float) -> None:
    """Arguments all ``SGD``s share: ints ``epochs >= 0``, ``mini_batch_size >= 1``, finite eta."""
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"SGD: epochs must be an int >= 0, got {epochs!r}")
    if int(mini_batch_size) != mini_batch_size or mini_batch_size < 1:
        raise ValueError(f"SGD: mini_batch_size must be a positive int, got {mini_batch_size!r}")
    if not np.isfinite(eta):
        raise ValueError(f"SGD: eta must be finite, got {eta!r}")


def labels_of(data: list, n_out: int) -> np.ndarray:
    """Int labels ``(n,)`` of a data list whose y are ints in ``[0, n_out)`` or one-hot columns."""
    y0 = data[0][1]
    if np.ndim(y0) != 0:
        return np.fromiter((int(np.argmax(v)) for _, v in data), dtype=np.int64, count=len(data))
    y = np.fromiter((int(v) for _, v in data), dtype=np.int64, count=len(data))
    bad = np.flatnonzero((y < 0) | (y >= n_out))
    if bad.size:
        raise ValueError(f"labels must lie in [0, {n_out}) for a network with {n_out} outputs, "
                         f"got {y[bad[0]]} at position {bad[0]}")
    return y


@njit(cache=True, fastmath=False)
def _swap_down(x, j):
    """x[i], x[j[t]] = x[j[t]], x[i] for t = 0, 1, ... and i = len(x) - 1 - t (in place)."""
    for t in range(j.shape[0]):
        i = x.shape[0] - 1 - t
        x[i], x[j[t]] = x[j[t]], x[i]


# --8<-- [start:py2_shuffle_fast]
def shuffled_order(order: np.ndarray) -> np.ndarray:
    """``order`` after :func:`py2_shuffle`, drawing the same numbers from the global ``random``.

    Vectorised: NumPy's MT19937 continues Python's Mersenne Twister from its state, and
    ``random()`` is rebuilt as Python builds it, ``(a 2^26 + b) / 2^53`` with ``a = u >> 5``,
    ``b = u' >> 6`` from two 32-bit outputs; the state is handed back to ``random`` afterwards.
    """
    n = len(order)
    version, internal, gauss_next = random.getstate()
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937",
                  "state": {"key": np.array(internal[:-1], dtype=np.uint32), "pos": internal[-1]}}
    u = bits.random_raw(2 * max(n - 1, 0))                     # (2 (n - 1),) 32-bit outputs
    r = ((u[0::2] >> 5) * 67108864.0 + (u[1::2] >> 6)) * (1.0 / 9007199254740992.0)
    j = (r * np.arange(n, 1, -1)).astype(np.int64)             # int(random() * (i + 1))
    state = bits.state["state"]
    random.setstate((version, tuple(state["key"].tolist()) + (int(state["pos"]),), gauss_next))
    out = np.array(order, dtype=np.int64)
    _swap_down(out, j)
    return out
# --8<-- [end:py2_shuffle_fast]


def epoch_kernels():
    """``train_epoch`` and ``predict`` for the active kernel tier, as a module.

    ``kernels.fused_mlp`` (fast: the whole epoch in one compiled call) or
    ``book.matrix_form`` (reference: the chapter 2 exercise on ``scratchnet.nn``).
    """
    if tiers.current() == tiers.REFERENCE:
        from . import matrix_form  # noqa: PLC0415 - book.matrix_form imports scratchnet.nn
        return matrix_form
    return fused_mlp
