"""Max- and average-pooling over ``(N, C, H, W)`` windows, each forward beside its backward.

Max-pool remembers the flat index ``h*W + w`` of each window's maximum; on ties the first in
row-major window order wins (PyTorch's rule), and the whole gradient goes to that one input.
Average-pool counts padded zeros in the divisor (``count_include_pad=True``, PyTorch's default).
Windows are ``kh x kw``, moved by ``(sh, sw)`` over the image padded by ``(ph, pw)``, rows first
(PyTorch's pairs); ``H_out = (H + 2 ph - kh) // sh + 1``, ``W_out = (W + 2 pw - kw) // sw + 1``.
"""

from __future__ import annotations

from numba import prange

from .dispatch import serial_or_parallel


# --8<-- [start:maxpool]
@serial_or_parallel()
def maxpool_forward(X, kh, kw, sh, sw, ph, pw, out, argmax):
    """out[n, c, i, j] = max over the kh x kw window; argmax holds the winner's flat index."""
    N, C, H, W = X.shape
    Ho, Wo = out.shape[2], out.shape[3]
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0:  # every model's pool, unrolled
        for n in prange(N):
            for c in range(C):
                for i in range(Ho):
                    for j in range(Wo):
                        h, w = 2 * i, 2 * j
                        m, best = X[n, c, h, w], h * W + w
                        if X[n, c, h, w + 1] > m:
                            m, best = X[n, c, h, w + 1], h * W + w + 1
                        if X[n, c, h + 1, w] > m:
                            m, best = X[n, c, h + 1, w], (h + 1) * W + w
                        if X[n, c, h + 1, w + 1] > m:
                            m, best = X[n, c, h + 1, w + 1], (h + 1) * W + w + 1
                        out[n, c, i, j] = m
                        argmax[n, c, i, j] = best
        return out
    for n in prange(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best = -1
                    m = X[n, c, 0, 0]
                    for p in range(kh):
                        h = i * sh + p - ph
                        if h < 0 or h >= H:
                            continue
                        for q in range(kw):
                            w = j * sw + q - pw
                            if 0 <= w < W and (best < 0 or X[n, c, h, w] > m):
                                m = X[n, c, h, w]
                                best = h * W + w
                    out[n, c, i, j] = m
                    argmax[n, c, i, j] = best
    return out


@serial_or_parallel()
def maxpool_backward(dY, argmax, dX):
    """dX[argmax] += dY: each output's gradient goes to the single input that won."""
    N, C, H, W = dX.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    for n in prange(N):
        dX[n] = 0.0
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    a = argmax[n, c, i, j]
                    dX[n, c, a // W, a % W] += dY[n, c, i, j]
    return dX
# --8<-- [end:maxpool]


@serial_or_parallel()
def avgpool_forward(X, kh, kw, sh, sw, ph, pw, out):
    """out = mean over the kh x kw window, padded zeros included (divisor kh*kw)."""
    N, C, H, W = X.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in prange(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    s = 0.0
                    for p in range(kh):
                        h = i * sh + p - ph
                        if 0 <= h < H:
                            for q in range(kw):
                                w = j * sw + q - pw
                                if 0 <= w < W:
                                    s += X[n, c, h, w]
                    out[n, c, i, j] = s / (kh * kw)
    return out


@serial_or_parallel()
def avgpool_backward(dY, kh, kw, sh, sw, ph, pw, dX):
    """dX[window] += dY / (kh*kw) for every window the pixel belongs to."""
    N, C, H, W = dX.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    for n in prange(N):
        dX[n] = 0.0
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    g = dY[n, c, i, j] / (kh * kw)
                    for p in range(kh):
                        h = i * sh + p - ph
                        if 0 <= h < H:
                            for q in range(kw):
                                w = j * sw + q - pw
                                if 0 <= w < W:
                                    dX[n, c, h, w] += g
    return dX
