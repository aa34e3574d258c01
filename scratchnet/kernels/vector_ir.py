"""Fast tier (building blocks): LLVM IR for vector registers, shared by the kernels that need it.

What Numba's Python cannot promise, written as Numba intrinsics: vectors exactly as wide as the
target's registers, fused multiply-adds, loads and stores of the first ``n`` lanes only, and
copies that transpose small blocks in registers (for packing a GEMM's panels). The kernels built on
them (``microkernel.py``'s tiles, ``fused_mlp.py``, ``vmath.py``) each name the reference they equal.

Two lessons of the machines this ran on are written into it: LLVM prefers 256-bit vectors on
AVX-512 CPUs unless a function opts in (``allow_wide_vectors``), and AVX2's masked store
(``vmaskmov``) is microcoded on AMD's Zen cores (about 3.5 ns each, measured), so a partial store
never uses it; AVX-512's masked store (a mask register) is a single instruction, and is used.
"""

from __future__ import annotations

from typing import NamedTuple

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .machine import plan

VECTOR_BYTES = plan().vector_bytes  # bytes of one vector register
NV = plan().nv                      # vectors per micro-tile row (a strip copy is NV vectors)


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


class VectorOps:
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
        self._masked_store = cgutils.get_or_insert_function(
            module, ir.FunctionType(ir.VoidType(), [self.vty, self.vptr, self.i32, mty]),
            f"llvm.masked.store.{suffix}.p0")
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

        With AVX-512 a partial store is one masked store (a mask register: a single instruction
        on Intel's and AMD's cores alike). Without it, a partial store goes through a vector on
        the stack and a scalar loop over the first ``count`` lanes: AVX2's masked store
        (``vmaskmov``) is microcoded on AMD's Zen cores, a dozen cycles and more, and a loop keeps
        the code small (one switch per store, tried first, made the GEMM take minutes to compile).
        """
        b = self.builder
        if mask is None:
            b.store(x, ptr, align=self.size)
            return
        if VECTOR_BYTES == 64:
            b.call(self._masked_store, [x, ptr, self.align, mask.bits])
            return
        with b.if_else(b.icmp_signed(">=", mask.count, self.const(self.VL))) as (whole, part):
            with whole:  # a vector of a partial tile that is whole itself
                b.store(x, ptr, align=self.size)
            with part:
                buf = cgutils.alloca_once(b, self.vty)
                b.store(x, buf)
                src = b.bitcast(buf, self.vty.element.as_pointer())
                dst = b.bitcast(ptr, self.vty.element.as_pointer())
                with cgutils.for_range(b, mask.count) as loop:  # no iteration when count <= 0
                    b.store(b.load(b.gep(src, [loop.index])), b.gep(dst, [loop.index]), align=self.size)

    def fma(self, a, b, c):
        return self.builder.call(self._fma, [a, b, c])


# --8<-- [start:strip_copy]
def _strip_kernel(add: bool):
    """``dst[d0:d0+n] = src[s0:s0+n] (+ c)`` for ``n <= NR``: NV vector loads and stores (masked when partial).

    Packing and un-padding copy short strips; a NumPy slice per strip costs more than the copy.
    """

    def codegen(context, builder, sig, args):
        dst_, d0_, src_, s0_, n_ = args[:5]
        ops = VectorOps(context, builder, sig.args[0].dtype)
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
# --8<-- [end:strip_copy]




# --8<-- [start:shuffle_copy]
def _shuffle_codegen(rows: int, order: list[tuple[int, int]], strided: bool):
    """IR for: load ``rows`` vectors, row i at ``src[s0 + i*lds]``, and write their lanes in ``order``.

    ``order[p] = (i, k)`` puts lane k of row i at output position p; outputs go VL at a time,
    contiguous from ``dst[d0]``, or with ``strided`` chunk c at ``dst[d0 + c*ldd]``. The rows are
    concatenated into one wide vector and each output vector is one shuffle of it: the
    transposition happens in registers, never through memory.
    """

    def codegen(context, builder, sig, args):
        src_, s0_, lds_, dst_, d0_ = args[:5]
        ops = VectorOps(context, builder, sig.args[0].dtype)
        VL, i32 = ops.VL, ops.i32
        ps = builder.gep(context.make_array(sig.args[0])(context, builder, src_).data, [s0_])
        pd = builder.gep(context.make_array(sig.args[3])(context, builder, dst_).data, [d0_])
        vectors = [ops.load(ops.vector_at(builder.gep(ps, [builder.mul(lds_, ops.const(i))]), 0), None)
                   for i in range(rows)]
        while len(vectors) > 1:  # concatenate pairwise: lane i*VL + k of the result is row i's lane k
            if len(vectors) % 2:  # widen the odd one out with lanes that are never read
                last, width = vectors[-1], vectors[-1].type.count
                vectors[-1] = builder.shuffle_vector(last, last, ir.Constant(ir.VectorType(i32, 2 * width),
                                                                             list(range(width)) + [0] * width))
                vectors.append(None)
            vectors = [a if b is None else builder.shuffle_vector(
                a, b, ir.Constant(ir.VectorType(i32, 2 * a.type.count), list(range(2 * a.type.count))))
                for a, b in zip(vectors[::2], vectors[1::2], strict=True)]
        wide = vectors[0]
        for c in range(len(order) // VL):
            lanes = [i * VL + k for i, k in order[c * VL:(c + 1) * VL]]
            x = builder.shuffle_vector(wide, wide, ir.Constant(ir.VectorType(i32, VL), lanes))
            at = builder.mul(args[5], ops.const(c)) if strided else ops.const(c * VL)
            ops.store(x, ops.vector_at(pd, at), None)
        return context.get_dummy_value()

    return codegen


def _shuffle_kernel(kind: str):
    """One block of a packing copy, ``kind`` one of:

    - ``"transpose_rows"``: ``dst[d0 + k*MR + i] = src[s0 + i*lds + k]`` for ``i < MR``, ``k < VL``:
      VL depths of a packed A panel, from MR rows of a row-major A;
    - ``"gather_rows"``: ``dst[d0 + k*MR + i] = src[s0 + k*lds + i]`` for ``i < MR``, ``k < VL``:
      the same from A^T, whose rows hold MR consecutive values each (reads VL values a row, so
      it needs ``MR <= VL``);
    - ``"transpose_vl"``: ``dst[d0 + k*ldd + i] = src[s0 + i*lds + k]`` for ``i, k < VL``: a VL x VL
      block of a packed B panel from B^T (a panel of NV vectors takes NV of them side by side).

    The packing loops call these for whole blocks and copy the edges value by value.
    """
    mr = plan().mr

    def typed(src, dst):
        return isinstance(src, types.Array) and src.dtype in (types.float32, types.float64) and dst.dtype == src.dtype

    def lanes(dtype) -> int:
        return VECTOR_BYTES // (dtype.bitwidth // 8)

    if kind == "transpose_vl":
        def kernel(typingctx, src, s0, lds, dst, d0, ldd):
            if not typed(src, dst):
                return None
            vl = lanes(src.dtype)
            order = [(i, k) for k in range(vl) for i in range(vl)]
            return types.none(src, s0, lds, dst, d0, ldd), _shuffle_codegen(vl, order, True)
    else:
        def kernel(typingctx, src, s0, lds, dst, d0):
            if not typed(src, dst):
                return None
            vl = lanes(src.dtype)
            if kind == "transpose_rows":
                rows, order = mr, [(i, k) for k in range(vl) for i in range(mr)]
            else:
                rows, order = vl, [(k, i) for k in range(vl) for i in range(mr)]
            return types.none(src, s0, lds, dst, d0), _shuffle_codegen(rows, order, False)

    kernel.__doc__ = _shuffle_kernel.__doc__
    return intrinsic(kernel)


transpose_rows = _shuffle_kernel("transpose_rows")  # transpose_rows(src, s0, lds, dst, d0)
gather_rows = _shuffle_kernel("gather_rows")        # gather_rows(src, s0, lds, dst, d0)
transpose_vl = _shuffle_kernel("transpose_vl")      # transpose_vl(src, s0, lds, dst, d0, ldd)
# --8<-- [end:shuffle_copy]
