"""cuda tier: the GEMM as a series of kernels, naive to register-blocked, each kept as it was.

Equals ``kernels/reference/gemm.py`` to rounding: every step sums ``out[i, j]`` over ``k = 0, 1,
..., K-1`` in order from a zero, as the reference does (a GPU may fuse the multiply and the add:
rounding, not order), and ``beta`` 0 overwrites ``out`` without reading it.

    out[i, j] = sum_k op(A)[i, k] op(B)[k, j] + beta out[i, j]

Each kernel takes ``(A, a_trans, B, b_trans, out, beta)``: ``op(A)`` is ``A`` ``(M, K)`` or, with
``a_trans``, ``A.T`` of an ``A`` stored ``(K, M)``; ``op(B)`` is ``B`` ``(K, N)`` or ``B.T`` of a
``(N, K)`` ``B``. One kernel serves the three products of backprop (``gemm_nn``, ``gemm_tn``,
``gemm_nt``, the launchers at the bottom): the flags are the same for every thread, so their
branches cost a warp nothing. The steps (llm.c's ``dev/cuda`` and minitorch's ``cuda_ops`` teach
the same path):

1. ``naive``: one thread per output, both operands read from global memory (2 loads per FMA).
2. ``tiled``: a block stages a ``T x T`` tile of each operand in shared memory, each loaded once
   by the whole block and then read ``T`` times (``2 / T`` global loads per FMA).
3. ``register_blocked``: each thread keeps a ``TM x TN`` tile of outputs in registers and a column
   of the A tile and a row of the B tile beside it: ``TM + TN`` shared loads feed ``TM TN`` FMAs.

Each step is a factory (its tile sizes are compile-time constants: a shared or register array
needs a constant shape) returning a ``Step``; ``NAIVE``, ``TILED`` and ``REGISTER`` are the sizes
the launchers use; the tests also build small ones, which the simulator runs quickly.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from numba import cuda

from .device import blocks


class Step(NamedTuple):
    """A GEMM kernel and its launch geometry: the ``(rows, cols)`` of ``out`` one block computes
    and its threads ``(x, y)``."""

    kernel: object
    tile: tuple[int, int]
    threads: tuple[int, int]
    name: str


# --8<-- [start:operands]
@cuda.jit(device=True)
def op_at(X, trans, r, c):
    """``op(X)[r, c]``: ``X[r, c]``, or ``X[c, r]`` when ``X`` is stored transposed."""
    return X[c, r] if trans else X[r, c]


@cuda.jit(device=True)
def load_tile(X, trans, r0, c0, R, C, T, ty, tx):
    """``T[r, c] = op(X)[r0 + r, c0 + c]`` (0 past op(X)'s ``R x C``) for the element of thread
    ``(ty, tx)``: ``(r, c) = (ty, tx)``, swapped when ``X`` is transposed, so that neighbouring
    ``tx`` always read neighbouring addresses of ``X`` (one coalesced load per warp)."""
    r, c = (tx, ty) if trans else (ty, tx)
    if r0 + r < R and c0 + c < C:
        T[r, c] = op_at(X, trans, r0 + r, c0 + c)
    else:
        T[r, c] = 0
# --8<-- [end:operands]


# --8<-- [start:naive]
@functools.cache
def naive(block: int = 16) -> Step:
    """Step 1: a ``block x block`` grid of threads, thread ``(x, y)`` computes ``out[i, j]`` for
    ``j = x`` and ``i = y`` of the block's tile; ``x`` is the fast thread index, so a warp writes a
    row segment of ``out`` and reads a row segment of ``op(B)`` (coalesced) while all its threads
    read the same ``op(A)[i, k]`` (a broadcast)."""

    @cuda.jit
    def gemm_naive(A, a_trans, B, b_trans, out, beta):
        j, i = cuda.grid(2)  # x -> column j, y -> row i
        M, N = out.shape
        if i >= M or j >= N:
            return
        K = A.shape[0] if a_trans else A.shape[1]
        s = out.dtype.type(0)
        for k in range(K):
            s += op_at(A, a_trans, i, k) * op_at(B, b_trans, k, j)
        out[i, j] = s if beta == 0.0 else s + beta * out[i, j]

    return Step(gemm_naive, (block, block), (block, block), "1: naive")
# --8<-- [end:naive]


# --8<-- [start:tiled]
@functools.cache
def tiled(T: int = 16) -> Step:
    """Step 2: a ``T x T`` block of threads computes a ``T x T`` tile of ``out``. For each depth
    slice ``k0 .. k0 + T`` the block copies ``op(A)[tile rows, slice]`` and ``op(B)[slice, tile
    cols]`` into shared memory (one element per thread, coalesced: ``load_tile``), waits, and
    each thread sums its row of one against its column of the other."""

    @cuda.jit
    def gemm_tiled(A, a_trans, B, b_trans, out, beta):
        As = cuda.shared.array((T, T), out.dtype)  # op(A)[i0 + r, k0 + c]
        Bs = cuda.shared.array((T, T), out.dtype)  # op(B)[k0 + r, j0 + c]
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        i0, j0 = cuda.blockIdx.y * T, cuda.blockIdx.x * T
        M, N = out.shape
        K = A.shape[0] if a_trans else A.shape[1]
        s = out.dtype.type(0)
        for k0 in range(0, K, T):
            load_tile(A, a_trans, i0, k0, M, K, As, ty, tx)
            load_tile(B, b_trans, k0, j0, K, N, Bs, ty, tx)
            cuda.syncthreads()  # the tiles are complete
            for kk in range(T):  # past K both tiles hold zeros: s += 0 * 0 changes nothing
                s += As[ty, kk] * Bs[kk, tx]
            cuda.syncthreads()  # everyone is done with them before the next slice overwrites
        i, j = i0 + ty, j0 + tx
        if i < M and j < N:
            out[i, j] = s if beta == 0.0 else s + beta * out[i, j]

    return Step(gemm_tiled, (T, T), (T, T), "2: shared-memory tiled")
# --8<-- [end:tiled]


# --8<-- [start:register]
@functools.cache
def register_blocked(BM: int = 128, BN: int = 128, BK: int = 8, TM: int = 8, TN: int = 8) -> Step:
    """Step 3: a block of ``(BN/TN) x (BM/TM)`` threads computes a ``BM x BN`` tile of ``out``,
    each thread ``TM x TN`` outputs held in registers: rows ``ty + r BM/TM`` and columns
    ``tx + c BN/TN`` (strided, so a warp still stores neighbouring columns and reads shared
    memory without bank conflicts). The depth advances ``BK`` at a time: the block's threads
    share the copy of ``op(A)`` into ``As[kk, r]`` (k-major, so a thread's column of it is one
    row) and of ``op(B)`` into ``Bs[kk, c]``; then for each ``kk`` a thread loads ``TM`` values of
    A and ``TN`` of B into registers and does ``TM TN`` multiply-adds with them."""
    TY, TX = BM // TM, BN // TN  # threads per block along the rows and the columns of out
    NT = TX * TY
    assert TY * TM == BM and TX * TN == BN, (BM, BN, TM, TN)

    @cuda.jit
    def gemm_register_blocked(A, a_trans, B, b_trans, out, beta):
        As = cuda.shared.array((BK, BM), out.dtype)  # As[kk, r] = op(A)[i0 + r, k0 + kk]
        Bs = cuda.shared.array((BK, BN), out.dtype)  # Bs[kk, c] = op(B)[k0 + kk, j0 + c]
        acc = cuda.local.array((TM, TN), out.dtype)  # this thread's outputs (registers)
        a = cuda.local.array(TM, out.dtype)
        b = cuda.local.array(TN, out.dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        t = ty * TX + tx
        i0, j0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        M, N = out.shape
        K = A.shape[0] if a_trans else A.shape[1]
        zero = out.dtype.type(0)  # (a literal 0 would make the selects below float64)
        for r in range(TM):
            for c in range(TN):
                acc[r, c] = zero
        for k0 in range(0, K, BK):
            # the NT threads copy the BK x BM and BK x BN slices; consecutive t read consecutive
            # addresses of the stored array (along k, or along i / j when it is transposed)
            for e in range(t, BK * BM, NT):
                r, kk = (e % BM, e // BM) if a_trans else (e // BK, e % BK)
                inside = i0 + r < M and k0 + kk < K
                As[kk, r] = op_at(A, a_trans, i0 + r, k0 + kk) if inside else zero
            for e in range(t, BK * BN, NT):
                c, kk = (e // BK, e % BK) if b_trans else (e % BN, e // BN)
                inside = j0 + c < N and k0 + kk < K
                Bs[kk, c] = op_at(B, b_trans, k0 + kk, j0 + c) if inside else zero
            cuda.syncthreads()
            for kk in range(BK):
                for r in range(TM):
                    a[r] = As[kk, ty + TY * r]
                for c in range(TN):
                    b[c] = Bs[kk, tx + TX * c]
                for r in range(TM):  # the outer product of a and b, into the registers
                    for c in range(TN):
                        acc[r, c] += a[r] * b[c]
            cuda.syncthreads()
        for r in range(TM):
            i = i0 + ty + TY * r
            for c in range(TN):
                j = j0 + tx + TX * c
                if i < M and j < N:
                    out[i, j] = acc[r, c] if beta == 0.0 else acc[r, c] + beta * out[i, j]

    return Step(gemm_register_blocked, (BM, BN), (TX, TY), "3: register-blocked")
# --8<-- [end:register]


def run(step: Step, A, a_trans: bool, B, b_trans: bool, out, beta: float):
    """Launch ``step`` over ``out`` ``(M, N)``: one block per ``step.tile`` of it; returns ``out``."""
    M, N = out.shape
    grid = (blocks(N, step.tile[1]), blocks(M, step.tile[0]))
    step.kernel[grid, step.threads](A, bool(a_trans), B, bool(b_trans), out, float(beta))
    return out


#: the steps as the series numbers them, at the sizes the launchers and the benchmarks use
STEPS = {1: naive(), 2: tiled(), 3: register_blocked()}
FASTEST = STEPS[3]


def gemm_nn(A, B, out, beta):
    """``out = A @ B + beta * out``: A ``(M, K)``, B ``(K, N)``, out ``(M, N)``, device arrays."""
    return run(FASTEST, A, False, B, False, out, beta)


def gemm_tn(A, B, out, beta):
    """``out = A.T @ B + beta * out``: A ``(K, M)``, B ``(K, N)``, out ``(M, N)``, device arrays."""
    return run(FASTEST, A, True, B, False, out, beta)


def gemm_nt(A, B, out, beta):
    """``out = A @ B.T + beta * out``: A ``(M, K)``, B ``(N, K)``, out ``(M, N)``, device arrays."""
    return run(FASTEST, A, False, B, True, out, beta)
