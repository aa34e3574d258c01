"""Fast tier (building blocks): the register tiles of matmul.py and conv.py; no reference of its own.
Made fast by writing the inner loops as LLVM IR vector code; what they compute is kernels/reference/.

The register-tiled micro-kernel every product of scratchnet runs on, in LLVM IR.

One call computes one tile of ``MR`` rows by ``NV`` vectors of an output, summing over a depth
``k``: ``C[i, j] (+)= sum_k A(i, k) B(k, j)``. The ``MR x NV`` accumulators live in registers for
the whole depth loop, so each multiply-add needs no load or store of C; that is what makes a
GEMM fast, and what a loop in Numba's Python could not get from LLVM (it keeps such
accumulators in memory because it cannot prove that arrays don't alias).

Where the operands' rows are comes in three forms, one intrinsic each:

- ``tile``: A(i, k) at ``A[a0 + i*a_rs + k*a_cs]``, B(k, :) at ``B[b0 + k*b_rs]``
  (packed panels, row-major matrices, or a transpose read in place);
- ``tile_gather_b``: B(k, :) at ``B[b0 + boff[k]]`` — a convolution's input window:
  depth ``k = (c, p, q)`` is a shifted row of the image;
- ``tile_gather_a``: A(i, k) at ``A[a0 + aoff[i] + k*a_cs]`` — the weight gradient of a
  convolution, whose rows ``i = (c, p, q)`` are shifted windows of the image.

``_narrow`` versions hold one vector per row, for a last tile that fits in one.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .machine import plan
from .vector_ir import Prefix, VectorOps

# The shape of the register tiles, chosen for the compile target by machine.py's rule
# (``scratchnet bench --explain`` prints the choice and why): with AVX-512, 64-byte vectors and
# 8 x 2 tiles; with AVX2, 32-byte vectors and 6 x 2 tiles (16 registers).
_PLAN = plan()
MR = _PLAN.mr                      # rows of a micro-tile
NV = _PLAN.nv                      # vectors per micro-tile row: NR = NV * VECTOR_BYTES / itemsize columns


# --8<-- [start:gemm_microkernel]
def _tile_kernel(nv: int, gather: str | None = None, packed_a: bool = False, b_full: bool = False):
    """The micro-kernel for tiles ``MR`` rows by ``nv`` vectors, as a Numba intrinsic:

    ``tile(A, a0, a_rs, a_cs, B, b0, b_rs, C, c0, ldc, kc, m, n, accumulate)`` computes
    ``C[c0 + i*ldc + j] (+)= sum_k A[a0 + i*a_rs + k*a_cs] * B[b0 + k*b_rs + j]``; with
    ``gather="a"`` the argument ``a_rs`` is an int64 array and row i starts at ``a0 + a_rs[i]``,
    with ``gather="b"`` ``b_rs`` is one and depth k's row of B starts at ``b0 + b_rs[k]``.

    For ``i < m <= MR`` and ``j < n <= NR``, ``k < kc``; ``accumulate`` False overwrites the tile
    (its old values, even NaN, are never read into the result). Written in LLVM IR because this
    is the one piece that must be exact about registers: the ``MR x NV`` vector accumulators live
    in phi nodes across the depth loop (nothing to spill or alias), each step loads NV vectors of
    a B row, broadcasts MR values of A and issues ``MR * NV`` fused multiply-adds. Columns past
    ``n`` are masked off; rows past ``m`` re-read row ``m - 1`` and are not stored. Each element
    is summed in k order with one rounding per term (``llvm.fma``), then added to C.

    Two variants drop work the general form needs: ``packed_a`` (A is a packed panel, ``a_rs = 1``,
    ``a_cs = MR``, with room for MR rows: constant offsets, no clamping) and ``b_full`` (every row
    of B may be read ``nv`` whole vectors wide, as in a packed panel or a padded image: the
    columns past ``n`` are computed and dropped, so no load in the depth loop is masked; a
    masked load costs twice a plain one on AVX2).
    """

    def codegen(context, builder, sig, args):
        A_, a0_, ars, acs, B_, b0_, brs, C_, c0_, ldc_, kc_, m_, n_, acc_flag = args
        ops = VectorOps(context, builder, sig.args[0].dtype)
        const, VL = ops.const, ops.VL
        pa, pb, pc = (builder.gep(context.make_array(t)(context, builder, v).data, [o])
                      for t, v, o in ((sig.args[0], A_, a0_), (sig.args[4], B_, b0_), (sig.args[7], C_, c0_)))
        last = builder.sub(m_, const(1))
        rows = [builder.select(builder.icmp_signed("<", const(i), m_), const(i), last)
                for i in range(MR)]  # rows past m read row m - 1: valid memory, result dropped
        if packed_a:  # a packed panel holds MR rows per depth (rows past m unused): constant offsets
            rows, acs = [const(i) for i in range(MR)], const(MR)
        elif gather == "a":  # row i starts at aoff[i]
            aoff = context.make_array(sig.args[2])(context, builder, ars).data
            rows = [builder.load(builder.gep(aoff, [r])) for r in rows]
        else:
            rows = [builder.mul(r, ars) for r in rows]
        if gather == "b":
            boff = context.make_array(sig.args[6])(context, builder, brs).data

        # Ask for the tile of C now: its rows are a whole row of out apart (often 4 KiB, the same
        # L1 set), missed at the store otherwise; the depth loop hides the wait.
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()] + [ops.i32] * 3),
            "llvm.prefetch.p0")
        for i in range(MR):
            row = builder.gep(pc, [builder.mul(const(i), ldc_)])
            for off in (0, nv * VL - 1):
                ptr = builder.bitcast(builder.gep(row, [const(off)]), ir.IntType(8).as_pointer())
                builder.call(prefetch, [ptr, ir.Constant(ops.i32, 1), ir.Constant(ops.i32, 3), ir.Constant(ops.i32, 1)])

        def emit(masks) -> None:  # the depth loop and the store, with these column masks
            entry = builder.basic_block
            loop, done = builder.append_basic_block("uk.loop"), builder.append_basic_block("uk.done")
            builder.cbranch(builder.icmp_signed(">", kc_, const(0)), loop, done)

            # --8<-- [start:gemm_microkernel_loop]
            builder.position_at_end(loop)  # one depth k: acc[i][v] += A[i, k] * B[k, v*VL:(v+1)*VL]
            k = builder.phi(ops.i64)
            acc = [[builder.phi(ops.vty) for _ in range(nv)] for _ in range(MR)]
            b_row = builder.gep(pb, [builder.load(builder.gep(boff, [k])) if gather == "b" else builder.mul(k, brs)])
            b = [ops.load(ops.vector_at(b_row, v * VL), None if b_full else masks[v]) for v in range(nv)]
            a_col = builder.gep(pa, [builder.mul(k, acs)])
            new = []
            for i in range(MR):
                a = ops.splat(builder.load(builder.gep(a_col, [rows[i]])))  # broadcast A[i, k]
                new.append([ops.fma(a, b[v], acc[i][v]) for v in range(nv)])
            k_next = builder.add(k, const(1))
            k.add_incoming(const(0), entry)
            k.add_incoming(k_next, loop)
            for i in range(MR):
                for v in range(nv):
                    acc[i][v].add_incoming(ops.zero, entry)
                    acc[i][v].add_incoming(new[i][v], loop)
            builder.cbranch(builder.icmp_signed("<", k_next, kc_), loop, done)
            # --8<-- [end:gemm_microkernel_loop]

            builder.position_at_end(done)  # C tile (+)= accumulators, row by row while i < m
            total = [[builder.phi(ops.vty) for _ in range(nv)] for _ in range(MR)]
            for i in range(MR):
                for v in range(nv):
                    total[i][v].add_incoming(ops.zero, entry)
                    total[i][v].add_incoming(new[i][v], loop)
            with builder.if_else(acc_flag) as (add, overwrite):
                for accumulate in (True, False):
                    with add if accumulate else overwrite:
                        for i in range(MR):
                            with builder.if_then(builder.icmp_signed("<", const(i), m_)):
                                row = builder.gep(pc, [builder.mul(const(i), ldc_)])
                                for v in range(nv):
                                    p, x = ops.vector_at(row, v * VL), total[i][v]
                                    if accumulate:
                                        x = builder.fadd(ops.load(p, masks[v]), x)
                                    ops.store(x, p, masks[v])

        # A full tile (n = NR, every tile but a last one) runs with masks that are constants,
        # which LLVM turns into plain loads and stores: a masked load costs extra micro-ops on
        # AVX2 (vmaskmov) though next to nothing with AVX-512's mask registers.
        with builder.if_else(builder.icmp_signed(">=", n_, const(nv * VL))) as (whole, part):
            with whole:
                emit([None] * nv)
            with part:
                emit([ops.mask(n_, v) for v in range(nv)])
        return context.get_dummy_value()

    def kernel(typingctx, A, a0, a_rs, a_cs, B, b0, b_rs, C, c0, ldc, kc, m, n, accumulate):
        if not (isinstance(A, types.Array) and A.dtype in (types.float32, types.float64)
                and B.dtype == A.dtype and C.dtype == A.dtype):
            return None
        for table, wanted in ((a_rs, gather == "a"), (b_rs, gather == "b")):
            if isinstance(table, types.Array) != wanted or (wanted and table.dtype != types.int64):
                return None
        return types.none(A, a0, a_rs, a_cs, B, b0, b_rs, C, c0, ldc, kc, m, n, accumulate), codegen

    kernel.__doc__ = _tile_kernel.__doc__
    return intrinsic(kernel)


tile = _tile_kernel(NV)                 # tiles NR = NV vectors wide
tile_narrow = _tile_kernel(1)           # a last tile that fits in one vector
tile_packed = _tile_kernel(NV, packed_a=True, b_full=True)   # A and B from packed panels
tile_packed_b = _tile_kernel(NV, b_full=True)                  # B from a packed panel, A anywhere
tile_gather_b = _tile_kernel(NV, "b", b_full=True)   # B's rows at offsets boff[k], each NR wide
tile_gather_b_narrow = _tile_kernel(1, "b", b_full=True)
tile_gather_a = _tile_kernel(NV, "a", b_full=True)   # A's rows at offsets aoff[i]; B's rows NR wide
tile_gather_a_narrow = _tile_kernel(1, "a", b_full=True)
# --8<-- [end:gemm_microkernel]


DR = _PLAN.dr  # rows of a dot tile (4)
DC = _PLAN.dc  # columns of a dot tile: DR x DC vector accumulators (4 with AVX-512, 2 with AVX2)


# --8<-- [start:dot_tile]
def _dot_codegen(context, builder, sig, args):
    A_, a0_, ars, B_, b0_, boff_, C_, c0_, ldc_, kc_, m_, n_, acc_flag = args
    ops = VectorOps(context, builder, sig.args[0].dtype)
    const, VL = ops.const, ops.VL

    def data(k, value):
        return context.make_array(sig.args[k])(context, builder, value).data

    pa, pb, pc = builder.gep(data(0, A_), [a0_]), builder.gep(data(3, B_), [b0_]), builder.gep(data(6, C_), [c0_])
    boff = data(5, boff_)

    def clamp(i, count):  # rows or columns past the tile's edge re-read the last one; not stored
        return builder.select(builder.icmp_signed("<", const(i), count), const(i), builder.sub(count, const(1)))

    a_rows = [builder.gep(pa, [builder.mul(clamp(i, m_), ars)]) for i in range(DR)]
    b_rows = [builder.gep(pb, [builder.load(builder.gep(boff, [clamp(j, n_)]))]) for j in range(DC)]
    entry = builder.basic_block
    loop, check = builder.append_basic_block("dot.loop"), builder.append_basic_block("dot.check")
    tail, done = builder.append_basic_block("dot.tail"), builder.append_basic_block("dot.done")
    whole = builder.sub(kc_, builder.srem(kc_, const(VL)))  # depths in whole vectors
    builder.cbranch(builder.icmp_signed(">", whole, const(0)), loop, check)

    def step(k, acc, mask):  # VL depths at once: acc[i][j] += A[i, k:k+VL] * B[j, k:k+VL]
        a = [ops.load(ops.vector_at(r, k), mask) for r in a_rows]
        b = [ops.load(ops.vector_at(r, k), mask) for r in b_rows]
        return [[ops.fma(a[i], b[j], acc[i][j]) for j in range(DC)] for i in range(DR)]

    def phis(incoming):  # DR x DC vector phis, one (values, block) pair per predecessor
        out = [[builder.phi(ops.vty) for _ in range(DC)] for _ in range(DR)]
        for values, block in incoming:
            for i in range(DR):
                for j in range(DC):
                    out[i][j].add_incoming(ops.zero if values is None else values[i][j], block)
        return out

    builder.position_at_end(loop)  # whole vectors: plain loads
    k = builder.phi(ops.i64)
    acc = phis([(None, entry)])
    new = step(k, acc, None)
    k_next = builder.add(k, const(VL))
    k.add_incoming(const(0), entry)
    k.add_incoming(k_next, loop)
    for i in range(DR):
        for j in range(DC):
            acc[i][j].add_incoming(new[i][j], loop)
    builder.cbranch(builder.icmp_signed("<", k_next, whole), loop, check)

    builder.position_at_end(check)  # fewer than VL depths left: one masked step (lanes past kc read 0)
    kt = builder.phi(ops.i64)
    kt.add_incoming(const(0), entry)
    kt.add_incoming(k_next, loop)
    acc_t = phis([(None, entry), (new, loop)])
    builder.cbranch(builder.icmp_signed("<", kt, kc_), tail, done)
    builder.position_at_end(tail)
    left = builder.sub(kc_, kt)
    new_t = step(kt, acc_t, Prefix(builder.icmp_signed("<", ops.lanes, ops.splat(left)), left))
    builder.branch(done)

    builder.position_at_end(done)  # each accumulator's lanes summed (any order), then into C
    total = phis([(acc_t, check), (new_t, tail)])
    elt = ops.vty.element
    reduce = cgutils.get_or_insert_function(builder.module, ir.FunctionType(elt, [elt, ops.vty]),
                                            f"llvm.vector.reduce.fadd.v{VL}f{sig.args[0].dtype.bitwidth}")
    zero = ir.Constant(elt, 0.0)
    for i in range(DR):
        for j in range(DC):
            inside = builder.and_(builder.icmp_signed("<", const(i), m_), builder.icmp_signed("<", const(j), n_))
            with builder.if_then(inside):
                # reassoc: a tree of vector adds instead of VL dependent scalar ones
                s = builder.call(reduce, [zero, total[i][j]], fastmath=("reassoc",))
                p = builder.gep(pc, [builder.add(builder.mul(const(i), ldc_), const(j))])
                old = builder.select(acc_flag, builder.load(p), zero)
                builder.store(builder.fadd(old, s), p)
    return context.get_dummy_value()


@intrinsic
def tile_dot(typingctx, A, a0, a_rs, B, b0, boff, C, c0, ldc, kc, m, n, accumulate):
    """``C[c0 + i*ldc + j] (+)= sum_k A[a0 + i*a_rs + k] * B[b0 + boff[j] + k]``, i < m, j < n.

    The dot-product form of the tile, for a product whose two operands are both contiguous
    along the depth (``A B^T``): ``DR x DC`` vector accumulators, each holding VL partial sums
    along k (masked past ``kc``), summed across lanes once at the end. A convolution's weight
    gradient has this shape: rows of dY against windows of the image, both running over the
    output positions. Up to ``m <= DR`` rows and ``n <= DC`` columns are stored.
    """
    if not (isinstance(A, types.Array) and A.dtype in (types.float32, types.float64) and B.dtype == A.dtype
            and C.dtype == A.dtype and isinstance(boff, types.Array) and boff.dtype == types.int64):
        return None
    return types.none(A, a0, a_rs, B, b0, boff, C, c0, ldc, kc, m, n, accumulate), _dot_codegen
# --8<-- [end:dot_tile]
