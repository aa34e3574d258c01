"""cuda tier: the losses of ``kernels/losses.py``, same signatures and return values.

Each loss gives one block to each row (sample) ``n``: its threads split the row's ``C`` columns,
write their elements of the gradient, and add their terms through shared memory into ``rows[n]``
(float64). The host adds the ``N`` row sums (the one copy back, which a loss value needs
anyway). A non-finite input's flat index goes to a one-element array by ``cuda.atomic.min``: the
smallest index over all threads, which is the reference's "first" one.

    quadratic_cost(A, Y, dA)              (1/N) sum_n 1/2 ||a_n - y_n||^2,  dA = (A - Y) / N
    cross_entropy_cost(A, Y, big, dA)     the book's sigmoid-output cross-entropy, nan_to_num'd
    mse_loss(A, Y, dA)                    mean (A - Y)^2,  dA = 2 (A - Y) / (N C)
    bce_loss(A, Y, dA)                    torch's BCELoss (logs clamped at -100)
    softmax_cross_entropy(Z, y, dZ)       log-softmax + NLL on class indices
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from ..losses import BCE_EPS
from .device import first_bad, found, reduce_threads, shared_bytes
from .reduce import block_max, block_sum, ieee_log, larger


def _by_rows(kernel, A, *args) -> tuple[float, int]:
    """Launch ``kernel(A, ..., rows, bad)`` with a block per row of A ``(N, C)``; return the sum of
    ``rows`` and the first bad flat index (or -1)."""
    N, C = A.shape
    threads = reduce_threads(C)
    rows = cuda.device_array(N, np.float64)
    bad = first_bad(A.size)
    kernel[N, threads, 0, shared_bytes(threads)](A, *args, rows, bad)
    return float(rows.copy_to_host().sum()), found(bad, A.size)


# --8<-- [start:quadratic]
@cuda.jit
def _quadratic(A, Y, dA, rows, bad):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    N, K = A.shape
    s = 0.0
    for k in range(t, K, cuda.blockDim.x):
        d = A[n, k] - Y[n, k]
        if not math.isfinite(d):
            cuda.atomic.min(bad, 0, n * K + k)
        s += d * d
        dA[n, k] = d / N
    s = block_sum(buf, s)
    if t == 0:
        rows[n] = s


def quadratic_cost(A, Y, dA):
    """``C = (1/N) sum_n 1/2 ||A[n] - Y[n]||^2``, ``dA = (A - Y) / N``; all ``(N, C)``.
    Returns ``(C, first non-finite index or -1)``. One block per row."""
    total, bad = _by_rows(_quadratic, A, Y, dA)
    return 0.5 * total / A.shape[0], bad
# --8<-- [end:quadratic]


@cuda.jit
def _cross_entropy(A, Y, big, dA, rows, bad):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    N, K = A.shape
    s = 0.0
    for k in range(t, K, cuda.blockDim.x):
        a, y = A[n, k], Y[n, k]
        if not (math.isfinite(a) and math.isfinite(y)):
            cuda.atomic.min(bad, 0, n * K + k)
        term = -y * ieee_log(a) - (1.0 - y) * ieee_log(1.0 - a)
        if math.isnan(term):  # numpy's nan_to_num, as the book
            term = 0.0
        elif math.isinf(term):
            term = big if term > 0 else -big
        s += term
        dA[n, k] = (a - y) / larger(a * (1.0 - a), BCE_EPS) / N
    s = block_sum(buf, s)
    if t == 0:
        rows[n] = s


def cross_entropy_cost(A, Y, big, dA):
    """The book's ``C = -(1/N) sum [y ln a + (1 - y) ln(1 - a)]``, each term ``nan_to_num``'d
    (``big`` the dtype's largest value); ``dA = (A - Y) / max(A (1 - A), 1e-12) / N``."""
    total, bad = _by_rows(_cross_entropy, A, Y, float(big), dA)
    return total / A.shape[0], bad


@cuda.jit
def _mse(A, Y, dA, rows, bad):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    N, K = A.shape
    s = 0.0
    for k in range(t, K, cuda.blockDim.x):
        d = A[n, k] - Y[n, k]
        if not math.isfinite(d):
            cuda.atomic.min(bad, 0, n * K + k)
        s += d * d
        dA[n, k] = 2.0 * d / (N * K)
    s = block_sum(buf, s)
    if t == 0:
        rows[n] = s


def mse_loss(A, Y, dA):
    """``C = mean((A - Y)^2)`` over all ``N C`` elements, ``dA = 2 (A - Y) / (N C)``."""
    total, bad = _by_rows(_mse, A, Y, dA)
    return total / A.size, bad


# --8<-- [start:bce]
@cuda.jit
def _bce(A, Y, one, eps, inv, dA, rows, bad):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    K = A.shape[1]
    s = 0.0
    for k in range(t, K, cuda.blockDim.x):
        a, y = A[n, k], Y[n, k]
        if not (math.isfinite(a) and math.isfinite(y)):
            cuda.atomic.min(bad, 0, n * K + k)
        s += y * larger(ieee_log(a), -100.0) + (1.0 - y) * larger(ieee_log(1.0 - a), -100.0)
        dA[n, k] = inv * (a - y) / larger(a * (one - a), eps)  # in the arrays' dtype, as torch
    s = block_sum(buf, s)
    if t == 0:
        rows[n] = -s


def bce_loss(A, Y, dA):
    """``C = -mean[y max(ln a, -100) + (1 - y) max(ln(1 - a), -100)]`` (``torch.nn.BCELoss``),
    ``dA = (A - Y) / max(A (1 - A), 1e-12) / (N C)``; returns ``(C, first bad index or -1)``."""
    c = A.dtype.type
    total, bad = _by_rows(_bce, A, Y, c(1.0), c(BCE_EPS), c(1.0 / A.size), dA)
    return total / A.size, bad
# --8<-- [end:bce]


# --8<-- [start:softmax_cross_entropy]
@cuda.jit
def _softmax_cross_entropy(Z, y, dZ, rows, bad_z, bad_y):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    N, K = Z.shape
    label = y[n]
    if label < 0 or label >= K:  # the whole block leaves: no barrier is left waiting
        if t == 0:
            rows[n] = 0.0
            cuda.atomic.min(bad_y, 0, n)
        return
    m = Z[n, 0]
    for k in range(t, K, cuda.blockDim.x):
        if not math.isfinite(Z[n, k]):
            cuda.atomic.min(bad_z, 0, n * K + k)
        m = larger(m, Z[n, k])
    m = block_max(buf, m)
    s = 0.0
    for k in range(t, K, cuda.blockDim.x):
        s += math.exp(Z[n, k] - m)
    s = block_sum(buf, s)
    if t == 0:
        rows[n] = m + math.log(s) - Z[n, label]  # log sum_k exp(Z[n, k]) - Z[n, y[n]]
    for k in range(t, K, cuda.blockDim.x):
        p = math.exp(Z[n, k] - m) / s  # softmax(Z[n])[k]
        dZ[n, k] = ((p - 1.0) if k == label else p) / N


def softmax_cross_entropy(Z, y, dZ):
    """``C = -(1/N) sum_n log softmax(Z[n])[y[n]]``, ``dZ = (softmax(Z) - onehot(y)) / N``; Z, dZ
    ``(N, C)``, y ``(N,)`` int64. Returns ``(C, first non-finite logit or -1, first row whose label
    is outside [0, C) or -1)``; such a row adds nothing and its ``dZ`` row is left as it was."""
    N, K = Z.shape
    threads = reduce_threads(K)
    rows = cuda.device_array(N, np.float64)
    bad_z, bad_y = first_bad(Z.size), first_bad(N)
    _softmax_cross_entropy[N, threads, 0, shared_bytes(threads)](Z, y, dZ, rows, bad_z, bad_y)
    return float(rows.copy_to_host().sum()) / N, found(bad_z, Z.size), found(bad_y, N)
# --8<-- [end:softmax_cross_entropy]
