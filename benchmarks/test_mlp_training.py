"""One training epoch of the zoo's book MLPs, layer by layer: scratchnet vs torch eager on the CPU.

``book_mlp`` ([784, 30, 10]) at mini-batch 10 and ``book_mlp100`` ([784, 100, 10]) at 128, each
with its SPECS loss and learning rate, plain SGD. Every row runs the same step:
forward, loss, backward, update; neither library computes the input's gradient.

- scratchnet: the zoo model's modules, ``scratchnet.losses``, ``scratchnet.optim.SGD`` (the
  readable layer-by-layer path, the default);
- scratchnet-fused: the same model's parameters through the book's fused whole-epoch kernel
  (``kernels.fused_mlp.train_epoch``, float32): the same maths with no Python between
  mini-batches, to show what the layer-by-layer path spends outside its kernels;
- torchnet-cpu: ``torchnet.models`` + ``torch.optim.SGD`` in eager mode.

scratchnet and torch run at 1 and at 2 threads (Numba's parallel GEMMs; torch's intra-op pool),
so the table shows both at their best thread count on a machine that may be shared; the fused
kernel is single-threaded and gets one row.

Data: MNIST's training images when the cache has them, else random images with MNIST's share of
zero pixels (81 %). The layer-by-layer and torch rows do not depend on the pixels; the fused
kernel skips zero pixels, so its row does. ``--benchmark-disable`` runs each once on 1,000
samples; ``--benchmark-only`` times full 50,000-sample epochs. ``extra_info["samples_per_s"]``
is the throughput.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch

from scratchnet import losses, models, nn, optim
from scratchnet.data.datasets import cache_root
from scratchnet.kernels import fused_mlp
from torchnet import models as tmodels
from torchnet.train import make_loss

CASES = {"book_mlp": 10, "book_mlp100": 128}
LOSSES = {"quadratic": losses.QuadraticCost, "cross_entropy_sigmoid": losses.CrossEntropyCost}
FUSED_COSTS = {"quadratic": fused_mlp.QUADRATIC, "cross_entropy_sigmoid": fused_mlp.CROSS_ENTROPY}


def data(request, n_full: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 1, 28, 28)`` float32 in [0, 1] and one-hot targets ``(n, 10)`` float32."""
    n = 1_000 if request.config.getoption("benchmark_disable") else n_full
    rng = np.random.default_rng(0)
    if (cache_root() / "mnist" / "mnist.npz").is_file():
        from scratchnet.data import load

        X, y = load("mnist")["train"]
        X, y = X[:n], y[:n]
    else:  # the book's pixels are k/256; MNIST has about 81 % zeros
        X = (rng.integers(1, 256, (n, 1, 28, 28)) / 256).astype(np.float32)
        X[rng.random(X.shape) < 0.81] = 0.0
        y = rng.integers(0, 10, n)
    return np.ascontiguousarray(X), np.eye(10, dtype=np.float32)[y]


def scratch_epoch(name: str, X: np.ndarray, Y: np.ndarray, batch_size: int):
    spec = models.SPECS[name]
    model, loss = models.build(name, rng=np.random.default_rng(0)), LOSSES[spec.loss]()
    opt = optim.SGD(model.parameters(), lr=spec.lr)

    # --8<-- [start:scratch_epoch]
    def epoch() -> None:
        for s in range(0, len(X), batch_size):
            opt.zero_grad()
            loss(
                model(X[s : s + batch_size]), Y[s : s + batch_size]
            )  # forward: value and dC/dy_hat
            model.backward(loss.backward(), needs_input_grad=False)  # BP1-BP4, layer by layer
            opt.step()

    # --8<-- [end:scratch_epoch]
    return epoch


def fused_epoch(name: str, X: np.ndarray, Y: np.ndarray, batch_size: int, model=None):
    """The book's whole-epoch kernel on the zoo model's own parameters (updated in place)."""
    spec = models.SPECS[name]
    model = model if model is not None else models.build(name, rng=np.random.default_rng(0))
    linears = [m for m in model if isinstance(m, nn.Linear)]
    weights, biases = [m.weight.data for m in linears], [m.bias.data for m in linears]
    rows, order = X.reshape(len(X), -1), np.arange(len(X))  # the same mini-batches, in order

    def epoch() -> None:
        fused_mlp.train_epoch(rows, Y, order, batch_size, spec.lr, 0.0, len(X), weights, biases,
                      cost=FUSED_COSTS[spec.loss])

    return epoch


def torch_epoch(name: str, X: np.ndarray, Y: np.ndarray, batch_size: int):
    spec = models.SPECS[name]
    torch.manual_seed(0)
    model, loss = tmodels.build(name), make_loss(spec.loss)
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    # --8<-- [start:torch_epoch]
    def epoch() -> None:
        for s in range(0, len(Xt), batch_size):
            opt.zero_grad()
            loss(
                model(Xt[s : s + batch_size]), Yt[s : s + batch_size]
            ).backward()  # autograd: BP1-BP4
            opt.step()

    # --8<-- [end:torch_epoch]
    return epoch


# The fused kernel is single-threaded (one mini-batch after another, no prange): one row, not two.
ROWS = [("scratchnet", 1), ("scratchnet", 2), ("scratchnet-fused", 1), ("torchnet-cpu", 1), ("torchnet-cpu", 2)]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(("backend", "threads"), ROWS,
                         ids=[f"{b}-{t} thread{'s' if t > 1 else ''}" for b, t in ROWS])
def test_zoo_epoch(benchmark, request, name: str, backend: str, threads: int) -> None:
    """Both libraries at 1 and 2 threads (Numba's prange GEMMs, torch's intra-op pool); the fused
    kernel at its one thread, labelled as skipping zero pixels (its speed depends on the data)."""
    X, Y = data(request)
    batch_size = CASES[name]
    benchmark.group = f"epoch {name} batch {batch_size} (zoo model, layer by layer)"
    benchmark.extra_info["backend"] = backend
    benchmark.extra_info["label"] = f"{threads} thread{'s' if threads > 1 else ''}" + (
        " (single-threaded kernel; skips zero pixels)" if backend == "scratchnet-fused" else "")
    saved = torch.get_num_threads(), numba.get_num_threads()
    if backend.startswith("scratchnet"):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        epoch = (scratch_epoch if backend == "scratchnet" else fused_epoch)(name, X, Y, batch_size)
    else:
        torch.set_num_threads(threads)
        epoch = torch_epoch(name, X, Y, batch_size)
    try:
        benchmark.pedantic(epoch, rounds=3, iterations=1, warmup_rounds=1)
    finally:
        torch.set_num_threads(saved[0])
        numba.set_num_threads(saved[1])
    if benchmark.stats is not None:
        benchmark.extra_info["samples_per_s"] = len(X) / benchmark.stats.stats.median


@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_epoch_is_the_layer_by_layer_epoch(name: str) -> None:
    """The two scratchnet rows do the same work: one epoch each from the same weights agrees."""
    rng = np.random.default_rng(1)
    X = rng.random((60, 1, 28, 28))
    X[rng.random(X.shape) < 0.8] = 0.0
    Y = np.eye(10)[rng.integers(0, 10, 60)]
    a, b = (models.build(name, dtype=np.float64, rng=np.random.default_rng(0)) for _ in range(2))
    spec, batch_size = models.SPECS[name], CASES[name]
    loss, opt = LOSSES[spec.loss](), optim.SGD(a.parameters(), lr=spec.lr)
    for s in range(0, len(X), batch_size):
        opt.zero_grad()
        loss(a(X[s : s + batch_size]), Y[s : s + batch_size])
        a.backward(loss.backward(), needs_input_grad=False)
        opt.step()
    fused_epoch(name, X, Y, batch_size, model=b)()
    for (key, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-9, atol=1e-12, err_msg=key)
