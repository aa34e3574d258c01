"""Work arrays reused across calls: no allocation in a training step at a fixed batch size.

A layer's output (or gradient) array from the last call is handed out again only when its shape
and dtype fit and *nobody else holds a reference to it* (CPython's reference count), so an
output the caller kept (``y1 = model(X1); y2 = model(X2)``) is never overwritten: the second
call then allocates a fresh array. Caches that ``backward`` needs are dropped before the reuse
test (``Sequential.forward`` releases every child's), so they do not block it.
"""

from __future__ import annotations

import sys

import numpy as np


def take(
    work: dict[str, np.ndarray], key: str, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """``work[key]`` if it is ``(shape, dtype)`` and unshared, else a new ``np.empty`` put there."""
    buf = work.get(key)
    if (
        buf is not None
        and buf.shape == shape
        and buf.dtype == dtype
        and sys.getrefcount(buf) <= _FREE
    ):
        return buf
    buf = work[key] = np.empty(shape, dtype)
    return buf


def _free_refcount() -> int:
    """References an unshared array has at the test in ``take``: the dict, the local, the call."""
    work = {"k": np.empty(1)}
    buf = work.get("k")
    return sys.getrefcount(buf)


_FREE = _free_refcount()
