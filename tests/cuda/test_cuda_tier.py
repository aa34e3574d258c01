"""The ``cuda`` tier as the library selects it (``SCRATCHNET_KERNELS=cuda``, ``kernels.use``), the
error without a GPU or the simulator, and every kernel compiled for a real GPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cuda_probe import gpu_present

from scratchnet import kernels
from scratchnet.kernels import ops, tiers
from scratchnet.kernels.cuda import conv as cuda_conv
from scratchnet.kernels.cuda import gemm as cuda_gemm
from scratchnet.nn import Linear

HERE = Path(__file__).parent


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_use_binds_the_cuda_launchers_and_restores_the_fast_ones():
    with kernels.use("cuda"):
        assert tiers.current() == "cuda"
        for name, module in ops.CUDA_MODULES.items():
            assert getattr(ops, name) is getattr({"gemm": cuda_gemm, "conv": cuda_conv}[module], name), name
    assert tiers.current() == "fast"
    assert all(getattr(ops, name) is fast for name, (_, fast) in ops.TWINS.items())


def test_a_layer_on_the_cuda_tier_equals_the_fast_tier():
    """Linear's three products through ``ops`` (NumPy arrays: copied to the device and back)."""
    rng = np.random.default_rng(0)
    layer = Linear(5, 3, dtype=np.float64, rng=rng)
    X, dY = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    results = {}
    for tier in ("fast", "cuda"):
        layer.zero_grad()
        with kernels.use(tier):
            Y = layer.forward(X).copy()
            dX = layer.backward(dY).copy()
        results[tier] = (Y, dX, layer.weight.grad.copy())
    for fast, cuda in zip(results["fast"], results["cuda"], strict=True):
        np.testing.assert_allclose(cuda, fast, rtol=1e-13, atol=1e-13)


def test_the_environment_variable_selects_the_cuda_tier():
    code = "from scratchnet.kernels import ops, tiers; print(tiers.current(), ops.gemm_nt.__module__)"
    run = _python(code, SCRATCHNET_KERNELS="cuda")
    assert run.stdout.split() == ["cuda", "scratchnet.kernels.cuda.gemm"], run.stderr


@pytest.mark.skipif(gpu_present(), reason="a GPU is present: the cuda tier runs without the simulator here")
def test_without_a_gpu_or_the_simulator_the_cuda_tier_says_what_to_set():
    bad = _python("from scratchnet.kernels import tiers", SCRATCHNET_KERNELS="cuda", NUMBA_ENABLE_CUDASIM="0")
    assert bad.returncode != 0
    assert "environment variable SCRATCHNET_KERNELS: the cuda kernel tier cannot run here: numba.cuda finds " \
           "no usable GPU" in bad.stderr
    assert "set NUMBA_ENABLE_CUDASIM=1" in bad.stderr


def test_every_kernel_compiles_for_a_gpu():
    """PTX for sm_90 from NVVM, no GPU needed (``ptx_check.py``); skipped where NVVM is missing."""
    run = subprocess.run([sys.executable, str(HERE / "ptx_check.py")], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "NUMBA_ENABLE_CUDASIM": "0"})
    if run.stdout.startswith("no NVVM"):
        pytest.skip(f"NVVM (the CUDA toolkit's compiler library) is not installed: {run.stdout.strip()}")
    assert run.returncode == 0 and "0 failures" in run.stdout, run.stdout + run.stderr
