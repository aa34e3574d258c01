"""The ``cuda`` tier as the library selects it (``SCRATCHNET_KERNELS=cuda``, ``kernels.use``), the
error without a GPU or the simulator, and every kernel compiled for a real GPU."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cuda_probe import gpu_present

from scratchnet import kernels
from scratchnet.kernels import ops, tiers
from scratchnet.kernels.cuda import arrays as cuda_arrays
from scratchnet.kernels.cuda import conv as cuda_conv
from scratchnet.kernels.cuda import gemm as cuda_gemm
from scratchnet.nn import Linear

HERE = Path(__file__).parent


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_use_binds_the_cuda_launchers_and_restores_the_fast_ones():
    """Every name of ``ops``: the GEMMs and convolutions, the kernels with one CPU version, the array
    helpers and the array types."""
    with kernels.use("cuda"):
        assert tiers.current() == "cuda"
        for name, module in ops.CUDA_MODULES.items():
            assert getattr(ops, name) is getattr({"gemm": cuda_gemm, "conv": cuda_conv}[module], name), name
        for name, (_, module) in ops.ONE_CPU_VERSION.items():
            assert getattr(ops, name) is getattr(importlib.import_module(f"scratchnet.kernels.cuda.{module}"), name)
        assert all(getattr(ops, name) is getattr(cuda_arrays, name) for name in ops.ARRAY_HELPERS)
        assert ops.ARRAYS == (np.ndarray, cuda_arrays.DeviceArray) and ops.ARRAY is cuda_arrays.DeviceArray
    assert tiers.current() == "fast"
    assert all(getattr(ops, name) is fast for name, (_, fast) in ops.TWINS.items())
    assert all(getattr(ops, name) is cpu for name, (cpu, _) in ops.ONE_CPU_VERSION.items())
    assert all(getattr(ops, name) is numpy_function for name, numpy_function in ops.ARRAY_HELPERS.items())
    assert ops.ARRAYS == (np.ndarray,) and ops.ARRAY is np.ndarray


def test_a_layer_on_the_cuda_tier_equals_the_fast_tier():
    """Linear's three products through ``ops``: the layer made on each tier (its weights on the
    device on the cuda one), NumPy inputs, the results brought back by ``ops.to_host``."""
    rng = np.random.default_rng(0)
    X, dY = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    results = {}
    for tier in ("fast", "cuda"):
        with kernels.use(tier):
            layer = Linear(5, 3, dtype=np.float64, rng=np.random.default_rng(1))
            Y = ops.to_host(layer.forward(X))
            dX = ops.to_host(layer.backward(dY))
            results[tier] = (Y, dX, ops.to_host(layer.weight.grad), ops.to_host(layer.bias.grad))
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
