"""Data augmentation on NumPy batches ``(N, C, H, W)``: random crop with padding, horizontal flip.

Seeded by a ``np.random.Generator`` so a run is reproducible. torchnet uses torchvision's
``RandomCrop(32, padding=4)`` and ``RandomHorizontalFlip()`` for the same augmentations.
"""

from __future__ import annotations

import numpy as np


# --8<-- [start:augment]
def random_crop(X: np.ndarray, padding: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-pad each image by ``padding`` on every side, then cut a random ``H x W`` window.

    Per image, offsets ``(dy, dx)`` are uniform in ``[0, 2 padding]``; shape is kept.
    """
    if X.ndim != 4:
        raise ValueError(f"random_crop: expected images (N, C, H, W), got shape {X.shape}")
    N, C, H, W = X.shape
    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), X.dtype)
    padded[:, :, padding:padding + H, padding:padding + W] = X
    dy = rng.integers(0, 2 * padding + 1, N)
    dx = rng.integers(0, 2 * padding + 1, N)
    rows = dy[:, None] + np.arange(H)[None, :]                  # (N, H)
    cols = dx[:, None] + np.arange(W)[None, :]                  # (N, W)
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    return padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H, W)


def random_hflip(X: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror each image left-right with probability ``p``."""
    if X.ndim != 4:
        raise ValueError(f"random_hflip: expected images (N, C, H, W), got shape {X.shape}")
    flip = rng.random(len(X)) < p
    out = X.copy()
    out[flip] = X[flip, :, :, ::-1]
    return out
# --8<-- [end:augment]


def cifar_augment(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The CIFAR-10 recipe: random 32x32 crop of the 4-padded image, then a random flip."""
    return random_hflip(random_crop(X, 4, rng), rng)
