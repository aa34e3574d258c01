"""Small files in the real dataset formats, written by the tests (never the real datasets)."""

from __future__ import annotations

import gzip
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from scratchnet.data import datasets, load
from scratchnet.data.datasets import cache_root

T = TypeVar("T")


def real_cache_has(name: str) -> bool:
    """True when the user's real cache holds ``name`` (tests on real data skip otherwise)."""
    return (cache_root() / name / f"{name}.npz").is_file()


def needs_data(name: str) -> Callable[[T], T]:
    """Mark a test ``needs_data`` (``-m "not needs_data"`` leaves it out) and skip it, with the
    remedy as its reason, when the real dataset ``name`` is not in the cache: tests never fetch."""
    skip = pytest.mark.skipif(not real_cache_has(name),
                              reason=f"{name} not in the cache: run `scratchnet data fetch {name}`")
    return lambda test: pytest.mark.needs_data(skip(test))


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


# A subprocess (``python -m scratchnet.cli``, torchrun's workers) is a new Python: it sees the small
# datasets a fixture wrote through the same registry entries as this process (file names and
# SHA-256 digests), set at its start by this sitecustomize module, so the real data layer reads and
# verifies them. Without it the child finds the fake digests in the manifest, sets the cache aside
# as damaged and fetches the real dataset. The network sources point nowhere (and pip has no
# index), so a child that rejected its data fails at once instead of downloading.
SITECUSTOMIZE = """
import dataclasses, json, os
from scratchnet.data import datasets
from scratchnet.data.sources import FileSpec
for name, files in json.loads(os.environ["SCRATCHNET_TEST_REGISTRY"]).items():
    specs = tuple(FileSpec(n, digest) for n, digest in files)
    datasets.DATASETS[name] = dataclasses.replace(datasets.DATASETS[name], files=specs)
datasets.MNIST_URL = datasets.FASHION_URL = "file:///nonexistent/{name}"
datasets.CIFAR_URL = "file:///nonexistent/cifar-10-python.tar.gz"
"""


def subprocess_env(data_home: Path, names: list[str], tmp_path: Path) -> dict[str, str]:
    """The environment of a subprocess reading this process's (fake) datasets ``names`` from
    ``data_home``: their verified array cache is built here, and the child registers the same
    digests through :data:`SITECUSTOMIZE` (written under ``tmp_path / "site"``)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    for name in names:
        load(name)  # the verified array cache, as every process will read it
    registry = {name: [(f.name, f.sha256) for f in datasets.DATASETS[name].files] for name in names}
    return {**os.environ, "SCRATCHNET_DATA": str(data_home), "PYTHONUNBUFFERED": "1",
            "SCRATCHNET_TEST_REGISTRY": json.dumps(registry), "PIP_NO_INDEX": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
