"""Every kernel the library's layers, losses and optimizers call, as the active tier has it:
``ops.NAME`` is rebound at each tier switch (``kernels.tiers``), so callers look it up as
``ops.NAME`` at each call (a name imported with ``from ops import NAME`` would keep the tier of the
moment it was imported). A plain module attribute, not a wrapper: a call costs what it costs with
one tier.

- ``TWINS``: ``gemm_nn``, ``gemm_tn``, ``gemm_nt`` (the three products of backprop),
  ``conv2d_forward``, ``conv2d_backward_input``, ``conv2d_backward_weight`` (stride-1
  convolution): ``kernels.reference``'s or their fast twins in ``kernels.matmul`` /
  ``kernels.conv``.
- ``ONE_CPU_VERSION``: the activations, pooling, BatchNorm, the losses, the optimizer steps and the
  VAE's kernels, plain loops that are their own reference (both CPU tiers run them).
- ``ARRAY_HELPERS``: what the layers do to arrays besides the kernels (allocate, copy, cast,
  reshape, fill, add, multiply, check): NumPy's functions on the CPU tiers. ``ARRAYS`` is the
  tuple of array types the layers accept.

On the ``cuda`` tier every one of these names is the launcher of the same name in
``kernels.cuda`` (``CUDA_MODULES``; ``kernels.cuda.arrays`` for the helpers), which takes and
returns device arrays: the layers allocate through ``ops.empty`` and friends, so parameters,
gradients, optimizer state and BatchNorm statistics stay on the GPU between steps; a NumPy input
goes there through ``ops.contiguous``, and ``ops.to_host`` brings an array back.

``matmul`` is the checked entry point for code outside the layers (it names a bad operand's
shape or dtype before any kernel runs).
"""

from __future__ import annotations

import functools
import importlib

import numpy as np
import threadpoolctl

from . import activations, batchnorm, optim, pool, vae
from . import conv as fast_conv
from . import losses as loss_kernels
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
#: with ``numba.cuda``, only when that tier is chosen)
CUDA_MODULES = {"gemm_nn": "gemm", "gemm_tn": "gemm", "gemm_nt": "gemm", "conv2d_forward": "conv",
                "conv2d_backward_input": "conv", "conv2d_backward_weight": "conv"}


def _batchnorm_update_running(mean: np.ndarray, var: np.ndarray, M: int, momentum: float,
                              running_mean: np.ndarray, running_var: np.ndarray) -> None:
    """``running = (1 - m) running + m batch`` per channel, the batch variance made unbiased
    (``M / (M - 1)``, ``M = N S`` values) first: ``nn.BatchNorm``'s rule. All ``(C,)``, in place."""
    running_mean[...] = (1 - momentum) * running_mean + momentum * mean
    running_var[...] = (1 - momentum) * running_var + momentum * var * (M / (M - 1))


def _conv2d_backward_bias(dY: np.ndarray, db: np.ndarray) -> np.ndarray:
    """``db[o] += sum_{n,i,j} dY[n, o, i, j]``: dY ``(N, C_out, Ho, Wo)``, db ``(C_out,)``."""
    db += dY.sum(axis=(0, 2, 3))
    return db


#: name: (the one CPU version, the module of ``kernels.cuda`` with the launcher of that name)
ONE_CPU_VERSION = {
    name: (getattr(cpu_module, name), cuda_module)
    for cpu_module, cuda_module, names in (
        (activations, "activations", ("sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
                                      "relu_forward", "relu_backward", "bias_act_forward", "bias_backward",
                                      "softmax_forward", "softmax_backward")),
        (pool, "pool", ("maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward")),
        (batchnorm, "batchnorm", ("batchnorm_train_forward", "batchnorm_train_backward", "batchnorm_eval_forward",
                                  "batchnorm_eval_backward")),
        (loss_kernels, "losses", ("quadratic_cost", "cross_entropy_cost", "mse_loss", "bce_loss",
                                  "softmax_cross_entropy")),
        (optim, "optim", ("sgd_step", "adam_step")),
        (vae, "vae", ("reparameterize", "reparameterize_backward", "gaussian_kl")),
    )
    for name in names
} | {"batchnorm_update_running": (_batchnorm_update_running, "batchnorm"),
     "conv2d_backward_bias": (_conv2d_backward_bias, "conv")}


def _copy_into(X: np.ndarray, values) -> None:
    """``X[...] = values``, cast to X's dtype."""
    X[...] = values


def _all_finite(X: np.ndarray) -> bool:
    """Whether every value of X is finite."""
    return bool(np.isfinite(X).all())


def _outside(X: np.ndarray, lo: float, hi: float) -> bool:
    """Whether X's smallest value is below ``lo`` or its largest above ``hi`` (False with a NaN)."""
    return bool(X.min() < lo or X.max() > hi)


#: name: NumPy's function (or a few lines of NumPy above); ``kernels.cuda.arrays`` has the cuda
#: tier's, with the same arguments: ``empty(shape, dtype)``, ``zeros(shape, dtype)``,
#: ``contiguous(X, dtype=None)``, ``to_host(X)`` (a NumPy copy), ``reshape(X, shape)``,
#: ``fill(X, value)``, ``copy_into(X, values)``, ``add(A, B, out)``, ``multiply(A, B, out)``,
#: ``all_finite(X)``, ``outside(X, lo, hi)``
ARRAY_HELPERS = {"empty": np.empty, "zeros": np.zeros, "contiguous": np.ascontiguousarray, "to_host": np.array,
                 "reshape": np.ndarray.reshape, "fill": np.ndarray.fill, "copy_into": _copy_into, "add": np.add,
                 "multiply": np.multiply, "all_finite": _all_finite, "outside": _outside}
#: the array types the layers accept (the cuda tier adds its device arrays)
ARRAYS: tuple[type, ...] = (np.ndarray,)
#: the type of the arrays ``empty`` makes (``numba.cuda``'s device array on the cuda tier)
ARRAY: type = np.ndarray


@functools.cache
def _cuda(module: str):
    """``kernels.cuda.<module>``, imported (with ``numba.cuda``) the first time the cuda tier is chosen."""
    return importlib.import_module(f".cuda.{module}", __package__)


@on_switch
def _bind(tier: str) -> None:
    """Point every name of ``TWINS``, ``ONE_CPU_VERSION`` and ``ARRAY_HELPERS`` (and ``ARRAYS``,
    ``ARRAY``) at ``tier``'s (at every switch)."""
    names = globals()
    for name, (reference, fast) in TWINS.items():
        if tier == CUDA:
            names[name] = getattr(_cuda(CUDA_MODULES[name]), name)
        else:
            names[name] = reference if tier == REFERENCE else fast
    for name, (cpu, module) in ONE_CPU_VERSION.items():
        names[name] = getattr(_cuda(module), name) if tier == CUDA else cpu
    for name, numpy_function in ARRAY_HELPERS.items():
        names[name] = getattr(_cuda("arrays"), name) if tier == CUDA else numpy_function
    names["ARRAYS"] = _cuda("arrays").ARRAYS if tier == CUDA else (np.ndarray,)
    names["ARRAY"] = _cuda("arrays").DeviceArray if tier == CUDA else np.ndarray


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
