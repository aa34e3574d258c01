"""cuda tier: max- and average-pooling of ``kernels/pool.py``, same signatures, on device arrays.

Forward: one thread per output ``(n, c, i, j)`` (flattened, ``j`` fastest, so a warp reads
neighbouring windows of one image row), scanning its window in the reference's order: the same
maximum and the same winner on ties (the first in row-major window order), the same sum.

Average-pool's backward gathers: one thread per *input* pixel adds the gradients of the outputs
whose window holds it, in the reference's order (``i`` then ``j``): each thread owns its pixel,
no atomics, the reference's result to the last bit. Max-pool's backward keeps the reference's
signature ``(dY, argmax, dX)``, which does not name the window a gather would need, so it
scatters, one thread per output, with an atomic add (see ``maxpool_backward``).

Output ``i`` covers input rows ``i sh - ph .. i sh - ph + kh - 1``, so row ``h`` lies in the
windows ``i`` from ``ceil((h + ph - kh + 1) / sh)`` to ``floor((h + ph) / sh)`` (clipped to
``[0, Ho)``); the same for the columns.
"""

from __future__ import annotations

from numba import cuda

from .device import elementwise
from .reduce import larger, smaller


@cuda.jit(device=True)
def _unflatten(t, C, H, W):
    """``t = ((n C + c) H + h) W + w`` -> ``(n, c, h, w)``."""
    w = t % W
    t //= W
    h = t % H
    t //= H
    return t // C, t % C, h, w


@cuda.jit(device=True)
def _windows(h, k, s, p, n_out):
    """The outputs ``[first, last)`` along one axis whose window (size k, stride s, pad p) holds ``h``."""
    first = larger(0, (h + p - k + s) // s)  # ceil((h + p - k + 1) / s), h + p - k + 1 > -s
    last = smaller(n_out, (h + p) // s + 1)
    return first, last


# --8<-- [start:maxpool]
@cuda.jit
def _maxpool_forward(X, kh, kw, sh, sw, ph, pw, out, argmax):
    N, C, H, W = X.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        n, c, i, j = _unflatten(t, C, Ho, Wo)
        best = -1
        m = X[n, c, 0, 0]
        for p in range(kh):
            h = i * sh + p - ph
            if h < 0 or h >= H:
                continue
            for q in range(kw):
                w = j * sw + q - pw
                if 0 <= w < W and (best < 0 or X[n, c, h, w] > m):  # strictly greater: the first wins ties
                    m = X[n, c, h, w]
                    best = h * W + w
        out[n, c, i, j] = m
        argmax[n, c, i, j] = best


def maxpool_forward(X, kh, kw, sh, sw, ph, pw, out, argmax):
    """``out[n, c, i, j]`` = the window's maximum, ``argmax`` its flat index ``h W + w`` (the first
    on ties). X ``(N, C, H, W)``; out, argmax (int64) ``(N, C, Ho, Wo)``. One thread per output."""
    elementwise(_maxpool_forward, out.size, X, kh, kw, sh, sw, ph, pw, out, argmax)
    return out


@cuda.jit
def _zero(X):
    for i in range(cuda.grid(1), X.size, cuda.gridsize(1)):
        X[i] = 0


@cuda.jit
def _maxpool_backward(dY, argmax, dX):
    N, C, H, W = dX.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    for t in range(cuda.grid(1), dY.size, cuda.gridsize(1)):
        n, c, i, j = _unflatten(t, C, Ho, Wo)
        a = argmax[n, c, i, j]
        cuda.atomic.add(dX, (n, c, a // W, a % W), dY[n, c, i, j])  # windows may share a winner


def maxpool_backward(dY, argmax, dX):
    """``dX[argmax] += dY`` into a zeroed ``dX``: each output's gradient reaches the one input that
    won its window. One thread per output; an atomic add, since overlapping windows (stride below
    the kernel) can share a winner: their gradients then add in the hardware's order (rounding
    only; torch's CUDA max-pool does the same). Non-overlapping windows add once per pixel."""
    elementwise(_zero, dX.size, dX.reshape(dX.size))
    elementwise(_maxpool_backward, dY.size, dY, argmax, dX)
    return dX


# --8<-- [end:maxpool]


@cuda.jit
def _avgpool_forward(X, kh, kw, sh, sw, ph, pw, out):
    N, C, H, W = X.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        n, c, i, j = _unflatten(t, C, Ho, Wo)
        s = 0.0
        for p in range(kh):
            h = i * sh + p - ph
            if 0 <= h < H:
                for q in range(kw):
                    w = j * sw + q - pw
                    if 0 <= w < W:
                        s += X[n, c, h, w]
        out[n, c, i, j] = s / (kh * kw)


def avgpool_forward(X, kh, kw, sh, sw, ph, pw, out):
    """``out`` = the window's mean, padded zeros counted (divisor ``kh kw``). One thread per output."""
    elementwise(_avgpool_forward, out.size, X, kh, kw, sh, sw, ph, pw, out)
    return out


@cuda.jit
def _avgpool_backward(dY, kh, kw, sh, sw, ph, pw, dX):
    N, C, H, W = dX.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    for t in range(cuda.grid(1), dX.size, cuda.gridsize(1)):
        n, c, h, w = _unflatten(t, C, H, W)
        i0, i1 = _windows(h, kh, sh, ph, Ho)
        j0, j1 = _windows(w, kw, sw, pw, Wo)
        s = dX.dtype.type(0)
        for i in range(i0, i1):
            for j in range(j0, j1):
                s += dY[n, c, i, j] / (kh * kw)
        dX[n, c, h, w] = s


def avgpool_backward(dY, kh, kw, sh, sw, ph, pw, dX):
    """``dX[window] += dY / (kh kw)`` for every window a pixel is in; one thread per input pixel."""
    elementwise(_avgpool_backward, dX.size, dY, kh, kw, sh, sw, ph, pw, dX)
    return dX
