"""Mini-batches: a seeded, allocation-light iterator over ``(X, y)``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


# --8<-- [start:batches]
def batches(X: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = True,
            rng: np.random.Generator | int | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X_b, y_b)`` mini-batches of ``batch_size`` rows (the last may be shorter).

    With ``shuffle`` the order is a permutation drawn from ``rng`` (a Generator or a seed), so
    the same seed gives the same batches. ``X`` is ``(N, ...)``, ``y`` is ``(N, ...)``.
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(f"batches: X has {n} rows but y has {len(y)}")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    if shuffle:
        order = np.random.default_rng(rng).permutation(n)
        for start in range(0, n - batch_size + 1 if drop_last else n, batch_size):
            idx = order[start:start + batch_size]
            yield X[idx], y[idx]
    else:
        for start in range(0, n - batch_size + 1 if drop_last else n, batch_size):
            yield X[start:start + batch_size], y[start:start + batch_size]
# --8<-- [end:batches]
