"""The project's own matrix multiply: the three products backprop needs, without transposes.

Tiling: threads take ``ROW_BLOCK`` rows of out; per ``K_TILE x J_TILE`` slab of op(B) (packed, L2)
8 rows x 4 depths of op(A) sit in registers while a unit-stride j loop streams 8 rows of out (L1)
and 4 of the slab through 32 FMAs per AVX-512 vector.

Small problems skip the packing (one thread, straight from ``B``); ``X @ W.T`` with few rows
takes dot products of contiguous rows instead.
"""

from __future__ import annotations

import functools

import numpy as np
import threadpoolctl
from numba import njit, prange, types
from numba.extending import intrinsic

MR = 8                     # rows of out per register block (times 4 depths of op(A))
J_TILE = 256               # columns of out per tile: MR rows of out stay in L1
K_TILE = 256               # depths per tile: a K_TILE x J_TILE slab of B stays in L2
ROW_BLOCK = 64             # rows of out per parallel task
PAD = 16                   # extra columns in packed buffers: rows never 4 KiB apart
NT_DOT_ROWS = 32           # X @ W.T with fewer rows: dot products, no packing
NT_DOT_COLS = 16           # ... or with fewer columns than one vector
J_STRAIGHT = 1024          # widest j tile on the unpacked path (8 rows of out still in L1)
PARALLEL_FLOPS = 1 << 22   # below ~4 MFLOP one thread is faster than waking two


# --8<-- [start:gemm_fma]
@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (``llvm.fma``): an explicit FMA, so kernels keep fastmath off."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        return builder.fma(*args)

    return a(a, b, c), codegen


@intrinsic
def _wide_vectors(typingctx):
    """Let LLVM vectorise the calling function with 512-bit registers.

    LLVM's tuning for AVX-512 CPUs prefers 256-bit vectors; a GEMM is exactly the code that
    wants the full width, so the kernels below opt in per function (a no-op without AVX-512).
    """
    def codegen(context, builder, sig, args):
        for attr in ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"'):
            set.add(builder.function.attributes, attr)  # string attributes llvmlite doesn't list
        return context.get_dummy_value()

    return types.none(), codegen
# --8<-- [end:gemm_fma]


@njit(cache=True, fastmath=False)
def _dynamic(flag):
    """flag as a plain ``bool`` rather than a constant.

    Numba compiles a callee once per constant argument it sees (``False``, ``0``, ...); passing
    constants through here (and zeros as ``n - n``) keeps one compiled copy of each kernel per
    dtype, which cuts the compile time CI pays, for a branch per 4 depths on ``a_trans``.
    """
    return flag != 0


@njit(cache=True, fastmath=False)
def _scale_rows(out, beta, r0, r1):
    """out[r0:r1] *= beta, where beta == 0 means overwrite (old values, even NaN, ignored)."""
    if beta == 1.0:
        return
    for i in range(r0, r1):
        if beta == 0.0:
            out[i, :] = 0.0
        else:
            out[i, :] *= beta


# --8<-- [start:gemm_block8]
@njit(cache=True, fastmath=False, boundscheck=False)
def _block8(A, a_trans, i0, i1, k0, k1, Bs, kb, jb, C, ic, jc, n):
    """C[ic + i - i0, jc:jc+n] += op(A)[i, k0:k1] @ Bs[kb:kb+k1-k0, jb:jb+n] for i in i0:i1.

    op(A) = A.T if a_trans. Register block: 8 rows of C times 4 rows of Bs. The 32
    values of op(A) are loaded once per 4 depths; each step of the contiguous j loop loads
    4 Bs and 8 C vectors and does 32 FMAs, in k order (one rounding per term). Rows left
    over (fewer than 8) go to the 4/2/1-row ``_block``.
    """
    _wide_vectors()
    ce, be = jc + n, jb + n  # ends of the column ranges of C and Bs
    i8 = i0 + (i1 - i0) // 8 * 8
    k4 = k0 + (k1 - k0) // 4 * 4
    for i in range(i0, i8, 8):
        r = ic + i - i0
        o0, o1, o2, o3 = C[r, jc:ce], C[r + 1, jc:ce], C[r + 2, jc:ce], C[r + 3, jc:ce]
        o4, o5, o6, o7 = C[r + 4, jc:ce], C[r + 5, jc:ce], C[r + 6, jc:ce], C[r + 7, jc:ce]
        for k in range(k0, k4, 4):
            if a_trans:  # op(A)[i, k] = A[k, i]: eight values from each of four rows of A
                p0, q0, r0, s0 = A[k, i], A[k, i + 1], A[k, i + 2], A[k, i + 3]
                t0, u0, v0, w0 = A[k, i + 4], A[k, i + 5], A[k, i + 6], A[k, i + 7]
                p1, q1, r1, s1 = A[k + 1, i], A[k + 1, i + 1], A[k + 1, i + 2], A[k + 1, i + 3]
                t1, u1, v1, w1 = A[k + 1, i + 4], A[k + 1, i + 5], A[k + 1, i + 6], A[k + 1, i + 7]
                p2, q2, r2, s2 = A[k + 2, i], A[k + 2, i + 1], A[k + 2, i + 2], A[k + 2, i + 3]
                t2, u2, v2, w2 = A[k + 2, i + 4], A[k + 2, i + 5], A[k + 2, i + 6], A[k + 2, i + 7]
                p3, q3, r3, s3 = A[k + 3, i], A[k + 3, i + 1], A[k + 3, i + 2], A[k + 3, i + 3]
                t3, u3, v3, w3 = A[k + 3, i + 4], A[k + 3, i + 5], A[k + 3, i + 6], A[k + 3, i + 7]
            else:  # four values from each of eight rows of A
                p0, p1, p2, p3 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
                q0, q1, q2, q3 = A[i + 1, k], A[i + 1, k + 1], A[i + 1, k + 2], A[i + 1, k + 3]
                r0, r1, r2, r3 = A[i + 2, k], A[i + 2, k + 1], A[i + 2, k + 2], A[i + 2, k + 3]
                s0, s1, s2, s3 = A[i + 3, k], A[i + 3, k + 1], A[i + 3, k + 2], A[i + 3, k + 3]
                t0, t1, t2, t3 = A[i + 4, k], A[i + 4, k + 1], A[i + 4, k + 2], A[i + 4, k + 3]
                u0, u1, u2, u3 = A[i + 5, k], A[i + 5, k + 1], A[i + 5, k + 2], A[i + 5, k + 3]
                v0, v1, v2, v3 = A[i + 6, k], A[i + 6, k + 1], A[i + 6, k + 2], A[i + 6, k + 3]
                w0, w1, w2, w3 = A[i + 7, k], A[i + 7, k + 1], A[i + 7, k + 2], A[i + 7, k + 3]
            q = kb + k - k0
            b0, b1, b2, b3 = Bs[q, jb:be], Bs[q + 1, jb:be], Bs[q + 2, jb:be], Bs[q + 3, jb:be]
            for j in range(n):
                x0, x1, x2, x3 = b0[j], b1[j], b2[j], b3[j]
                o0[j] = fma(p3, x3, fma(p2, x2, fma(p1, x1, fma(p0, x0, o0[j]))))
                o1[j] = fma(q3, x3, fma(q2, x2, fma(q1, x1, fma(q0, x0, o1[j]))))
                o2[j] = fma(r3, x3, fma(r2, x2, fma(r1, x1, fma(r0, x0, o2[j]))))
                o3[j] = fma(s3, x3, fma(s2, x2, fma(s1, x1, fma(s0, x0, o3[j]))))
                o4[j] = fma(t3, x3, fma(t2, x2, fma(t1, x1, fma(t0, x0, o4[j]))))
                o5[j] = fma(u3, x3, fma(u2, x2, fma(u1, x1, fma(u0, x0, o5[j]))))
                o6[j] = fma(v3, x3, fma(v2, x2, fma(v1, x1, fma(v0, x0, o6[j]))))
                o7[j] = fma(w3, x3, fma(w2, x2, fma(w1, x1, fma(w0, x0, o7[j]))))
        if k4 < k1:  # the k remainder: the 4-row block, twice
            _block(A, a_trans, i, i + 4, k4, k1, Bs, kb + k4 - k0, jb, C, r, jc, n)
            _block(A, a_trans, i + 4, i + 8, k4, k1, Bs, kb + k4 - k0, jb, C, r + 4, jc, n)
    if i8 < i1:
        _block(A, a_trans, i8, i1, k0, k1, Bs, kb, jb, C, ic + i8 - i0, jc, n)
# --8<-- [end:gemm_block8]


# --8<-- [start:gemm_block]
@njit(cache=True, fastmath=False, boundscheck=False)
def _block(A, a_trans, i0, i1, k0, k1, Bs, kb, jb, C, ic, jc, n):
    """C[ic + i - i0, jc:jc+n] += op(A)[i, k0:k1] @ Bs[kb:kb+k1-k0, jb:jb+n] for i in i0:i1.

    op(A) = A.T if a_trans. Register block: 4 rows of C times 4 rows of Bs. The 16
    values of op(A) sit in registers; each step of the contiguous j loop loads 4 Bs values and
    4 C values and does 16 FMAs, in k order (one rounding per term).
    """
    _wide_vectors()
    ce, be = jc + n, jb + n  # ends of the column ranges of C and Bs
    i4 = i0 + (i1 - i0) // 4 * 4
    k4 = k0 + (k1 - k0) // 4 * 4
    for i in range(i0, i4, 4):
        r = ic + i - i0
        o0, o1, o2, o3 = C[r, jc:ce], C[r + 1, jc:ce], C[r + 2, jc:ce], C[r + 3, jc:ce]
        for k in range(k0, k4, 4):
            if a_trans:  # op(A)[i, k] = A[k, i]
                a00, a01, a02, a03 = A[k, i], A[k + 1, i], A[k + 2, i], A[k + 3, i]
                a10, a11, a12, a13 = A[k, i + 1], A[k + 1, i + 1], A[k + 2, i + 1], A[k + 3, i + 1]
                a20, a21, a22, a23 = A[k, i + 2], A[k + 1, i + 2], A[k + 2, i + 2], A[k + 3, i + 2]
                a30, a31, a32, a33 = A[k, i + 3], A[k + 1, i + 3], A[k + 2, i + 3], A[k + 3, i + 3]
            else:
                a00, a01, a02, a03 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
                a10, a11, a12, a13 = A[i + 1, k], A[i + 1, k + 1], A[i + 1, k + 2], A[i + 1, k + 3]
                a20, a21, a22, a23 = A[i + 2, k], A[i + 2, k + 1], A[i + 2, k + 2], A[i + 2, k + 3]
                a30, a31, a32, a33 = A[i + 3, k], A[i + 3, k + 1], A[i + 3, k + 2], A[i + 3, k + 3]
            q = kb + k - k0
            b0, b1, b2, b3 = Bs[q, jb:be], Bs[q + 1, jb:be], Bs[q + 2, jb:be], Bs[q + 3, jb:be]
            for j in range(n):
                x0, x1, x2, x3 = b0[j], b1[j], b2[j], b3[j]
                o0[j] = fma(a03, x3, fma(a02, x2, fma(a01, x1, fma(a00, x0, o0[j]))))
                o1[j] = fma(a13, x3, fma(a12, x2, fma(a11, x1, fma(a10, x0, o1[j]))))
                o2[j] = fma(a23, x3, fma(a22, x2, fma(a21, x1, fma(a20, x0, o2[j]))))
                o3[j] = fma(a33, x3, fma(a32, x2, fma(a31, x1, fma(a30, x0, o3[j]))))
        for k in range(k4, k1):  # the k remainder, one depth at a time
            a0 = A[k, i] if a_trans else A[i, k]
            a1 = A[k, i + 1] if a_trans else A[i + 1, k]
            a2 = A[k, i + 2] if a_trans else A[i + 2, k]
            a3 = A[k, i + 3] if a_trans else A[i + 3, k]
            bk = Bs[kb + k - k0, jb:be]
            for j in range(n):
                o0[j] = fma(a0, bk[j], o0[j])
                o1[j] = fma(a1, bk[j], o1[j])
                o2[j] = fma(a2, bk[j], o2[j])
                o3[j] = fma(a3, bk[j], o3[j])
    if i1 - i4 >= 2:  # two of the last rows: 2 x 4 register block
        i = i4
        r = ic + i - i0
        o0, o1 = C[r, jc:ce], C[r + 1, jc:ce]
        for k in range(k0, k4, 4):
            if a_trans:
                a00, a01, a02, a03 = A[k, i], A[k + 1, i], A[k + 2, i], A[k + 3, i]
                a10, a11, a12, a13 = A[k, i + 1], A[k + 1, i + 1], A[k + 2, i + 1], A[k + 3, i + 1]
            else:
                a00, a01, a02, a03 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
                a10, a11, a12, a13 = A[i + 1, k], A[i + 1, k + 1], A[i + 1, k + 2], A[i + 1, k + 3]
            q = kb + k - k0
            b0, b1, b2, b3 = Bs[q, jb:be], Bs[q + 1, jb:be], Bs[q + 2, jb:be], Bs[q + 3, jb:be]
            for j in range(n):
                x0, x1, x2, x3 = b0[j], b1[j], b2[j], b3[j]
                o0[j] = fma(a03, x3, fma(a02, x2, fma(a01, x1, fma(a00, x0, o0[j]))))
                o1[j] = fma(a13, x3, fma(a12, x2, fma(a11, x1, fma(a10, x0, o1[j]))))
        for k in range(k4, k1):
            a0 = A[k, i] if a_trans else A[i, k]
            a1 = A[k, i + 1] if a_trans else A[i + 1, k]
            bk = Bs[kb + k - k0, jb:be]
            for j in range(n):
                o0[j] = fma(a0, bk[j], o0[j])
                o1[j] = fma(a1, bk[j], o1[j])
        i4 += 2
    for i in range(i4, i1):  # the last row
        o0 = C[ic + i - i0, jc:ce]
        for k in range(k0, k1):
            a0 = A[k, i] if a_trans else A[i, k]
            bk = Bs[kb + k - k0, jb:be]
            for j in range(n):
                o0[j] = fma(a0, bk[j], o0[j])
# --8<-- [end:gemm_block]


# --8<-- [start:gemm_pack]
@njit(cache=True, fastmath=False, boundscheck=False)
def _pack(B, b_trans, k0, k1, j0, j1, Bs):
    """Bs[k - k0, j - j0] = op(B)[k, j]: one K_TILE x J_TILE slab, op(B) = B.T if b_trans.

    Copying the slab costs one read of it per ROW_BLOCK rows of out; in exchange the kernel
    reads unit-stride rows that sit apart in cache (row stride J_TILE + PAD, never 4 KiB).
    """
    if b_trans:
        for j in range(j0, j1):
            for k in range(k0, k1):
                Bs[k - k0, j - j0] = B[j, k]
    else:
        for k in range(k0, k1):
            Bs[k - k0, :j1 - j0] = B[k, j0:j1]
# --8<-- [end:gemm_pack]


# --8<-- [start:gemm_rows]
@njit(cache=True, fastmath=False)
def _rows_packed(A, a_trans, B, b_trans, out, beta, r0, r1):
    """Rows r0:r1 of out = op(A) @ op(B) + beta * out through packed slabs of op(B)."""
    M, N = out.shape
    K = A.shape[0] if a_trans else A.shape[1]
    Bs = np.empty((min(K_TILE, K), min(J_TILE, N) + PAD), out.dtype)
    C = np.empty((MR, min(J_TILE, N) + PAD), out.dtype)
    _scale_rows(out, beta, r0, r1)
    z = r1 - r1  # a 0 that is not a constant, see _dynamic
    for j0 in range(0, N, J_TILE):
        n = min(J_TILE, N - j0)
        for k0 in range(0, K, K_TILE):
            k1 = min(k0 + K_TILE, K)
            _pack(B, b_trans, k0, k1, j0, j0 + n, Bs)
            for i in range(r0, r1, MR):
                i1 = min(i + MR, r1)
                C[:, :n] = 0.0
                _block8(A, a_trans, i, i1, k0, k1, Bs, z, z, C, z, z, n)
                for r in range(i, i1):  # C rows are apart in cache; out rows may be 4 KiB apart
                    out[r, j0:j0 + n] += C[r - i, :n]
# --8<-- [end:gemm_rows]


@njit(cache=True, fastmath=False)
def _rows(A, a_trans, B, out, beta, r0, r1):
    """Rows r0:r1 of out = op(A) @ B + beta * out straight from B, tiled over j and k."""
    K, N = B.shape
    _scale_rows(out, beta, r0, r1)
    n_tiles = (N + J_STRAIGHT - 1) // J_STRAIGHT
    width = ((N + n_tiles - 1) // n_tiles + 15) // 16 * 16  # equal tiles, whole vectors
    for j0 in range(0, N, width):
        n = min(width, N - j0)
        for k0 in range(0, K, K_TILE):
            _block8(A, a_trans, r0, r1, k0, min(k0 + K_TILE, K), B, k0, j0, out, r0, j0, n)


@njit(cache=True, fastmath=False, parallel=True)
def _rows_parallel(A, a_trans, B, b_trans, out, beta):
    """All rows of out, ROW_BLOCK rows per task over Numba's threads."""
    M = out.shape[0]
    n_blocks = (M + ROW_BLOCK - 1) // ROW_BLOCK
    for b in prange(n_blocks):
        _rows_packed(A, a_trans, B, b_trans, out, beta, b * ROW_BLOCK, min((b + 1) * ROW_BLOCK, M))


# --8<-- [start:gemm_dispatch]
@njit(cache=True, fastmath=False)
def _dispatch(A, a_trans, B, b_trans, out, beta):
    """Pick the path: threads for big problems, packing when op(B) = B.T, else straight."""
    M, N = out.shape
    K = A.shape[0] if a_trans else A.shape[1]
    z = M - M  # a 0 that is not a constant, see _dynamic
    if 2 * M * N * K >= PARALLEL_FLOPS and M > ROW_BLOCK:
        _rows_parallel(A, a_trans, B, b_trans, out, beta)
    elif b_trans:  # op(B) = B.T exists only packed
        _rows_packed(A, a_trans, B, b_trans, out, beta, z, M)
    else:
        _rows(A, a_trans, B, out, beta, z, M)
    return out
# --8<-- [end:gemm_dispatch]


@njit(cache=True, fastmath=False)
def gemm_nn(A, B, out, beta):
    """``out = A @ B + beta * out`` for A ``(M, K)``, B ``(K, N)``, out ``(M, N)``.

    Backprop's input gradient ``dX = dY @ W`` (the book's ``(w^{l+1})^T delta^{l+1}``, one
    row per sample). ``beta`` 0 overwrites ``out`` (its old values are ignored), 1 accumulates.
    Mirrors ``torch.addmm(out, A, B, beta=beta)``.
    """
    return _dispatch(A, _dynamic(False), B, _dynamic(False), out, beta)


@njit(cache=True, fastmath=False)
def gemm_tn(A, B, out, beta):
    """``out = A.T @ B + beta * out`` for A ``(K, M)``, B ``(K, N)``, out ``(M, N)``.

    Backprop's weight gradient ``dW = dY.T @ X`` (``beta=1`` accumulates into ``.grad``).
    """
    return _dispatch(A, _dynamic(True), B, _dynamic(False), out, beta)


# --8<-- [start:gemm_nt_dot]
# The one kernel with fastmath flags: a dot product vectorises only if LLVM may split its sum
# into vector lanes ("reassoc") and fuse multiply-adds ("contract"); NaN/inf semantics are kept.
@njit(cache=True, fastmath={"reassoc", "contract"}, boundscheck=False)
def _nt_dots(A, B, out, beta):
    """out[i, j] = A[i] . B[j] + beta * out[i, j], for few rows of A.

    Depth is cut in K_TILE chunks so A's chunk stays in L1 while B streams through once; each
    B row chunk is dotted with four A rows at a time (one load of b feeds four FMAs).
    """
    _wide_vectors()
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


@njit(cache=True, fastmath=False)
def gemm_nt(A, B, out, beta):
    """``out = A @ B.T + beta * out`` for A ``(M, K)``, B ``(N, K)``, out ``(M, N)``.

    The Linear layer's forward ``X @ W.T`` (the book's ``w a``, one row per sample).
    Few rows: dot products of contiguous rows. Many: slabs of ``B.T`` packed, then the shared
    register block.
    """
    if A.shape[0] < NT_DOT_ROWS or B.shape[0] < NT_DOT_COLS:
        _nt_dots(A, B, out, beta)
        return out
    return _dispatch(A, _dynamic(False), B, _dynamic(True), out, beta)


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
    if 2 * M * N * K < PARALLEL_FLOPS:  # one thread: nothing to share the cores with
        return kernel(A, B, out, float(beta))
    with _blas_controller().limit(limits=1, user_api="blas"):  # BLAS pool idle while ours run
        return kernel(A, B, out, float(beta))


@functools.cache
def _blas_controller() -> threadpoolctl.ThreadpoolController:
    """The process's BLAS pools, found once (a look-up costs milliseconds; a limit ~10 us)."""
    return threadpoolctl.ThreadpoolController()
