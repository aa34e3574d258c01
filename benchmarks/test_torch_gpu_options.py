"""The torch backend's GPU path, measured: one training step of ``fashion_cnn`` (batch 64, Adam) through
``torchnet.train.TorchBackend`` with each option of ``scratchnet train --backend torch``.

Rows (``extra_info["backend"]`` and ``label``): ``torchnet-cpu`` eager float32, with ``--amp bf16``
and with ``--channels-last``; ``torchnet-cuda`` eager float32, with ``--amp bf16``, ``--amp fp16``,
``--channels-last`` and ``--compile``. The CUDA rows skip, with the reason, where
``torch.cuda.is_available()`` is False. ``--compile`` has no CPU row: Inductor's first compile of
this model takes tens of seconds on a CPU, longer than the whole benchmark run, and the option's
arithmetic is tested in ``tests/test_torch_options.py``. ``extra_info["samples_per_s"]`` is the
batch over the median step time; a CUDA step ends with ``torch.cuda.synchronize()``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scratchnet.train import TrainConfig
from torchnet.train import TorchBackend

NAME, BATCH = "fashion_cnn", 64
NO_CUDA = "no CUDA device: torch.cuda.is_available() is False"
ROWS = {  # id: (device, options)
    "cpu": ("cpu", {}),
    "cpu amp bf16": ("cpu", {"amp": "bf16"}),
    "cpu channels-last": ("cpu", {"channels_last": True}),
    "cuda": ("cuda", {}),
    "cuda amp bf16": ("cuda", {"amp": "bf16"}),
    "cuda amp fp16": ("cuda", {"amp": "fp16"}),
    "cuda channels-last": ("cuda", {"channels_last": True}),
    "cuda compile": ("cuda", {"compile": True}),
}


@pytest.mark.parametrize("row", [pytest.param(r, marks=pytest.mark.skipif(
    ROWS[r][0] == "cuda" and not torch.cuda.is_available(), reason=NO_CUDA)) for r in ROWS])
def test_train_step_with_gpu_options(benchmark, row: str) -> None:
    device, options = ROWS[row]
    backend = TorchBackend(TrainConfig(NAME, backend="torch", device=device, batch_size=BATCH, **options).resolved())
    rng = np.random.default_rng(0)
    X = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    benchmark.group = f"torch options: train step {NAME} batch {BATCH}"
    benchmark.extra_info.update(backend=f"torchnet-{device}", label=row.removeprefix(device).strip() or "eager fp32")

    def step() -> None:
        backend.train_step(X, y)  # host-to-device copy of the batch included, as in training
        if device == "cuda":
            torch.cuda.synchronize()

    if not benchmark.disabled:  # warm up (and compile) outside the timing; CI's single run needs none
        step()
        step()
    benchmark.pedantic(step, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["samples_per_s"] = BATCH / benchmark.stats.stats.median
