"""The project's own matrix multiply: the three products backprop needs, without transposes.

Tiling: ``out`` is computed in blocks of rows (``prange`` over them when the problem pays for
threads), each swept in ``J_TILE`` columns x ``K_TILE`` depth tiles that stay in cache; the
register block is 2 rows x 4 depths over a contiguous ``j`` loop that LLVM turns into vector
FMAs. ``gemm_nt`` (``X @ W.T``) with few rows takes row-by-row dot products of contiguous
rows; otherwise it packs ``B.T`` once per call and shares the same kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Flags that let LLVM reassociate sums (vectorised dot products) and fuse multiply-adds, while
# keeping IEEE NaN/inf semantics. Results differ from a sequential sum only by rounding.
FASTMATH = {"reassoc", "contract"}
PARALLEL_FLOPS = 1 << 21   # below ~2 MFLOP, threads cost more than they save
J_TILE = 512               # columns of out per tile
K_TILE = 256               # rows of B per tile: a K_TILE x J_TILE block of B stays in L2
ROW_BLOCK = 32             # rows of out per parallel task


@njit(cache=True)
def _scale_rows(out, beta, r0, r1):
    """out[r0:r1] *= beta, where beta == 0 means overwrite (old values, even NaN, ignored)."""
    if beta == 1.0:
        return
    for i in range(r0, r1):
        if beta == 0.0:
            out[i, :] = 0.0
        else:
            out[i, :] *= beta


# --8<-- [start:gemm_block]
@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def _block(A, a_trans, B, out, i0, i1, k0, k1, j0, j1):
    """out[i0:i1, j0:j1] += op(A)[i0:i1, k0:k1] @ B[k0:k1, j0:j1], op(A) = A.T if a_trans.

    Register block: two rows of out times four rows of B. Each pass over j loads four B
    values and updates two out values with eight fused multiply-adds, and the j loop is
    contiguous, so LLVM turns it into vector FMAs.
    """
    k4 = k0 + (k1 - k0) // 4 * 4
    i2 = i0 + (i1 - i0) // 2 * 2
    n = j1 - j0
    for i in range(i0, i2, 2):
        o, p = out[i, j0:j1], out[i + 1, j0:j1]  # contiguous (n,) views: the loop below vectorises
        for k in range(k0, k4, 4):
            if a_trans:
                a0, a1, a2, a3 = A[k, i], A[k + 1, i], A[k + 2, i], A[k + 3, i]
                c0, c1, c2, c3 = A[k, i + 1], A[k + 1, i + 1], A[k + 2, i + 1], A[k + 3, i + 1]
            else:
                a0, a1, a2, a3 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
                c0, c1, c2, c3 = A[i + 1, k], A[i + 1, k + 1], A[i + 1, k + 2], A[i + 1, k + 3]
            b0, b1, b2, b3 = B[k, j0:j1], B[k + 1, j0:j1], B[k + 2, j0:j1], B[k + 3, j0:j1]
            for j in range(n):
                x0, x1, x2, x3 = b0[j], b1[j], b2[j], b3[j]
                o[j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
                p[j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3
        for k in range(k4, k1):  # the k remainder
            a0 = A[k, i] if a_trans else A[i, k]
            c0 = A[k, i + 1] if a_trans else A[i + 1, k]
            bk = B[k, j0:j1]
            for j in range(n):
                o[j] += a0 * bk[j]
                p[j] += c0 * bk[j]
    for i in range(i2, i1):  # an odd last row
        o = out[i, j0:j1]
        for k in range(k0, k1):
            a0 = A[k, i] if a_trans else A[i, k]
            bk = B[k, j0:j1]
            for j in range(n):
                o[j] += a0 * bk[j]
# --8<-- [end:gemm_block]


@njit(cache=True)
def _rows(A, a_trans, B, out, beta, r0, r1):
    """Rows r0:r1 of out = op(A) @ B + beta * out, tiled over j (L1/L2) and k (L2)."""
    K, N = B.shape
    _scale_rows(out, beta, r0, r1)
    for j0 in range(0, N, J_TILE):
        j1 = min(j0 + J_TILE, N)
        for k0 in range(0, K, K_TILE):
            _block(A, a_trans, B, out, r0, r1, k0, min(k0 + K_TILE, K), j0, j1)


@njit(cache=True, parallel=True)
def _rows_parallel(A, a_trans, B, out, beta):
    M = out.shape[0]
    n_blocks = (M + ROW_BLOCK - 1) // ROW_BLOCK
    for b in prange(n_blocks):
        _rows(A, a_trans, B, out, beta, b * ROW_BLOCK, min((b + 1) * ROW_BLOCK, M))


@njit(cache=True)
def _dispatch(A, a_trans, B, out, beta):
    M, N = out.shape
    K = B.shape[0]
    if 2 * M * N * K >= PARALLEL_FLOPS and M >= 2 * ROW_BLOCK:
        _rows_parallel(A, a_trans, B, out, beta)
    else:
        _rows(A, a_trans, B, out, beta, 0, M)
    return out


@njit(cache=True)
def gemm_nn(A, B, out, beta):
    """``out = A @ B + beta * out`` for A ``(M, K)``, B ``(K, N)``, out ``(M, N)``.

    Backprop's ``dX = dY @ W``. ``beta`` 0 overwrites ``out`` (its old values are ignored),
    1 accumulates. Mirrors ``torch.addmm(out, A, B, beta=beta)``.
    """
    return _dispatch(A, False, B, out, beta)


@njit(cache=True)
def gemm_tn(A, B, out, beta):
    """``out = A.T @ B + beta * out`` for A ``(K, M)``, B ``(K, N)``, out ``(M, N)``.

    Backprop's weight gradient ``dW = dY.T @ X`` (``beta=1`` accumulates into ``.grad``).
    """
    return _dispatch(A, True, B, out, beta)


# --8<-- [start:gemm_nt_dot]
@njit(cache=True, fastmath=FASTMATH, boundscheck=False)
def _nt_dots(A, B, out, beta):
    """out[i, j] = A[i] . B[j] + beta * out[i, j], for few rows of A.

    Depth is cut in K_TILE chunks so A's chunk stays in L1 while B streams through once; each
    B row chunk is dotted with four A rows at a time (one load of b feeds four FMAs).
    """
    M, K = A.shape
    N = B.shape[0]
    _scale_rows(out, beta, 0, M)
    M4 = M - M % 4
    for k0 in range(0, K, K_TILE):
        k1 = min(k0 + K_TILE, K)
        for j in range(N):
            b = B[j, k0:k1]
            for i in range(0, M4, 4):
                a0, a1, a2, a3 = A[i, k0:k1], A[i + 1, k0:k1], A[i + 2, k0:k1], A[i + 3, k0:k1]
                s0 = s1 = s2 = s3 = out[i, j] - out[i, j]  # a zero of out's dtype
                for k in range(k1 - k0):
                    s0 += a0[k] * b[k]
                    s1 += a1[k] * b[k]
                    s2 += a2[k] * b[k]
                    s3 += a3[k] * b[k]
                out[i, j] += s0
                out[i + 1, j] += s1
                out[i + 2, j] += s2
                out[i + 3, j] += s3
            for i in range(M4, M):
                a0 = A[i, k0:k1]
                s0 = out[i, j] - out[i, j]
                for k in range(k1 - k0):
                    s0 += a0[k] * b[k]
                out[i, j] += s0
# --8<-- [end:gemm_nt_dot]


@njit(cache=True)
def gemm_nt(A, B, out, beta):
    """``out = A @ B.T + beta * out`` for A ``(M, K)``, B ``(N, K)``, out ``(M, N)``.

    The Linear layer's forward ``X @ W.T``. Few rows: dot products of contiguous rows.
    Many rows: pack ``B.T`` (``(K, N)``, once per call) and run the ``nn`` kernel.
    """
    M, K = A.shape
    N = B.shape[0]
    if M <= 32 or 2 * M * N * K < PARALLEL_FLOPS:
        _nt_dots(A, B, out, beta)
    else:
        BT = np.ascontiguousarray(B.T)  # (K, N)
        gemm_nn(A, BT, out, beta)
    return out


def matmul(A: np.ndarray, B: np.ndarray, trans_a: bool = False, trans_b: bool = False,
           out: np.ndarray | None = None, beta: float = 0.0) -> np.ndarray:
    """``op(A) @ op(B) + beta * out`` with ``op`` a transpose when asked; checks, then dispatches.

    Shapes: ``op(A)`` ``(M, K)``, ``op(B)`` ``(K, N)``, ``out`` ``(M, N)``; all C-contiguous
    2-D arrays of one dtype, float32 or float64. ``trans_a and trans_b`` is not a product
    backprop needs and is refused. Mirrors ``torch.addmm``.
    """
    for name, x in (("A", A), ("B", B)):
        if not isinstance(x, np.ndarray) or x.ndim != 2:
            raise ValueError(f"matmul: {name} must be a 2-D array, got {getattr(x, 'shape', type(x).__name__)}")
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"matmul: {name} must be float32 or float64, got {x.dtype}")
        if not x.flags.c_contiguous:
            raise ValueError(f"matmul: {name} must be C-contiguous (use np.ascontiguousarray); shape {x.shape}")
    if A.dtype != B.dtype:
        raise TypeError(f"matmul: A is {A.dtype} but B is {B.dtype}")
    if trans_a and trans_b:
        raise ValueError("matmul: trans_a and trans_b together are not supported (compute (B @ A).T)")
    M, K = (A.shape[1], A.shape[0]) if trans_a else A.shape
    K2, N = (B.shape[1], B.shape[0]) if trans_b else B.shape
    if K != K2:
        raise ValueError(f"matmul: inner dimensions differ: op(A) is ({M}, {K}) and op(B) is ({K2}, {N}) "
                         f"(A {A.shape}, B {B.shape}, trans_a={trans_a}, trans_b={trans_b})")
    if out is None:
        out = np.empty((M, N), dtype=A.dtype)
        beta = 0.0
    elif out.shape != (M, N) or out.dtype != A.dtype or not out.flags.c_contiguous:
        raise ValueError(f"matmul: out must be a C-contiguous {A.dtype} array of shape ({M}, {N}), "
                         f"got {out.dtype} {out.shape}")
    kernel = gemm_tn if trans_a else gemm_nt if trans_b else gemm_nn
    return kernel(A, B, out, beta)
