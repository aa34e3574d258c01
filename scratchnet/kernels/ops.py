"""The kernels with two tiers, as the library calls them: ``ops.NAME`` is the active tier's.

``gemm_nn``, ``gemm_tn``, ``gemm_nt`` (the three products of backprop), ``conv2d_forward``,
``conv2d_backward_input``, ``conv2d_backward_weight`` (stride-1 convolution) are
``kernels.reference``'s or their fast twins in ``kernels.matmul`` / ``kernels.conv``, rebound
whenever the tier switches; callers look them up as ``ops.NAME`` at each call (a name imported
with ``from ops import NAME`` would keep the tier of the moment it was imported). ``matmul`` is the checked entry
point for code outside the layers (it names a bad operand's shape or dtype before any kernel
runs).
"""

from __future__ import annotations

import functools
import importlib

import numpy as np
import threadpoolctl

from . import conv as fast_conv
from . import matmul as fast_matmul
from .reference import conv as reference_conv
from .reference import gemm as reference_gemm
from .tiers import CUDA, REFERENCE, on_switch

#: name: (reference, fast) for every kernel with two tiers; the module's names of the same
#: spelling are bound to one of the pair (see ``_bind``).
TWINS = {
    "gemm_nn": (reference_gemm.gemm_nn, fast_matmul.gemm_nn),
    "gemm_tn": (reference_gemm.gemm_tn, fast_matmul.gemm_tn),
    "gemm_nt": (reference_gemm.gemm_nt, fast_matmul.gemm_nt),
    "conv2d_forward": (reference_conv.conv2d_forward, fast_conv.conv2d_forward),
    "conv2d_backward_input": (reference_conv.conv2d_backward_input, fast_conv.conv2d_backward_input),
    "conv2d_backward_weight": (reference_conv.conv2d_backward_weight, fast_conv.conv2d_backward_weight),
}
gemm_nn = gemm_tn = gemm_nt = conv2d_forward = conv2d_backward_input = conv2d_backward_weight = None
#: the cuda tier's launchers of the same names live in these modules of ``kernels.cuda`` (imported,
#: with ``numba.cuda``, only when that tier is chosen); NumPy arguments go to the GPU and back
CUDA_MODULES = {"gemm_nn": "gemm", "gemm_tn": "gemm", "gemm_nt": "gemm", "conv2d_forward": "conv",
                "conv2d_backward_input": "conv", "conv2d_backward_weight": "conv"}


@on_switch
def _bind(tier: str) -> None:
    """Point ``gemm_nn`` ... ``conv2d_backward_weight`` at ``tier``'s kernels (at every switch)."""
    for name, (reference, fast) in TWINS.items():
        if tier == CUDA:
            globals()[name] = getattr(importlib.import_module(f".cuda.{CUDA_MODULES[name]}", __package__), name)
        else:
            globals()[name] = reference if tier == REFERENCE else fast


def matmul(A: np.ndarray, B: np.ndarray, trans_a: bool = False, trans_b: bool = False,
           out: np.ndarray | None = None, beta: float = 0.0) -> np.ndarray:
    """``op(A) @ op(B) + beta * out`` with ``op`` a transpose when asked; checks, then dispatches.

    Shapes: ``op(A)`` ``(M, K)``, ``op(B)`` ``(K, N)``, ``out`` ``(M, N)``; all C-contiguous
    2-D arrays of one dtype, float32 or float64. ``trans_a and trans_b`` is not a product
    backprop needs and is refused. Mirrors ``torch.addmm``.
    """
    for name, x in (("A", A), ("B", B)):
        if not isinstance(x, np.ndarray) or x.ndim != 2:
            got = getattr(x, "shape", type(x).__name__)
            raise ValueError(f"matmul: {name} must be a 2-D array, got {got}")
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"matmul: {name} must be float32 or float64, got {x.dtype}")
        if not x.flags.c_contiguous:
            raise ValueError(f"matmul: {name} must be C-contiguous (use np.ascontiguousarray); "
                             f"shape {x.shape}")
    if A.dtype != B.dtype:
        raise TypeError(f"matmul: A is {A.dtype} but B is {B.dtype}")
    if trans_a and trans_b:
        raise ValueError("matmul: trans_a and trans_b together are not supported "
                         "(compute (B @ A).T)")
    M, K = (A.shape[1], A.shape[0]) if trans_a else A.shape
    K2, N = (B.shape[1], B.shape[0]) if trans_b else B.shape
    if K != K2:
        raise ValueError(f"matmul: inner dimensions differ: op(A) is ({M}, {K}) and op(B) is "
                         f"({K2}, {N}) "
                         f"(A {A.shape}, B {B.shape}, trans_a={trans_a}, trans_b={trans_b})")
    if out is None:
        out = np.empty((M, N), dtype=A.dtype)
        beta = 0.0
    elif out.shape != (M, N) or out.dtype != A.dtype or not out.flags.c_contiguous:
        raise ValueError(f"matmul: out must be a C-contiguous {A.dtype} array of shape ({M}, {N}), "
                         f"got {out.dtype} {out.shape}")
    kernel = gemm_tn if trans_a else gemm_nt if trans_b else gemm_nn
    if 2 * M * N * K < fast_matmul.PARALLEL_FLOPS:  # one thread: nothing to share the cores with
        return kernel(A, B, out, float(beta))
    with _blas_controller().limit(limits=1, user_api="blas"):  # BLAS pool idle while ours run
        return kernel(A, B, out, float(beta))


@functools.cache
def _blas_controller() -> threadpoolctl.ThreadpoolController:
    """The process's BLAS pools, found once (a look-up costs milliseconds; a limit ~10 us)."""
    return threadpoolctl.ThreadpoolController()
