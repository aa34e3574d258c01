"""Seeded splits: CIFAR-10's validation/test split of its test set, and k-fold cross-validation."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def split_holdout(X: np.ndarray, y: np.ndarray, n_first: int, seed: int = 0) -> tuple[tuple, tuple]:
    """Shuffle ``(X, y)`` with ``seed`` and cut it into ``n_first`` and the rest.

    CIFAR-10's reference project: the 10,000 test images become 6,500 validation + 3,500 test.
    """
    if not 0 < n_first < len(X):
        raise ValueError(f"split_holdout: n_first must lie in (0, {len(X)}), got {n_first}")
    order = np.random.default_rng(seed).permutation(len(X))
    a, b = order[:n_first], order[n_first:]
    return (X[a], y[a]), (X[b], y[b])


def kfold_indices(n: int, folds: int, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(train_idx, val_idx)`` for each of ``folds`` folds of a seeded permutation of ``range(n)``.

    Every index is in exactly one validation fold; fold sizes differ by at most one.
    """
    if folds < 2 or folds > n:
        raise ValueError(f"kfold_indices: folds must lie in [2, {n}], got {folds}")
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, folds)
    for k in range(folds):
        yield np.concatenate(parts[:k] + parts[k + 1:]), parts[k]
