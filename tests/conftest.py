"""Shared fixtures: an isolated data cache per test, small files of each dataset in it, and the
environment of a subprocess that reads them."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import pytest
from datafiles import fake_cifar_batches, fake_fashion_files, fake_mnist_pickle, subprocess_env

from scratchnet.data import datasets
from scratchnet.data.sources import FileSpec


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point $SCRATCHNET_DATA at an empty folder for the duration of one test."""
    home = tmp_path / "cache"
    monkeypatch.setenv("SCRATCHNET_DATA", str(home))
    return home


@pytest.fixture
def fake_mnist(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A small mnist.pkl.gz in the cache, with the registry's digest pointing at it."""
    gz = fake_mnist_pickle((50, 20, 20))
    digest = hashlib.sha256(gzip.decompress(gz)).hexdigest()
    spec = FileSpec("mnist.pkl.gz", digest)
    monkeypatch.setitem(datasets.DATASETS, "mnist",
                        dataclasses.replace(datasets.DATASETS["mnist"], files=(spec,)))
    (data_home / "mnist").mkdir(parents=True)
    (data_home / "mnist" / "mnist.pkl.gz").write_bytes(gz)
    return gz


@pytest.fixture
def fake_fashion(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """40 training and 10 test Fashion-MNIST images (IDX .gz files) in the cache, digests registered."""
    files = fake_fashion_files()
    specs = tuple(FileSpec(name, hashlib.sha256(raw).hexdigest()) for name, raw in files.items())
    monkeypatch.setitem(datasets.DATASETS, "fashion-mnist",
                        dataclasses.replace(datasets.DATASETS["fashion-mnist"], files=specs))
    (data_home / "fashion-mnist").mkdir(parents=True)
    for name, raw in files.items():
        (data_home / "fashion-mnist" / name).write_bytes(gzip.compress(raw))
    return files


@pytest.fixture
def fake_cifar(data_home: Path) -> dict[str, bytes]:
    """CIFAR-10 batches of 8 images each (40 training, 8 test) in the cache folder."""
    batches = fake_cifar_batches()
    (data_home / "cifar10").mkdir(parents=True)
    for name, raw in batches.items():
        (data_home / "cifar10" / name).write_bytes(raw)
    return batches


@pytest.fixture
def mnist_env(fake_mnist: bytes, data_home: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``scratchnet`` subprocess that reads :func:`fake_mnist`."""
    return subprocess_env(data_home, ["mnist"], tmp_path)


@pytest.fixture
def fashion_env(fake_fashion: dict, data_home: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``scratchnet`` subprocess that reads :func:`fake_fashion`."""
    return subprocess_env(data_home, ["fashion-mnist"], tmp_path)
