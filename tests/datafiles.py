"""Small files in the real dataset formats, written by the tests (never the real datasets)."""

from __future__ import annotations

import gzip
import pickle

import numpy as np

from scratchnet.data.datasets import cache_root


def real_cache_has(name: str) -> bool:
    """True when the user's real cache holds ``name`` (tests on real data skip otherwise)."""
    return (cache_root() / name / f"{name}.npz").is_file()


def fake_mnist_pickle(n: tuple[int, int, int] = (50, 20, 20), seed: int = 0) -> bytes:
    """A small gzip'd pickle in the book's mnist.pkl layout, with pixels k/256 like the real one."""
    rng = np.random.default_rng(seed)
    splits = []
    for count in n:
        X = (rng.integers(0, 256, size=(count, 784)) / 256.0).astype(np.float32)
        y = rng.integers(0, 10, size=count).astype(np.int64)
        splits.append((X, y))
    return gzip.compress(pickle.dumps(tuple(splits), protocol=2))
