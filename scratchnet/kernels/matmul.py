"""Fast tier: equals ``kernels/reference/gemm.py`` (three loops per product), to rounding.
Made fast by Goto's packing into panels and an MR x NR register-tiled micro-kernel (microkernel.py).

The project's own matrix multiply: the three products backprop needs, without transposes.

Goto's scheme (the one BLAS libraries use): op(B) is copied a ``KC x NC`` block at a time into
panels ``NR`` columns wide, op(A) a ``MC x KC`` block at a time into panels ``MR`` rows tall, and
a micro-kernel multiplies one A panel by one B panel, keeping its ``MR x NR`` tile of out in
vector registers for the whole depth loop (16 accumulators: each FMA needs no load or store of
out). The transposes happen in the copies, so no product materialises one.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange
from numba.extending import overload

from .dispatch import _threads_now
from .machine import plan
from .microkernel import MR, NV, tile, tile_narrow, tile_packed, tile_packed_b
from .vector_ir import VECTOR_BYTES, copy_strip, gather_rows, transpose_rows, transpose_vl
from .vmath import wide_vectors

# The blocking, chosen from the cache sizes by machine.py's rule (``scratchnet bench --explain``):
KC = plan().kc             # depths per packed block (a KC x NR panel of B stays in L1): 256 on a 48 KiB L1d
MC = plan().mc             # rows of op(A) per packed block (MC x KC stays in L2): 128
NC = plan().nc             # columns of op(B) per packed block (KC x NC in L2/L3): 4096
PARALLEL_FLOPS = 1 << 22   # below ~4 MFLOP one thread is faster than waking two
# The threads a process may use (Python only). Jitted code asks ``_threads_now()`` at each call
# instead: a module constant would be frozen into the machine code that ``cache=True`` keeps on
# disk (dispatch.py says more).
THREADS = numba.config.NUMBA_NUM_THREADS

# Compile time. Numba compiles a jitted callee once per distinct *literal* argument (a True, a 0
# written in the call), and re-optimises a callee's code inside every jitted caller. So the three
# products are Python functions calling ``_gemm`` (one thread) or ``_gemm_threads`` with plain
# bools, and ``_sub_gemm`` gets ``ZERO`` (an int64, not the literal 0): one compilation of each per
# dtype, instead of three of ``_gemm`` and six of ``_sub_gemm``. (Python threads running a
# GIL-free ``_sub_gemm`` would compile it once less, but waking one costs ~60 us on these
# machines against ~5 us for Numba's OpenMP threads.)
ZERO = np.int64(0)


@njit(cache=True)
def _nr(out) -> int:
    """Columns of a micro-tile for out's dtype: NV vectors."""
    return NV * (VECTOR_BYTES // out.itemsize)


# --8<-- [start:gemm_pack]
@njit(cache=True, boundscheck=False)
def _pack_a(A, a_trans, i0, mc, k0, kc, Ap):
    """Ap[p*kc*MR + k*MR + i] = op(A)[i0 + p*MR + i, k0 + k] for i0 + p*MR + i < i0 + mc.

    op(A) = A.T if a_trans (A is (K, M)), else A (M, K). MR-row panels one after another, each
    depth's MR values contiguous: the order the micro-kernel broadcasts them in. Rows past the
    block are left as they are (the micro-kernel computes them and drops the results). Whole
    panels go VL depths at a time through ``transpose_rows`` (from A) or ``gather_rows`` (from
    A^T), which shuffle in registers; the edges value by value.
    """
    VL = VECTOR_BYTES // Ap.itemsize
    lda = A.shape[1]
    flat = A.reshape(A.size)
    for p in range((mc + MR - 1) // MR):
        base = p * kc * MR
        m = min(MR, mc - p * MR)
        r0 = i0 + p * MR
        if a_trans:  # rows of A hold MR consecutive values of a panel's depth k
            # a VL-wide read of each row must hold the MR values and stay inside the row
            whole = kc - kc % VL if m == MR and MR <= VL and r0 + VL <= A.shape[1] else 0
            for k in range(0, whole, VL):
                gather_rows(flat, (k0 + k) * lda + r0, lda, Ap, base + k * MR)
            for k in range(whole, kc):
                src = A[k0 + k]
                for i in range(m):
                    Ap[base + k * MR + i] = src[r0 + i]
        else:
            whole = kc - kc % VL if m == MR else 0
            for k in range(0, whole, VL):
                transpose_rows(flat, r0 * lda + k0 + k, lda, Ap, base + k * MR)
            for k in range(whole, kc):
                for i in range(m):
                    Ap[base + k * MR + i] = A[r0 + i, k0 + k]


@njit(cache=True, boundscheck=False)
def _pack_b(B, b_trans, k0, kc, j0, nc, Bp):
    """Bp[p*kc*NR + k*NR + j] = op(B)[k0 + k, j0 + p*NR + j] for j0 + p*NR + j < j0 + nc.

    op(B) = B.T if b_trans (B is (N, K)), else B (K, N). NR-column panels; columns past the
    block are computed by the micro-kernel and dropped. From B^T, VL x VL blocks go through
    ``transpose_vl``; the edges value by value.
    """
    NR = _nr(Bp)
    VL = VECTOR_BYTES // Bp.itemsize
    panels = (nc + NR - 1) // NR
    if b_trans:
        ldb = B.shape[1]
        flat = B.reshape(B.size)
        whole = kc - kc % VL
        for p in range(panels):
            base, c0 = p * kc * NR, j0 + p * NR
            n = min(NR, j0 + nc - c0)
            for jb in range(0, n - n % VL, VL):  # VL columns by VL depths at a time
                for k in range(0, whole, VL):
                    transpose_vl(flat, (c0 + jb) * ldb + k0 + k, ldb, Bp, base + k * NR + jb, NR)
            for k in range(whole, kc):  # the last depths, then the last columns
                for j in range(n - n % VL):
                    Bp[base + k * NR + j] = B[c0 + j, k0 + k]
            for j in range(n - n % VL, n):
                src = B[c0 + j]
                for k in range(kc):
                    Bp[base + k * NR + j] = src[k0 + k]
    else:  # row by row: each row of B is read once, contiguously
        for k in range(kc):
            src = B[k0 + k]
            for p in range(panels):
                c0 = j0 + p * NR
                n = min(NR, j0 + nc - c0)
                copy_strip(Bp, p * kc * NR + k * NR, src, c0, n)
# --8<-- [end:gemm_pack]


# --8<-- [start:gemm_task]
@njit(cache=True, boundscheck=False)
def _sub_gemm(A, a_trans, B, b_trans, out, first, r0, r1, c0, c1):
    """out[r0:r1, c0:c1] (+)= op(A)[r0:r1] @ op(B)[:, c0:c1]; ``first`` False means overwrite.

    Blocks of op(B) ``KC x NC`` and of op(A) ``MC x KC``; the micro-kernel runs over every
    (B panel, A panel) pair, B panel outermost so it stays in L1 while A's block streams from L2.
    op(B) is packed when it is a transpose or when more than two row panels reuse it; op(A) when
    at least four B panels reuse it. Otherwise the micro-kernel reads the operand in place.
    """
    N = out.shape[1]
    K = A.shape[0] if a_trans else A.shape[1]
    lda, ldb = A.shape[1], B.shape[1]
    NR = _nr(out)
    VL = VECTOR_BYTES // out.itemsize
    flat_a, flat_b = A.reshape(A.size), B.reshape(B.size)
    pack_b = b_trans or r1 - r0 > 2 * MR
    pack_a = c1 - c0 > 3 * NR
    Bp = np.empty(((min(NC, c1 - c0) + NR - 1) // NR) * NR * min(KC, K) if pack_b else 0, out.dtype)
    Ap = np.empty(((min(MC, r1 - r0) + MR - 1) // MR) * MR * min(KC, K) if pack_a else 0, out.dtype)
    for j0 in range(c0, c1, NC):
        nc = min(NC, c1 - j0)
        for k0 in range(0, K, KC):
            kc = min(KC, K - k0)
            accumulate = first or k0 > 0
            if pack_b:
                _pack_b(B, b_trans, k0, kc, j0, nc, Bp)
            for i0 in range(r0, r1, MC):
                mc = min(MC, r1 - i0)
                if pack_a:
                    _pack_a(A, a_trans, i0, mc, k0, kc, Ap)
                for jp in range((nc + NR - 1) // NR):
                    c = j0 + jp * NR
                    n = min(NR, j0 + nc - c)
                    if pack_b:
                        src_b, b0, b_rs = Bp, jp * kc * NR, NR
                    else:
                        src_b, b0, b_rs = flat_b, k0 * ldb + c, ldb
                    narrow = n <= VL
                    for ip in range((mc + MR - 1) // MR):
                        r = i0 + ip * MR
                        m = min(MR, i0 + mc - r)
                        if pack_a:
                            src_a, a0, a_rs, a_cs = Ap, ip * kc * MR, 1, MR
                        elif a_trans:  # op(A)[i, k] = A[k, i]
                            src_a, a0, a_rs, a_cs = flat_a, k0 * lda + r, 1, lda
                        else:
                            src_a, a0, a_rs, a_cs = flat_a, r * lda + k0, lda, 1
                        if pack_a and pack_b:  # (a narrow last panel too: B's panel is NR wide)
                            tile_packed(Ap, ip * kc * MR, 1, MR, Bp, b0, NR,
                                        out, r * N + c, N, kc, m, n, accumulate)
                        elif pack_b:
                            tile_packed_b(src_a, a0, a_rs, a_cs, Bp, b0, NR,
                                          out, r * N + c, N, kc, m, n, accumulate)
                        elif narrow:
                            tile_narrow(src_a, a0, a_rs, a_cs, src_b, b0, b_rs,
                                                out, r * N + c, N, kc, m, n, accumulate)
                        else:
                            tile(src_a, a0, a_rs, a_cs, src_b, b0, b_rs,
                                         out, r * N + c, N, kc, m, n, accumulate)
# --8<-- [end:gemm_task]


# --8<-- [start:gemm_dispatch]
@njit(cache=True)
def _prepare(A, a_trans, B, b_trans, out, beta):
    """Scale ``out`` by beta (0 clears it, 1 keeps it), make A and B row-major; returns them with
    ``first`` (whether the first depth block accumulates onto out) and ``empty`` (nothing to multiply)."""
    M, N = out.shape
    K = A.shape[0] if a_trans else A.shape[1]
    if not out.flags.c_contiguous:
        raise ValueError("gemm: out must be C-contiguous")
    if beta != 0.0 and beta != 1.0:
        out *= beta
    empty = K == 0 or M == 0 or N == 0
    if empty and beta == 0.0:
        out[:] = 0.0
    return np.ascontiguousarray(A), np.ascontiguousarray(B), beta != 0.0, empty  # the micro-kernel takes row-major


@njit(cache=True)
def _gemm(A, a_trans, B, b_trans, out, beta):
    """out = op(A) @ op(B) + beta * out on this thread."""
    A, B, first, empty = _prepare(A, a_trans, B, b_trans, out, beta)
    if not empty:
        _sub_gemm(A, a_trans, B, b_trans, out, first, ZERO, out.shape[0], ZERO, out.shape[1])
    return out


@njit(cache=True)
def _thread_parts(M, N):
    """``(row parts, column parts)`` of a threaded product: one part per thread Numba runs now
    (``_threads_now``: read at each call, so ``numba.set_num_threads`` counts and the cached code
    carries no thread count), along the longer side of out ``(M, N)``."""
    parts = _threads_now()
    return (parts, 1) if M >= N else (1, parts)


@njit(cache=True, parallel={"prange": True})  # only the prange loop runs on the threads
def _gemm_threads(A, a_trans, B, b_trans, out, beta):
    """out = op(A) @ op(B) + beta * out, split in as many parts as Numba has threads now.

    Each part is an independent sub-product with its own packing, so one parallel region covers
    the whole call; parts split the rows of out, or its columns when out has fewer rows than
    columns (the copies of the operand that is not split then cost least).
    """
    A, B, first, empty = _prepare(A, a_trans, B, b_trans, out, beta)
    if empty:
        return out
    M, N = out.shape
    NR = _nr(out)
    row_parts, col_parts = _thread_parts(M, N)
    rows = ((M + MR - 1) // MR + row_parts - 1) // row_parts * MR  # whole micro-tiles per part
    cols = ((N + NR - 1) // NR + col_parts - 1) // col_parts * NR
    for t in prange(row_parts * col_parts):
        r0, c0 = min(M, t // col_parts * rows), min(N, t % col_parts * cols)
        r1, c1 = min(M, r0 + rows), min(N, c0 + cols)
        if r0 < r1 and c0 < c1:
            _sub_gemm(A, a_trans, B, b_trans, out, first, r0, r1, c0, c1)
    return out


# A product of fewer flops than this runs on one thread: waking another costs more than it saves.
SERIAL_BELOW = PARALLEL_FLOPS // 2 if THREADS > 1 else 1 << 62  # compared with M * N * K


# --8<-- [end:gemm_dispatch]


@njit(cache=True, fastmath=False)
def _scale_rows(out, beta, r0, r1):
    """out[r0:r1] *= beta, where beta == 0 means overwrite (old values, even NaN, ignored)."""
    if beta == 1.0:
        return
    zero = out.dtype.type(0)
    for i in range(r0, r1):  # loops, not slices: a slice's shape-check message costs seconds to compile
        for j in range(out.shape[1]):
            out[i, j] = zero if beta == 0.0 else out[i, j] * beta


# --8<-- [start:gemm_nt_dot]
# The one kernel with fastmath flags: a dot product vectorises only if LLVM may split its sum
# into vector lanes ("reassoc") and fuse multiply-adds ("contract"); NaN/inf semantics are kept.
@njit(cache=True, fastmath={"reassoc", "contract"}, boundscheck=False)
def _nt_dots(A, B, out, beta):
    """out[i, j] = A[i] . B[j] + beta * out[i, j], for few rows of A.

    Depth is cut in KC chunks so A's chunk stays in L1 while B streams through once; each
    B row chunk is dotted with four A rows at a time (one load of b feeds four FMAs).
    """
    wide_vectors()
    M, K = A.shape
    N = B.shape[0]
    _scale_rows(out, beta, ZERO, M)
    M4 = M - M % 4
    zero = out.dtype.type(0)  # not out[i, j] - out[i, j]: that is NaN once out holds an inf
    for k0 in range(0, K, KC):
        k1 = min(k0 + KC, K)
        for j in range(N):
            b = B[j, k0:k1]
            for i in range(0, M4, 4):
                a0, a1, a2, a3 = A[i, k0:k1], A[i + 1, k0:k1], A[i + 2, k0:k1], A[i + 3, k0:k1]
                s0 = s1 = s2 = s3 = zero
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
                s0 = zero
                for k in range(k1 - k0):
                    s0 += a0[k] * b[k]
                out[i, j] += s0
# --8<-- [end:gemm_nt_dot]


def gemm_nn(A: np.ndarray, B: np.ndarray, out: np.ndarray, beta: float) -> np.ndarray:
    """``out = A @ B + beta * out`` for A ``(M, K)``, B ``(K, N)``, out ``(M, N)``.

    Backprop's input gradient ``dX = dY @ W`` (the book's ``(w^{l+1})^T delta^{l+1}``, one
    row per sample). ``beta`` 0 overwrites ``out`` (its old values are ignored), 1 accumulates.
    Mirrors ``torch.addmm(out, A, B, beta=beta)``.
    """
    return (_gemm if out.size * A.shape[1] < SERIAL_BELOW else _gemm_threads)(A, False, B, False, out, beta)


def gemm_tn(A: np.ndarray, B: np.ndarray, out: np.ndarray, beta: float) -> np.ndarray:
    """``out = A.T @ B + beta * out`` for A ``(K, M)``, B ``(K, N)``, out ``(M, N)``.

    Backprop's weight gradient ``dW = dY.T @ X`` (``beta=1`` accumulates into ``.grad``).
    """
    return (_gemm if out.size * A.shape[0] < SERIAL_BELOW else _gemm_threads)(A, True, B, False, out, beta)


def gemm_nt(A: np.ndarray, B: np.ndarray, out: np.ndarray, beta: float) -> np.ndarray:
    """``out = A @ B.T + beta * out`` for A ``(M, K)``, B ``(N, K)``, out ``(M, N)``.

    The Linear layer's forward ``X @ W.T`` (the book's ``w a``, one row per sample). With
    fewer rows than two micro-tiles (the book's mini-batch of 10) a row of ``W`` is worth a
    dot product with each row of X rather than a transposed copy.
    """
    if A.shape[0] < 2 * MR:
        _nt_dots(A, B, out, beta)
        return out
    return (_gemm if out.size * A.shape[1] < SERIAL_BELOW else _gemm_threads)(A, False, B, True, out, beta)


# The three products inside other jitted code (on one thread), compiled only where a kernel uses them.
NO, YES = np.bool_(False), np.bool_(True)  # plain bools, not literals (see ZERO above)


@overload(gemm_nn, jit_options={"cache": True})
def _gemm_nn_jitted(A, B, out, beta):
    return lambda A, B, out, beta: _gemm(A, NO, B, NO, out, beta)


@overload(gemm_tn, jit_options={"cache": True})
def _gemm_tn_jitted(A, B, out, beta):
    return lambda A, B, out, beta: _gemm(A, YES, B, NO, out, beta)


@overload(gemm_nt, jit_options={"cache": True})
def _gemm_nt_jitted(A, B, out, beta):
    def impl(A, B, out, beta):
        if A.shape[0] < 2 * MR:
            _nt_dots(A, B, out, beta)
            return out
        return _gemm(A, NO, B, YES, out, beta)
    return impl
