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


def fake_fashion_files(n_train: int = 40, n_test: int = 10, seed: int = 0) -> dict[str, bytes]:
    """The four Fashion-MNIST IDX files (decompressed bytes), small, with random pixels and labels."""
    from scratchnet.data.formats import write_idx

    rng = np.random.default_rng(seed)
    return {"train-images-idx3-ubyte.gz": write_idx(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
            "train-labels-idx1-ubyte.gz": write_idx(rng.integers(0, 10, n_train).astype(np.uint8)),
            "t10k-images-idx3-ubyte.gz": write_idx(rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)),
            "t10k-labels-idx1-ubyte.gz": write_idx(rng.integers(0, 10, n_test).astype(np.uint8))}


def fake_cifar_batches(n: int = 8, seed: int = 0) -> dict[str, bytes]:
    """CIFAR-10's five training batches and its test batch, ``n`` random images each."""
    from scratchnet.data.formats import write_cifar_batch

    rng = np.random.default_rng(seed)
    return {name: write_cifar_batch(rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n))
            for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]}
