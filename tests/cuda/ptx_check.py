"""Compile every cuda kernel to PTX for a real GPU (sm_90), with no GPU: NVVM is a library.

Run as a script in a process without the simulator (``NUMBA_ENABLE_CUDASIM=0``); prints one line
per failure and ``compiled N kernels, F failures`` (or ``no NVVM: ...``). The simulator runs a
kernel as Python, which accepts what the CUDA target refuses (the builtin ``max`` of two scalars
in Numba 0.68, an array of a dtype it cannot type): this is the check that the same source
compiles for the GPU. A device function is compiled for the current device's compute
capability; with no device, that is said to be 9.0 (an H100).
"""

from __future__ import annotations

import sys
import types

import numba.cuda.dispatcher
from numba import boolean, cuda, float32, float64, int64

from scratchnet.kernels.cuda import activations as act
from scratchnet.kernels.cuda import arrays, conv, gemm, losses, optim, pool, vae
from scratchnet.kernels.cuda import batchnorm as bn

CC = (9, 0)


def arr(dtype, ndim: int):
    """A C-contiguous array type of ``ndim`` axes."""
    return dtype[(slice(None),) * (ndim - 1) + (slice(None, None, 1),)]


def signatures(t) -> list:
    """Every kernel with the argument types its launcher gives it, for arrays of dtype ``t``."""
    a1, a2, a3, a4 = (arr(t, n) for n in (1, 2, 3, 4))
    i4, f, i = arr(int64, 4), float64, int64
    rows, bad = arr(float64, 1), arr(int64, 1)
    kernels = [(step.kernel, (a2, boolean, a2, boolean, a2, f)) for step in gemm.STEPS.values()]
    return kernels + [
        (act._sigmoid_forward, (a1, a1)), (act._sigmoid_backward, (a1, a1, a1)), (act._tanh_forward, (a1, a1)),
        (act._tanh_backward, (a1, a1, a1)), (act._relu_forward, (a1, a1)), (act._relu_backward, (a1, a1, a1)),
        (act._bias_act_forward, (a2, a1, i, a2)), (act._bias_backward, (a2, a1)),
        (act._softmax_forward, (a2, a2)), (act._softmax_backward, (a2, a2, a2)),
        (pool._maxpool_forward, (a4, i, i, i, i, i, i, a4, i4)), (pool._maxpool_backward, (a4, i4, a4)),
        (pool._zero, (a1,)), (pool._avgpool_forward, (a4, i, i, i, i, i, i, a4)),
        (pool._avgpool_backward, (a4, i, i, i, i, i, i, a4)),
        (conv._conv2d_forward, (a4, a4, a1, i, i, a4)), (conv._conv2d_backward_input, (a4, a4, i, i, a4)),
        (conv._conv2d_backward_weight, (a4, a4, i, i, a4)), (conv._conv2d_backward_bias, (a4, a1)),
        (bn._train_forward, (a3, a1, a1, f, a3, a3, a1, a1, a1)), (bn._train_backward, (a3, a3, a1, a1, a3, a1, a1)),
        (bn._eval_forward, (a3, a1, a1, a1, a1, f, a3, a3)), (bn._eval_backward, (a3, a3, a1, a1, f, a3, a1, a1)),
        (bn._update_running, (a1, a1, t, t, t, a1, a1)),
        (losses._quadratic, (a2, a2, a2, rows, bad)), (losses._cross_entropy, (a2, a2, f, a2, rows, bad)),
        (losses._mse, (a2, a2, a2, rows, bad)), (losses._bce, (a2, a2, t, t, t, a2, rows, bad)),
        (losses._softmax_cross_entropy, (a2, arr(int64, 1), a2, rows, bad, bad)),
        (optim._sgd, (a1, a1, a1, f, f, f, f, boolean, boolean)),
        (optim._adam, (a1, a1, a1, a1, t, t, t, t, t, t, t, t, boolean)),
        (vae._reparameterize, (a2, a2, a2, a2, a2)), (vae._reparameterize_backward, (a2, a2, a2, a2, a2)),
        (vae._gaussian_kl, (a2, a2, f, a2, a2, rows)),
        (arrays._fill, (a1, t)), (arrays._copy, (a1, a1)), (arrays._copy, (arr(float64, 1), a1)),
        (arrays._add, (a1, a1, a1)), (arrays._multiply, (a1, a1, a1)), (arrays._scale, (a1, t, a1)),
        (arrays._first_non_finite, (a1, bad)), (arrays._first_outside, (a1, f, f, bad)),
    ]


def main() -> int:
    try:
        from numba.cuda.cudadrv.nvvm import NVVM

        NVVM()
    except Exception as e:  # no libnvvm on this machine
        print(f"no NVVM: {' '.join(str(e).split())}")
        return 0
    numba.cuda.dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=CC)
    count = failures = 0
    for t in (float32, float64):
        for kernel, sig in signatures(t):
            count += 1
            try:
                cuda.compile_ptx(kernel.py_func, sig, cc=CC)
            except Exception as e:
                failures += 1
                print(f"FAILED {kernel.py_func.__name__} {t}: {' '.join(str(e).split())[:500]}")
    print(f"compiled {count} kernels, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
