"""The book's lists of ``(x, y)`` tuples, remembered as the two matrices they came from.

The book's networks take ``training_data`` as a Python list of 50,000 ``(x, y)`` column tuples;
the kernels want two row-major matrices. Stacking the list costs about as much as a whole epoch
of the fused kernel (tens of milliseconds for MNIST), and ``SGD(training_data, 1, ...)`` called
once per epoch would pay it every time. So ``mnist_loader`` hands out a :class:`BookPairs`: a
real ``list`` (everything the book does with a list works, and the tuples are the book's), whose
tuples are read-only views of two matrices ``X`` ``(n, n_in)`` and ``Y`` ``(n, n_out)`` (or
labels ``(n,)``), plus the order of its tuples over their rows.

- ``SGD`` reads ``X``, ``Y`` and that order instead of stacking, shuffles the order as the book
  shuffles the list, and leaves the list in the order it trained in (the book's effect of
  ``random.shuffle(training_data)``), updating the order with it.
- Any other change to the list (an assignment, ``append``, ``random.shuffle`` from outside,
  ``sort``...) forgets the matrices: the next ``SGD`` stacks the list as for any plain list,
  so the result is always the list's, never stale. Slices and copies are plain lists.
- The tuples are views of the matrices' rows, so they cannot drift apart either: writing into an
  ``x`` in place writes into ``X``. (The values are checked to be finite when the list is made;
  a value written in place afterwards is not checked again.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _forgets(name: str) -> Callable:
    method = getattr(list, name)

    def changed(self: BookPairs, *args: Any, **kwargs: Any) -> Any:
        self._order = None  # the list no longer follows the matrices
        return method(self, *args, **kwargs)

    changed.__name__ = name
    changed.__doc__ = f"``list.{name}``; afterwards the list is stacked again when a network needs its rows."
    return changed


class BookPairs(list):
    """A list of ``(x, y)`` tuples that knows the matrices its tuples are views of (see the module).

    ``X`` ``(n, n_in)`` and ``Y`` ``(n, n_out)`` float (one-hot rows) or ``(n,)`` int64 labels; the
    tuple at position ``i`` is ``(X[order[i]] as an (n_in, 1) column, Y[order[i]] as an (n_out, 1)
    column or an int)``.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray) -> None:
        if X.ndim != 2 or Y.shape[:1] != X.shape[:1] or Y.ndim not in (1, 2):
            raise ValueError(f"BookPairs: X must be (n, n_in) and Y (n, n_out) or (n,) labels, got X {X.shape}, "
                             f"Y {Y.shape}")
        self.X, self.Y = np.array(X, copy=True), np.array(Y, copy=True)
        if self.X.dtype.kind != "f" or not np.isfinite(self.X.sum()):
            raise ValueError(f"BookPairs: X must hold finite floats, got dtype {self.X.dtype}"
                             + ("" if self.X.dtype.kind != "f" else " with a non-finite value"))
        cols = self.X[:, :, None]                                            # (n, n_in, 1) views
        ys = self.Y[:, :, None] if self.Y.ndim == 2 else self.Y.tolist()   # (n, n_out, 1) views or ints
        self._by_row = tuple(zip(cols, ys, strict=True))                    # the tuple of each row
        super().__init__(self._by_row)
        self._order: np.ndarray | None = np.arange(len(self.X))

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(X, Y, order)`` while the list follows the matrices (``self[i]`` is row ``order[i]``), else None."""
        if self._order is None or len(self._order) != len(self):
            return None
        return self.X, self.Y, self._order

    def follow(self, order: np.ndarray) -> None:
        """Put the list in the order ``order`` of the matrices' rows (``self[i]`` becomes row ``order[i]``)."""
        order = np.asarray(order, dtype=np.int64)
        list.__setitem__(self, slice(None), [self._by_row[r] for r in order.tolist()])
        self._order = order

    def __reduce_ex__(self, protocol: int):  # pickled as the plain list it is
        return (list, (list(self),))

    __setitem__ = _forgets("__setitem__")
    __delitem__ = _forgets("__delitem__")
    __iadd__ = _forgets("__iadd__")
    __imul__ = _forgets("__imul__")
    append = _forgets("append")
    extend = _forgets("extend")
    insert = _forgets("insert")
    pop = _forgets("pop")
    remove = _forgets("remove")
    clear = _forgets("clear")
    sort = _forgets("sort")
    reverse = _forgets("reverse")


def book_pairs(X: np.ndarray, y: np.ndarray, n_classes: int | None = 10) -> BookPairs:
    """The book's tuples for images ``X`` ``(n, n_in)`` and int labels ``y`` ``(n,)``: with ``n_classes``,
    ``(x, one-hot (n_classes, 1) float64 column)`` as for training; with None, ``(x, int label)``."""
    y = np.asarray(y, dtype=np.int64)
    if n_classes is None:
        return BookPairs(X, y)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"book_pairs: labels must lie in [0, {n_classes}), got {y.min()}..{y.max()}")
    return BookPairs(X, np.eye(n_classes)[y])
