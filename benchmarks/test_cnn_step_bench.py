"""One training step of each zoo CNN at its batch size: scratchnet vs torch eager, same run.

``book_conv`` at the book's mini-batch of 10 (SGD) and ``fashion_cnn`` at 64 (Adam), each a
step of forward, softmax cross-entropy, backward (no input gradient) and the optimizer update,
in training mode (BatchNorm on the batch's statistics, dropout on). Both libraries run at 1 and
at 2 threads (Numba's kernels, torch's intra-op pool), so each shows at its best on a machine
that may be shared. ``extra_info["samples_per_s"]`` is the batch over the median step time.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch

from scratchnet import losses, models, optim
from torchnet import models as tmodels

CASES = {"book_conv": 10, "fashion_cnn": 64, "cifar_cnn": 128}
BACKENDS = ["scratchnet", "torchnet-cpu"] + (["torchnet-cuda"] if torch.cuda.is_available() else [])


def scratch_step(name: str, X: np.ndarray, y: np.ndarray):
    spec = models.SPECS[name]
    model, loss = models.build(name, rng=np.random.default_rng(0)), losses.CrossEntropyLoss()
    params = list(model.parameters())
    opt = (optim.Adam(params, lr=spec.lr) if spec.optimizer == "adam"
           else optim.SGD(params, lr=spec.lr, weight_decay=spec.weight_decay))
    model.train()

    def step() -> None:
        opt.zero_grad()
        loss(model(X), y)
        model.backward(loss.backward(), needs_input_grad=False)
        opt.step()

    return step


def torch_step(name: str, X: np.ndarray, y: np.ndarray, device: str):
    spec = models.SPECS[name]
    torch.manual_seed(0)
    model = tmodels.build(name).to(device).train()
    opt = (torch.optim.Adam(model.parameters(), lr=spec.lr) if spec.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay))
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    return step


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("threads", [1, 2], ids=["1 thread", "2 threads"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_cnn_step(benchmark, name: str, backend: str, threads: int) -> None:
    batch = CASES[name]
    rng = np.random.default_rng(0)
    X = rng.random((batch, *models.SPECS[name].input_shape), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    benchmark.group = f"train step {name} batch {batch}"
    benchmark.extra_info.update(backend=backend, label=f"{threads} thread{'s' if threads > 1 else ''}")
    saved = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        if backend == "scratchnet":
            step = scratch_step(name, X, y)
        else:
            step = torch_step(name, X, y, "cuda" if backend.endswith("cuda") else "cpu")
        step()  # compile / warm up outside the timing
        benchmark.pedantic(step, rounds=5 if batch > 10 else 20, iterations=1, warmup_rounds=1)
    finally:
        torch.set_num_threads(saved[0])
        numba.set_num_threads(saved[1])
    if benchmark.stats is not None:
        benchmark.extra_info["samples_per_s"] = batch / benchmark.stats.stats.median
