"""Matrix products as three loops: ``out[i, j] = sum_k op(A)[i, k] op(B)[k, j] + beta out[i, j]``.

The reference twins of ``kernels.matmul.gemm_nn``, ``gemm_tn`` and ``gemm_nt``: same arguments,
same results (to rounding: the fast kernels sum in blocks and with fused multiply-adds). Each
entry of ``out`` is one dot product, summed in the order ``k = 0, 1, ..., K-1`` from an exact
zero, so ``inf`` and ``NaN`` propagate exactly as IEEE arithmetic (and NumPy, and PyTorch) say.
``beta`` 0 overwrites ``out`` (its old values, even NaN, are never read); 1 accumulates.
"""

from __future__ import annotations

from numba import njit


# --8<-- [start:gemm_nn]
@njit(cache=True)
def gemm_nn(A, B, out, beta):
    """``out = A @ B + beta * out``: A ``(M, K)``, B ``(K, N)``, out ``(M, N)``.

    ``out[i, j] = sum_k A[i, k] B[k, j]`` — backprop's ``dX = dY @ W`` (the book's BP2,
    ``(w^{l+1})^T delta^{l+1}``, one row per sample).
    """
    M, K = A.shape
    N = B.shape[1]
    for i in range(M):
        for j in range(N):
            s = out.dtype.type(0)
            for k in range(K):
                s += A[i, k] * B[k, j]
            out[i, j] = s if beta == 0.0 else s + beta * out[i, j]
    return out
# --8<-- [end:gemm_nn]


@njit(cache=True)
def gemm_tn(A, B, out, beta):
    """``out = A.T @ B + beta * out``: A ``(K, M)``, B ``(K, N)``, out ``(M, N)``.

    ``out[i, j] = sum_k A[k, i] B[k, j]`` — backprop's ``dW = dY^T X`` (BP4 summed over the
    mini-batch: each sample ``k`` adds ``delta_k a_k^T``).
    """
    K, M = A.shape
    N = B.shape[1]
    for i in range(M):
        for j in range(N):
            s = out.dtype.type(0)
            for k in range(K):
                s += A[k, i] * B[k, j]
            out[i, j] = s if beta == 0.0 else s + beta * out[i, j]
    return out


# --8<-- [start:gemm_nt]
@njit(cache=True)
def gemm_nt(A, B, out, beta):
    """``out = A @ B.T + beta * out``: A ``(M, K)``, B ``(N, K)``, out ``(M, N)``.

    ``out[i, j] = sum_k A[i, k] B[j, k]`` — the Linear forward ``Z = X W^T`` (the book's
    ``w a``, one row per sample).
    """
    M, K = A.shape
    N = B.shape[0]
    for i in range(M):
        for j in range(N):
            s = out.dtype.type(0)
            for k in range(K):
                s += A[i, k] * B[j, k]
            out[i, j] = s if beta == 0.0 else s + beta * out[i, j]
    return out
# --8<-- [end:gemm_nt]
