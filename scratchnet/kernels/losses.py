"""Loss kernels: the value (mean over the batch) and its gradient in one pass.

Each takes predictions ``(N, C)``, targets, and writes ``dC/d(prediction)`` into a preallocated
``(N, C)`` array. Sums run in float64 whatever the arrays' dtype. Each also returns the flat
index of the first non-finite input (``-1`` when all are finite) so that the Python layer can
raise a clear error without a second pass over the data.

    quadratic_cost(A, Y, dA)              the book's (1/N) sum_n 1/2 ||a_n - y_n||^2
    cross_entropy_cost(A, Y, big, dA)     the book's sigmoid-output cross-entropy, nan_to_num'd
    mse_loss(A, Y, dA)                    torch's MSELoss, mean over every element
    bce_loss(A, Y, dA)                    torch's BCELoss, logs clamped at -100
    softmax_cross_entropy(Z, y, dZ)       log-softmax + NLL on class indices (CrossEntropyLoss)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .dispatch import serial_or_parallel
from .vmath import log, wide_vectors

BCE_EPS = 1e-12  # torch clamps a (1 - a) at this in the gradient of binary cross-entropy


# --8<-- [start:quadratic_kernel]
@njit(cache=True, fastmath=False)
def quadratic_cost(A, Y, dA):
    """``C = (1/N) sum_n 1/2 ||A[n] - Y[n]||^2`` and ``dA = dC/dA = (A - Y) / N``; all ``(N, C)``.

    Times ``sigma'(z)`` this is the book's output error ``delta^L = (a - y) sigma'(z^L)`` (BP1),
    divided by the batch size because the value is a mean. Returns ``(C, first bad index)``.
    """
    N, K = A.shape
    total = 0.0
    bad = -1
    for n in range(N):
        for k in range(K):
            d = A[n, k] - Y[n, k]
            if bad < 0 and not math.isfinite(d):
                bad = n * K + k
            total += d * d
            dA[n, k] = d / N
    return 0.5 * total / N, bad


# --8<-- [end:quadratic_kernel]


# --8<-- [start:cross_entropy_kernel]
@njit(cache=True, fastmath=False)
def cross_entropy_cost(A, Y, big, dA):
    """The book's ``C = -(1/N) sum_n sum_j [y ln a + (1 - y) ln(1 - a)]``, each term passed
    through ``nan_to_num`` (``0 ln 0 -> 0``, ``inf -> big``, the dtype's largest value).

    ``dA = (A - Y) / max(A (1 - A), 1e-12) / N``: times ``sigma'(z) = a (1 - a)`` that is the
    book's ``delta^L = a - y``. A, Y, dA ``(N, C)``; returns ``(C, first bad index)``.
    """
    N, K = A.shape
    total = 0.0
    bad = -1
    for n in range(N):
        for k in range(K):
            a, y = A[n, k], Y[n, k]
            if bad < 0 and not (math.isfinite(a) and math.isfinite(y)):
                bad = n * K + k
            t = -y * np.log(a) - (1.0 - y) * np.log(1.0 - a)
            if math.isnan(t):
                t = 0.0
            elif math.isinf(t):
                t = big if t > 0 else -big
            total += t
            dA[n, k] = (a - y) / max(a * (1.0 - a), BCE_EPS) / N
    return total / N, bad


# --8<-- [end:cross_entropy_kernel]


@njit(cache=True, fastmath=False)
def mse_loss(A, Y, dA):
    """``C = mean((A - Y)^2)`` over all ``N C`` elements, ``dA = 2 (A - Y) / (N C)``; ``(N, C)``."""
    N, K = A.shape
    total = 0.0
    bad = -1
    for n in range(N):
        for k in range(K):
            d = A[n, k] - Y[n, k]
            if bad < 0 and not math.isfinite(d):
                bad = n * K + k
            total += d * d
            dA[n, k] = 2.0 * d / (N * K)
    return total / (N * K), bad


ROWS_PER_TASK = 8  # bce_loss: rows per parallel task (each task has one scratch row of terms)


@serial_or_parallel(fastmath={"contract"}, error_model="numpy")  # threads: the vae's 128 x 784
def bce_loss(A, Y, dA):
    """``C = -mean[y max(ln a, -100) + (1 - y) max(ln(1 - a), -100)]`` (``torch.nn.BCELoss``),
    ``dA = (A - Y) / max(A (1 - A), 1e-12) / (N C)``; A, Y, dA ``(N, C)``. Returns
    ``(C, flat index of the first non-finite input or -1)``.

    One loop per row without branches, so that it runs in SIMD lanes: both logs of every
    element (``vmath.log``), the gradient (in the arrays' dtype, as torch's), and a count of
    non-finite inputs (the index is looked for only when there is one). The terms go to a
    scratch row and are summed in float64 after the loop (a running sum in the loop would fix
    the order of the additions, and LLVM could then not vectorise it). Rows add in order.
    """
    wide_vectors()
    N, K = A.shape
    one, eps, inv = A.dtype.type(1.0), A.dtype.type(BCE_EPS), A.dtype.type(1.0 / (N * K))
    rows = np.zeros(N)
    bad_in_row = np.full(N, -1)
    for task in prange((N + ROWS_PER_TASK - 1) // ROWS_PER_TASK):
        terms = np.empty(K)
        for n in range(task * ROWS_PER_TASK, min(N, (task + 1) * ROWS_PER_TASK)):
            non_finite = 0
            for k in range(K):
                a, y = A[n, k], Y[n, k]
                non_finite += not (math.isfinite(a) & math.isfinite(y))
                terms[k] = y * max(log(a), -100.0) + (1.0 - y) * max(log(1.0 - a), -100.0)
                dA[n, k] = inv * (a - y) / max(a * (one - a), eps)
            s0 = s1 = s2 = s3 = 0.0  # four running sums: a quarter of the adds' latency chain
            K4 = K - K % 4
            for k in range(0, K4, 4):
                s0 += terms[k]
                s1 += terms[k + 1]
                s2 += terms[k + 2]
                s3 += terms[k + 3]
            for k in range(K4, K):
                s0 += terms[k]
            rows[n] = -((s0 + s1) + (s2 + s3))
            if non_finite:
                for k in range(K):
                    if not (math.isfinite(A[n, k]) and math.isfinite(Y[n, k])):
                        bad_in_row[n] = n * K + k
                        break
    total, bad = 0.0, -1
    for n in range(N):  # a plain loop, not rows.sum(): the threaded twin would split that sum
        total += rows[n]
        if bad < 0 and bad_in_row[n] >= 0:
            bad = bad_in_row[n]
    return total / (N * K), bad


# --8<-- [start:softmax_cross_entropy]
@njit(cache=True, fastmath=False)
def softmax_cross_entropy(Z, y, dZ):
    """``C = -(1/N) sum_n log softmax(Z[n])[y[n]]`` and ``dZ = (softmax(Z) - onehot(y)) / N``.

    Z, dZ ``(N, C)`` logits, y ``(N,)`` class indices. With ``m = max Z[n]``,
    ``log softmax(Z[n])[c] = Z[n, c] - m - log sum_k exp(Z[n, k] - m)``: finite for any finite
    logits. Returns ``(C, first non-finite logit's flat index, first row whose label is outside
    [0, C))``, each ``-1`` when there is none.
    """
    N, K = Z.shape
    total = 0.0
    bad_z, bad_y = -1, -1
    for n in range(N):
        label = y[n]
        if label < 0 or label >= K:
            if bad_y < 0:
                bad_y = n
            continue
        m = Z[n, 0]
        for k in range(K):
            if bad_z < 0 and not math.isfinite(Z[n, k]):
                bad_z = n * K + k
            m = max(m, Z[n, k])
        s = 0.0
        for k in range(K):
            s += math.exp(Z[n, k] - m)
        total += m + math.log(s) - Z[n, label]  # log sum_k exp(Z[n, k]) - Z[n, y[n]]
        for k in range(K):
            p = math.exp(Z[n, k] - m) / s  # softmax(Z[n])[k]
            dZ[n, k] = ((p - 1.0) if k == label else p) / N
    return total / N, bad_z, bad_y


# --8<-- [end:softmax_cross_entropy]
