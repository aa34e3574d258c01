"""One epoch of the book's own ``SGD`` at mini-batch 10 on ``[784, 30, 10]``, scratch vs torch.

All in one group: ``scratchnet.book.network`` / ``network2`` (the fused kernel, and the reference
tier's matrix form on ``scratchnet.nn``: what the fused kernel gains), the same API on
torch (``torchnet.book``), and plain torch eager (``nn.Sequential`` + ``optim.SGD``) at one and
two threads, so torch is shown at its best. The data are MNIST's training images when the cache
has them; otherwise MNIST-shaped images with MNIST's share of zero pixels (about 81 %), since
the book kernel skips zero pixels and its speed depends on them. ``--benchmark-disable`` runs
each once on 1,000 images; ``--benchmark-only`` times full 50,000-image epochs.
"""

from __future__ import annotations

import contextlib
import io
import random

import numpy as np
import pytest
import torch

from scratchnet import kernels
from scratchnet.book import network, network2
from scratchnet.book.pairs import book_pairs
from scratchnet.data.datasets import cache_root
from torchnet.book import network as t_network
from torchnet.book import network2 as t_network2

GROUP = "epoch book_mlp batch 10 (the book's API)"


def images(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` training images ``(n, 784)`` float32, labels ``(n,)``, and where they came from."""
    if (cache_root() / "mnist" / "mnist.npz").is_file():
        from scratchnet.book import mnist_loader

        X, y = mnist_loader.load_data()[0]
        return X[:n], y[:n], "mnist"
    rng = np.random.default_rng(0)
    X = (rng.integers(1, 256, (n, 784)) / 256).astype(np.float32)  # the book's pixels are k/256
    X[rng.random((n, 784)) < 0.81] = 0.0
    return X, rng.integers(0, 10, n), "synthetic (81% zero pixels)"


@pytest.fixture(scope="module")
def book_data(request) -> tuple[list, np.ndarray, np.ndarray, str]:
    """The book's list of ``(x, y)`` tuples as ``mnist_loader.load_data_wrapper`` makes it (a
    ``BookPairs``: SGD reads its matrices instead of stacking 50,000 tuples at each call)."""
    n = 1_000 if request.config.getoption("benchmark_disable") else 50_000
    X, y, source = images(n)
    return book_pairs(X, y, n_classes=10), X, y, source


def run(benchmark, fn, n: int, backend: str, source: str, label: str = "") -> None:
    benchmark.group = GROUP
    benchmark.extra_info.update(backend=backend, data=source, samples=n, label=label)
    with contextlib.redirect_stdout(io.StringIO()):  # the book's "Epoch 0 complete" lines
        benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["samples_per_s"] = n / benchmark.stats.stats.median


@pytest.mark.parametrize("tier", ["fast", "reference"])
@pytest.mark.parametrize("api", ["scratchnet.book.network", "scratchnet.book.network2",
                                 "torchnet.book.network", "torchnet.book.network2"])
def test_book_sgd_epoch(benchmark, book_data, api: str, tier: str) -> None:
    """``net.SGD(training_data, 1, 10, eta)`` on ``mnist_loader``'s kind of list."""
    if tier == "reference" and api.startswith("torchnet"):
        pytest.skip("the kernel tier is scratchnet's; torchnet runs torch's kernels")
    training_data, _, _, source = book_data
    random.seed(0)
    np.random.seed(0)
    module = {"scratchnet.book.network": network, "scratchnet.book.network2": network2,
              "torchnet.book.network": t_network, "torchnet.book.network2": t_network2}[api]
    kwargs = {"device": "cpu"} if api.startswith("torchnet") else {}
    net = module.Network([784, 30, 10], **kwargs)
    if api.endswith("network2"):
        fn = lambda: net.SGD(training_data, 1, 10, 0.5, lmbda=5.0)  # noqa: E731
    else:
        fn = lambda: net.SGD(training_data, 1, 10, 3.0)  # noqa: E731
    backend = api.split(".")[0] + "-cpu" * api.startswith("torch") + "-reference" * (tier == "reference")
    label = api.rsplit(".", 1)[1]
    if api.startswith("scratchnet"):  # say what the row really runs
        label += (" (fused epoch kernel, 1 thread, skips zero pixels)" if tier == "fast" else
                  " (reference tier: matrix form on scratchnet.nn, three-loop GEMMs)")

    def epoch():
        with kernels.use(tier):
            fn()

    run(benchmark, epoch, len(training_data), backend, source, label=label)


def test_book_sgd_epoch_on_a_plain_list(benchmark, book_data) -> None:
    """The same call on a plain list of the same tuples (built by hand, not by ``mnist_loader``):
    ``SGD`` stacks the 50,000 columns into two matrices at every call."""
    training_data, X, y, source = book_data
    plain = list(training_data)
    random.seed(0)
    np.random.seed(0)
    net = network.Network([784, 30, 10])
    run(benchmark, lambda: net.SGD(plain, 1, 10, 3.0), len(plain), "scratchnet", source,
        label="network on a plain list (stacked at each call)")


@pytest.mark.parametrize("threads", [1, 2])
def test_torch_eager_epoch(benchmark, book_data, threads: int) -> None:
    """Plain torch eager, float32: ``nn.Sequential`` of Linear/Sigmoid, MSE, ``optim.SGD``."""
    _, X, y, source = book_data
    Xt, Yt = torch.from_numpy(X), torch.nn.functional.one_hot(torch.from_numpy(y), 10).float()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 30), torch.nn.Sigmoid(),
                                torch.nn.Linear(30, 10), torch.nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=3.0)
    loss_fn = torch.nn.MSELoss()

    def epoch() -> None:
        perm = torch.randperm(len(Xt))
        for s in range(0, len(Xt), 10):
            rows = perm[s:s + 10]
            opt.zero_grad()
            loss_fn(model(Xt[rows]), Yt[rows]).backward()
            opt.step()

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        backend = f"torch-eager-cpu {threads} thread{'s' * (threads > 1)}"
        run(benchmark, epoch, len(Xt), backend, source)
    finally:
        torch.set_num_threads(before)
