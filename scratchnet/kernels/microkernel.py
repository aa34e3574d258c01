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

from typing import NamedTuple

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .machine import plan

# The shape of the register tiles, chosen for the compile target by machine.py's rule
# (``scratchnet bench --explain`` prints the choice and why): with AVX-512, 64-byte vectors and
# 8 x 2 tiles; with AVX2, 32-byte vectors and 6 x 2 tiles (16 registers).
_PLAN = plan()
VECTOR_BYTES = _PLAN.vector_bytes  # bytes of one vector register
MR = _PLAN.mr                      # rows of a micro-tile
NV = _PLAN.nv                      # vectors per micro-tile row: NR = NV * VECTOR_BYTES / itemsize columns


def allow_wide_vectors(builder) -> None:
    """Let LLVM use 512-bit registers in the function being built.

    LLVM's tuning for AVX-512 CPUs prefers 256-bit vectors; GEMM-like code wants the full width,
    so kernels opt in per function (a no-op without AVX-512). String attributes llvmlite lacks.
    """
    if VECTOR_BYTES < 64:
        return
    for attr in ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"'):
        set.add(builder.function.attributes, attr)


class Prefix(NamedTuple):
    """The first ``count`` lanes of a vector (``count`` may be <= 0 or >= VL), as an i1 mask and as the count."""

    bits: ir.Value
    count: ir.Value


class _VectorOps:
    """LLVM IR helpers for one dtype: vectors of ``VECTOR_BYTES``, masked loads and stores, FMA."""

    def __init__(self, context, builder, dtype) -> None:
        self.builder = builder
        self.size = dtype.bitwidth // 8
        self.VL = VECTOR_BYTES // self.size
        self.vty = ir.VectorType(context.get_data_type(dtype), self.VL)
        self.vptr = self.vty.as_pointer()
        i1, self.i32, self.i64 = ir.IntType(1), ir.IntType(32), ir.IntType(64)
        mty = ir.VectorType(i1, self.VL)
        module, suffix = builder.module, f"v{self.VL}f{dtype.bitwidth}"
        self._fma = cgutils.get_or_insert_function(module, ir.FunctionType(self.vty, [self.vty] * 3),
                                                   f"llvm.fma.{suffix}")
        self._load = cgutils.get_or_insert_function(
            module, ir.FunctionType(self.vty, [self.vptr, self.i32, mty, self.vty]), f"llvm.masked.load.{suffix}.p0")
        allow_wide_vectors(builder)
        self.align = ir.Constant(self.i32, self.size)
        self.zero = ir.Constant(self.vty, [0.0] * self.VL)
        self.lanes = ir.Constant(ir.VectorType(self.i64, self.VL), list(range(self.VL)))

    def const(self, v: int) -> ir.Constant:
        return ir.Constant(self.i64, v)

    def splat(self, x, ty=None):
        """A vector of VL copies of the scalar x."""
        b = self.builder
        v = b.insert_element(ir.Constant(ir.VectorType(ty or x.type, self.VL), ir.Undefined), x,
                             ir.Constant(self.i32, 0))
        return b.shuffle_vector(v, v, ir.Constant(ir.VectorType(self.i32, self.VL), [0] * self.VL))

    def mask(self, n, v: int) -> Prefix:
        """Lanes of vector v (columns v*VL ...) that lie before column n."""
        count = self.builder.sub(n, self.const(v * self.VL))
        return Prefix(self.builder.icmp_signed("<", self.lanes, self.splat(count)), count)

    def vector_at(self, base, offset: int | ir.Value):
        off = self.const(offset) if isinstance(offset, int) else offset
        return self.builder.bitcast(self.builder.gep(base, [off]), self.vptr)

    def load(self, ptr, mask: Prefix | None):
        """The vector at ptr; with a mask, lanes past its count read as 0 (their memory untouched)."""
        if mask is None:
            return self.builder.load(ptr, align=self.size)
        return self.builder.call(self._load, [ptr, self.align, mask.bits, self.zero])

    def store(self, x, ptr, mask: Prefix | None) -> None:
        """Store x at ptr; with a mask, only its first ``count`` lanes.

        A partial store goes through a vector on the stack and a scalar loop over the first
        ``count`` lanes: AVX2's masked store (``vmaskmov``) is microcoded on AMD's Zen cores, a
        dozen cycles and more, and a loop keeps the code small (one switch per store, tried
        first, made the GEMM take minutes to compile).
        """
        b = self.builder
        if mask is None:
            b.store(x, ptr, align=self.size)
            return
        buf = cgutils.alloca_once(b, self.vty)
        b.store(x, buf)
        src = b.bitcast(buf, self.vty.element.as_pointer())
        dst = b.bitcast(ptr, self.vty.element.as_pointer())
        count = b.select(b.icmp_signed("<", mask.count, self.const(self.VL)), mask.count, self.const(self.VL))
        with cgutils.for_range(b, count) as loop:
            b.store(b.load(b.gep(src, [loop.index])), b.gep(dst, [loop.index]), align=self.size)

    def fma(self, a, b, c):
        return self.builder.call(self._fma, [a, b, c])


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
        ops = _VectorOps(context, builder, sig.args[0].dtype)
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
tile_packed_narrow = _tile_kernel(1, packed_a=True, b_full=True)
tile_packed_b = _tile_kernel(NV, b_full=True)                  # B from a packed panel, A anywhere
tile_packed_b_narrow = _tile_kernel(1, b_full=True)
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
    ops = _VectorOps(context, builder, sig.args[0].dtype)
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


def _strip_kernel(add: bool):
    """``dst[d0:d0+n] = src[s0:s0+n] (+ c)`` for ``n <= NR``: NV masked vector loads and stores.

    Packing and un-padding copy short strips; a NumPy slice per strip costs more than the copy.
    """

    def codegen(context, builder, sig, args):
        dst_, d0_, src_, s0_, n_ = args[:5]
        ops = _VectorOps(context, builder, sig.args[0].dtype)
        pd = builder.gep(context.make_array(sig.args[0])(context, builder, dst_).data, [d0_])
        ps = builder.gep(context.make_array(sig.args[2])(context, builder, src_).data, [s0_])

        def copy(masks) -> None:
            for v in range(NV):
                x = ops.load(ops.vector_at(ps, v * ops.VL), masks[v])
                if add:
                    x = builder.fadd(x, ops.splat(args[5]))
                ops.store(x, ops.vector_at(pd, v * ops.VL), masks[v])

        with builder.if_else(builder.icmp_signed(">=", n_, ops.const(NV * ops.VL))) as (whole, part):
            with whole:  # a whole strip: plain loads and stores
                copy([None] * NV)
            with part:
                copy([ops.mask(n_, v) for v in range(NV)])
        return context.get_dummy_value()

    def typed(dst, src):
        return isinstance(dst, types.Array) and dst.dtype in (types.float32, types.float64) and src.dtype == dst.dtype

    if add:
        def kernel(typingctx, dst, d0, src, s0, n, c):
            return (types.none(dst, d0, src, s0, n, dst.dtype), codegen) if typed(dst, src) else None
    else:
        def kernel(typingctx, dst, d0, src, s0, n):
            return (types.none(dst, d0, src, s0, n), codegen) if typed(dst, src) else None

    kernel.__doc__ = _strip_kernel.__doc__
    return intrinsic(kernel)


copy_strip = _strip_kernel(add=False)  # copy_strip(dst, d0, src, s0, n)
add_strip = _strip_kernel(add=True)    # add_strip(dst, d0, src, s0, n, c): the copy plus c


# --8<-- [start:transpose_block]
def _transpose_codegen(rows: int, ldd_is_rows: bool):
    def codegen(context, builder, sig, args):
        src_, s0_, lds_, dst_, d0_ = args[:5]
        ops = _VectorOps(context, builder, sig.args[0].dtype)
        VL, i32 = ops.VL, ops.i32
        ps = builder.gep(context.make_array(sig.args[0])(context, builder, src_).data, [s0_])
        pd = builder.gep(context.make_array(sig.args[3])(context, builder, dst_).data, [d0_])
        vectors = [ops.load(ops.vector_at(builder.gep(ps, [builder.mul(lds_, ops.const(i))]), 0), None)
                   for i in range(rows)]
        while len(vectors) > 1:  # concatenate: vector i holds row i's VL values, then all in one
            if len(vectors) % 2:
                last = vectors[-1]
                width = last.type.count
                vectors[-1] = builder.shuffle_vector(last, last, ir.Constant(ir.VectorType(i32, 2 * width),
                                                                             list(range(width)) + [0] * width))
                vectors.append(None)
            pairs = []
            for a, b in zip(vectors[::2], vectors[1::2], strict=True):
                if b is None:
                    pairs.append(a)
                    continue
                width = a.type.count
                pairs.append(builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(i32, 2 * width),
                                                                      list(range(2 * width)))))
            vectors = pairs
        allv = vectors[0]  # allv[i*VL + k] = src row i, depth k

        def gather(order):  # a vector of allv's lanes in this order
            return builder.shuffle_vector(allv, allv, ir.Constant(ir.VectorType(i32, VL), order))

        if ldd_is_rows:  # dst[d0 + k*rows + i] for k < VL, i < rows: rows*VL contiguous values
            flat = [divmod(pos, rows) for pos in range(rows * VL)]  # (k, i) of each output position
            for q in range(rows):
                order = [i * VL + k for k, i in flat[q * VL:(q + 1) * VL]]
                ops.store(gather(order), ops.vector_at(pd, q * VL), None)
        else:  # rows == VL: dst[d0 + k*ldd + i], one vector per k
            ldd_ = args[5]
            for k in range(VL):
                ops.store(gather([i * VL + k for i in range(rows)]),
                          ops.vector_at(pd, builder.mul(ldd_, ops.const(k))), None)
        return context.get_dummy_value()

    return codegen


def _transpose_kernel(rows: int | None):
    """``dst[d0 + k*ldd + i] = src[s0 + i*lds + k]`` for ``i < R``, ``k < VL``: one block of a transpose.

    ``R`` rows of VL values each are loaded as R vectors and written out depth by depth, the
    shuffles doing the transpose in registers (a scalar copy costs a load and a store per value,
    and a strided slice more). ``transpose_rows(src, s0, lds, dst, d0)`` has ``R = MR`` and
    ``ldd = MR``: one block of a packed A panel from a row-major A; ``transpose_vl(src, s0, lds,
    dst, d0, ldd)`` has ``R = VL``: a VL x VL block, each depth's VL values at ``d0 + k*ldd``
    (a packed B panel from B^T takes NV of them side by side).
    """

    def typed(src, dst):
        return isinstance(src, types.Array) and src.dtype in (types.float32, types.float64) and dst.dtype == src.dtype

    if rows is None:
        def kernel(typingctx, src, s0, lds, dst, d0, ldd):
            if not typed(src, dst):
                return None
            vl = VECTOR_BYTES // (src.dtype.bitwidth // 8)
            return types.none(src, s0, lds, dst, d0, ldd), _transpose_codegen(vl, False)
    else:
        def kernel(typingctx, src, s0, lds, dst, d0):
            return (types.none(src, s0, lds, dst, d0), _transpose_codegen(rows, True)) if typed(src, dst) else None

    kernel.__doc__ = _transpose_kernel.__doc__
    return intrinsic(kernel)


transpose_rows = _transpose_kernel(MR)   # MR rows x VL depths -> a packed A panel's VL depths
transpose_vl = _transpose_kernel(None)   # VL rows x VL depths -> VL depths of VL columns
# --8<-- [end:transpose_block]
