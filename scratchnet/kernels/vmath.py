"""``exp`` and ``log`` in float64 as plain arithmetic, so that a loop calling them vectorises.

``math.exp`` and ``math.log`` compile to calls into the C library, one value per call: a loop
over 100,000 pixels that takes a log of each spends nearly all its time in those calls, and
LLVM cannot put a call in SIMD lanes (NumPy's own ``np.log`` is some ten times faster for that
reason). The two functions here are the C library's algorithms (fdlibm's, which glibc's
descend from) written out as multiply-adds, comparisons and selects, with the IEEE bit
pattern read and written through ``view``: Numba inlines them (``inline="always"``) and LLVM
runs a loop of them several float64 lanes at a time. Their results are within one unit in the
last place of ``math.exp`` and ``math.log``, with the same answers at 0, the infinities, NaN
and the subnormals (``tests/test_vmath.py`` measures the ulps over the whole range). They run
as written under ``NUMBA_DISABLE_JIT=1`` (``view`` is NumPy's there too).

A kernel that calls them vectorises when it is compiled with ``error_model="numpy"`` (the
Python error model puts a zero-division check, a branch, before every division) and calls
``wide_vectors()`` first (eight lanes with AVX-512 rather than LLVM's default four);
``fastmath={"contract"}`` lets the multiply-adds fuse (about 1.6x more).

    exp(x) = 2^n e^r,   n = round(x / ln 2),  r = x - n ln 2 in [-ln2/2, ln2/2]
             e^r by its Taylor series to r^13 (the first term left out is below 2^-53 e^r)
    log(x) = k ln 2 + log(1 + f),   x = 2^k (1 + f),  1 + f in [sqrt(2)/2, sqrt(2))
             log(1 + f) = 2s + 2s^3/3 + 2s^5/5 + ...,  s = f / (2 + f)  (fdlibm's Lg1..Lg7)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

from .vector_ir import allow_wide_vectors

# ln 2 in two pieces: LN2_HI has 32 trailing zero bits, so n * LN2_HI is exact for |n| < 2^21
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
EXP_OVERFLOW = 7.09782712893383973096e02    # above this e^x is inf in float64
EXP_UNDERFLOW = -7.45133219101941108420e02  # below this e^x rounds to 0
MIN_NORMAL = 2.2250738585072014e-308
SQRT2 = 1.4142135623730951
# fdlibm e_log.c: log(1+f) = f - hfsq + s (hfsq + R(s^2)), R ~ Lg1 z + Lg2 z^2 + ... + Lg7 z^7
LG1, LG2, LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
LG4, LG5, LG6 = 2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01
LG7 = 1.479819860511658591e-01


def wide_vectors() -> None:
    """Let LLVM vectorise the calling kernel with 512-bit registers where the CPU has them.

    LLVM's tuning for AVX-512 CPUs prefers 256-bit vectors; a loop of ``exp`` or ``log`` (or a
    dot product) gains from the full width. A no-op in plain Python and without AVX-512.
    """


@intrinsic
def _wide_vectors_intrinsic(typingctx):
    def codegen(context, builder, sig, args):
        allow_wide_vectors(builder)
        return context.get_dummy_value()

    return types.none(), codegen


@overload(wide_vectors, jit_options={"cache": True})
def _wide_vectors_jit():
    return lambda: _wide_vectors_intrinsic()


@njit(cache=True, inline="always")
def _pow2(n):
    """``2.0 ** n`` for an integer-valued float ``n`` in [-1022, 1023], from its bit pattern."""
    return np.int64((np.int64(n) + 1023) << 52).view(np.float64)


# --8<-- [start:exp]
@njit(cache=True, inline="always")
def exp(x):
    """``e^x`` for a float64 ``x`` (a float32 is widened), within 1 ulp of ``math.exp``."""
    x = np.float64(x)
    xc = x if x > EXP_UNDERFLOW else EXP_UNDERFLOW  # clamped (NaN too) so that nothing below
    xc = xc if xc < EXP_OVERFLOW else EXP_OVERFLOW  # overflows; the ends are set at the return
    n = np.floor(xc * INV_LN2 + 0.5)                # the nearest integer to x / ln 2
    r = (xc - n * LN2_HI) - n * LN2_LO              # |r| <= ln 2 / 2, to within 2^-60
    p = 1.0 / 6227020800.0                          # Horner: 1 + r + r^2/2! + ... + r^13/13!
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    h = np.floor(n * 0.5)                           # 2^n in two factors: n runs -1075 ... 1024
    y = p * _pow2(h) * _pow2(n - h)
    special = math.inf if x > EXP_OVERFLOW else (0.0 if x < EXP_UNDERFLOW else x)  # x: NaN
    return y if (x >= EXP_UNDERFLOW) & (x <= EXP_OVERFLOW) else special
# --8<-- [end:exp]


# --8<-- [start:log]
@njit(cache=True, inline="always")
def log(x):
    """``ln x`` for a float64 ``x`` (a float32 is widened), within 1 ulp of ``math.log``;
    ``log(0) = -inf``, ``log(x < 0) = nan``, ``log(inf) = inf`` as in NumPy."""
    x = np.float64(x)
    tiny = (x < MIN_NORMAL) & (x > 0.0)             # subnormal: scale it up into the normals
    bits = np.float64(x * 18014398509481984.0 if tiny else x).view(np.int64)  # 2^54
    e = np.float64(((bits >> 52) & 0x7FF) - 1023) - (54.0 if tiny else 0.0)
    m = np.int64((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000).view(np.float64)  # [1, 2)
    big = m > SQRT2                                 # keep 1 + f in [sqrt(2)/2, sqrt(2))
    k = e + 1.0 if big else e
    f = (m * 0.5 if big else m) - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    hfsq = 0.5 * f * f
    y = k * LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + k * LN2_LO)) - f)
    special = math.nan if (x < 0.0) | (x != x) else (-math.inf if x == 0.0 else x)
    return y if (x > 0.0) & (x < math.inf) else special
# --8<-- [end:log]
