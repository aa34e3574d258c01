"""Shared fixtures: an isolated data cache per test."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import pytest
from datafiles import fake_mnist_pickle

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
