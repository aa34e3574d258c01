"""The cuda tier on a GPU: each step of the GEMM series against cuBLAS, and training steps against
torch on CUDA. Skipped, with the reason, on a machine without a CUDA GPU (the simulator times
nothing worth timing).

GEMM: ``C = A B`` in float32 at 1024^3 and 4096^3, one group per size: steps 1-3 of
``kernels/cuda/gemm.py`` and ``torch.matmul`` (cuBLAS) with TF32 off
(``torch.backends.cuda.matmul.allow_tf32 = False``: cuBLAS then does float32 FMAs as our kernels
do). Operands live on the device; the timing ends with a synchronisation. ``extra_info["gflops"]``
is ``2 n^3`` over the median. Issue 14's target: step 3 at least 50 % of cuBLAS at 4096^3.

Training steps: ``fashion_cnn`` (batch 64) and ``vae`` (batch 128), one group each, scratchnet with
``SCRATCHNET_KERNELS=cuda`` and torch eager on CUDA (``extra_info["samples_per_s"]``). The cuda
tier runs the GEMMs and convolutions on the GPU but its modules keep NumPy arrays, so each of
those kernels copies its operands to the device and back; the target (within 2 x torch) is for
parameters kept on the device, which the tier does not do yet (notes/kernels-gpu.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_cnn_step_bench import scratch_step as cnn_scratch_step
from test_cnn_step_bench import torch_step as cnn_torch_step
from test_vae_bench import images
from test_vae_bench import scratch_step as vae_scratch_step
from test_vae_bench import torch_step as vae_torch_step

from scratchnet import kernels, models

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA GPU: the cuda tier's speed is measured only on a GPU")


@pytest.fixture(scope="module")
def cuda():
    """``numba.cuda`` on a real GPU (imported only here: the skip above comes first)."""
    from scratchnet.kernels.cuda import simulated

    if simulated():
        pytest.skip("numba.cuda is the simulator (NUMBA_ENABLE_CUDASIM=1): no GPU timing")
    from numba import cuda

    return cuda


SIZES = [1024, 4096]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("backend", ["step 1: naive", "step 2: tiled", "step 3: register-blocked", "cublas"])
def test_cuda_gemm(benchmark, cuda, backend: str, n: int) -> None:
    from scratchnet.kernels.cuda import gemm

    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    benchmark.group = f"cuda gemm {n}^3 float32"
    benchmark.extra_info.update(backend=backend, shape=f"nn {n}x{n}x{n}")
    if backend == "cublas":
        torch.backends.cuda.matmul.allow_tf32 = False
        a, b = torch.from_numpy(A).cuda(), torch.from_numpy(B).cuda()
        c = torch.empty(n, n, device="cuda")

        def run():
            torch.matmul(a, b, out=c)
            torch.cuda.synchronize()
    else:
        step = gemm.STEPS[int(backend[5])]
        a, b, c = cuda.to_device(A), cuda.to_device(B), cuda.device_array((n, n), np.float32)

        def run():
            gemm.run(step, a, False, b, False, c, 0.0)
            cuda.synchronize()
    run()  # compile and warm up outside the timing
    benchmark.pedantic(run, rounds=5 if n > 1024 else 20, iterations=1, warmup_rounds=1)
    result = c.cpu().numpy() if backend == "cublas" else c.copy_to_host()
    np.testing.assert_allclose(result, A.astype(np.float64) @ B, rtol=1e-3, atol=1e-3 * np.sqrt(n))
    if benchmark.stats is not None:
        benchmark.extra_info["gflops"] = 2 * n**3 / benchmark.stats.stats.median / 1e9


@pytest.mark.parametrize("name, batch", [("fashion_cnn", 64), ("vae", 128)])
@pytest.mark.parametrize("backend", ["scratchnet-cuda", "torchnet-cuda"])
def test_cuda_train_step(benchmark, cuda, backend: str, name: str, batch: int) -> None:
    rng = np.random.default_rng(0)
    if name == "vae":
        X = images()
        step = vae_scratch_step(X) if backend.startswith("scratch") else vae_torch_step(X, "cuda")
    else:
        X = rng.random((batch, *models.SPECS[name].input_shape), dtype=np.float32)
        y = rng.integers(0, 10, batch)
        step = cnn_scratch_step(name, X, y) if backend.startswith("scratch") else cnn_torch_step(name, X, y, "cuda")
    benchmark.group = f"cuda train step {name} batch {batch}"
    benchmark.extra_info.update(backend=backend)
    with kernels.use("cuda" if backend.startswith("scratch") else kernels.current()):
        step()  # compile and warm up outside the timing
        benchmark.pedantic(step, rounds=10, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["samples_per_s"] = batch / benchmark.stats.stats.median
