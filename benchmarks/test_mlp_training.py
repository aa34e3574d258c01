"""One training epoch of the book's MLPs: scratchnet (zoo model, the book's own API) vs torch.

``book_mlp`` ([784, 30, 10]) at mini-batch 10, ``book_mlp100`` ([784, 100, 10]) at 128, on
MNIST-shaped random data (throughput does not depend on the pixels). torch eager runs at one
and at two threads so the table shows it at its best. Under ``--benchmark-disable`` each runs
once on 1,000 samples; ``--benchmark-only`` times full 50,000-sample epochs.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from scratchnet.book import network, network2
from scratchnet.train import ScratchBackend, TrainConfig
from torchnet.train import TorchBackend

CASES = {"book_mlp": 10, "book_mlp100": 128}


def data(request, n_full: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
    n = 1_000 if request.config.getoption("benchmark_disable") else n_full
    rng = np.random.default_rng(0)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def epoch(backend, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
    for s in range(0, len(X), batch_size):
        backend.train_step(X[s:s + batch_size], y[s:s + batch_size])


def run(benchmark, fn, n: int) -> None:
    benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["samples_per_s"] = n / benchmark.stats.stats.median


@pytest.mark.parametrize("model", sorted(CASES))
@pytest.mark.parametrize("backend", ["scratchnet", "torchnet-cpu 1 thread", "torchnet-cpu 2 threads"])
def test_zoo_epoch(benchmark, request, model: str, backend: str) -> None:
    X, y = data(request)
    bs = CASES[model]
    cfg = TrainConfig(model, backend="scratch" if backend == "scratchnet" else "torch", device="cpu").resolved()
    trainer = ScratchBackend(cfg) if backend == "scratchnet" else TorchBackend(cfg)
    benchmark.group = f"epoch {model} batch {bs}"
    benchmark.extra_info["backend"] = backend.split()[0]
    benchmark.extra_info["label"] = "zoo model, Trainer step" if backend == "scratchnet" else backend.split(" ", 1)[1]
    threads = torch.get_num_threads()
    if backend != "scratchnet":
        torch.set_num_threads(int(backend.split()[1]))
    try:
        run(benchmark, lambda: epoch(trainer, X, y, bs), len(X))
    finally:
        torch.set_num_threads(threads)


def book_data(X: np.ndarray, y: np.ndarray) -> list:
    return [(x.reshape(784, 1).astype(np.float64), np.eye(10)[v].reshape(10, 1)) for x, v in zip(X, y, strict=True)]


@pytest.mark.parametrize("api", ["network", "network2"])
def test_book_api_epoch(benchmark, request, api: str) -> None:
    """The book's own ``SGD`` at mini-batch 10 (same group as the zoo's book_mlp)."""
    X, y = data(request)
    training_data = book_data(X, y)
    random.seed(0)
    np.random.seed(0)
    net = network.Network([784, 30, 10]) if api == "network" else network2.Network([784, 30, 10])
    benchmark.group = "epoch book_mlp batch 10"
    benchmark.extra_info.update(backend="scratchnet", label=f"the book's {api}.SGD")
    run(benchmark, lambda: net.SGD(training_data, 1, 10, 3.0 if api == "network" else 0.5), len(X))
