"""Seeded splits: held-out validation sets (CIFAR-10: from its test set), k-fold cross-validation,
and the standard splits a training run uses."""

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


# --8<-- [start:standard_splits]
#: Where each dataset's validation split comes from when it has none of its own: the split it is
#: cut from and the fraction it takes (CIFAR-10's reference: 6,500 of the 10,000 test images).
VALIDATION_HOLDOUT: dict[str, tuple[str, float]] = {"fashion-mnist": ("train", 0.1), "cifar10": ("test", 0.65)}


def standard_splits(name: str, data: dict[str, tuple[np.ndarray, np.ndarray]], seed: int = 0,
                    validation: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The ``train`` / ``validation`` / ``test`` splits a run of ``scratchnet train`` uses.

    - MNIST: the book's own 50,000 / 10,000 / 10,000.
    - Fashion-MNIST: a seeded 10% of the 60,000 training images (6,000) is the validation split;
      the 10,000 test images are kept for the final report.
    - CIFAR-10: 50,000 training images; the 10,000 test images are cut, seeded, into 6,500
      validation and 3,500 test (the reference project's split).

    ``validation=False`` (k-fold cross-validation, whose folds are the validation splits) keeps
    the whole training set and drops the validation split; the test split is the same either way.
    """
    out = dict(data)
    source, fraction = VALIDATION_HOLDOUT.get(name, (None, 0.0))
    if source == "test":  # the validation split is cut from the test images whichever way
        X, y = out.pop("test")
        n_val = min(max(1, round(fraction * len(X))), len(X) - 1)
        out["validation"], out["test"] = split_holdout(X, y, n_val, seed)
    if not validation:
        out.pop("validation", None)
    elif source == "train":
        X, y = out.pop("train")
        n_val = min(max(1, round(fraction * len(X))), len(X) - 1)
        (Xv, yv), out["train"] = split_holdout(X, y, n_val, seed)
        out["validation"] = (Xv, yv)
    return {k: out[k] for k in ("train", "validation", "test") if k in out}
# --8<-- [end:standard_splits]
