"""Convolution as im2col + the project's GEMM, and its two gradients through col2im.

Choice: im2col + GEMM rather than a direct 7-deep loop, because the GEMM is the one kernel
already blocked and vectorised; im2col costs one pass that writes ``kh*kw`` copies of the input
(``benchmarks/test_conv.py`` measures both sides). Layouts are PyTorch's: X ``(N, C, H, W)``,
W ``(C_out, C_in, kh, kw)``; zero padding ``pad`` and ``stride`` on both axes.

    H_out = (H + 2 pad - kh) // stride + 1            (same for W)
    cols[(n, i, j), (c, p, q)] = X[n, c, i*stride + p - pad, j*stride + q - pad]   (0 outside)
    Y[n, o, i, j] = sum_{c,p,q} W[o, c, p, q] cols[(n, i, j), (c, p, q)] + b[o]
"""

from __future__ import annotations

from numba import prange

from .dispatch import serial_or_parallel


def out_size(size: int, k: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling window sweep: ``(size + 2 pad - k) // stride + 1``."""
    return (size + 2 * pad - k) // stride + 1


# --8<-- [start:im2col]
@serial_or_parallel()
def im2col(X, kh, kw, stride, pad, cols):
    """cols ``(N*H_out*W_out, C*kh*kw)`` from X ``(N, C, H, W)``; zeros where the window is in padding."""
    N, C, H, W = X.shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    for n in prange(N):
        for i in range(Ho):
            for j in range(Wo):
                row = (n * Ho + i) * Wo + j
                for c in range(C):
                    for p in range(kh):
                        h = i * stride + p - pad
                        base = (c * kh + p) * kw
                        for q in range(kw):
                            w = j * stride + q - pad
                            if 0 <= h < H and 0 <= w < W:
                                cols[row, base + q] = X[n, c, h, w]
                            else:
                                cols[row, base + q] = 0.0
    return cols


@serial_or_parallel()
def col2im(dcols, kh, kw, stride, pad, dX):
    """The adjoint of im2col: dX ``(N, C, H, W)`` = sum of every column entry back to its pixel."""
    N, C, H, W = dX.shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    for n in prange(N):  # each sample's pixels are written by its own rows only: no races
        dX[n] = 0.0
        for i in range(Ho):
            for j in range(Wo):
                row = (n * Ho + i) * Wo + j
                for c in range(C):
                    for p in range(kh):
                        h = i * stride + p - pad
                        if h < 0 or h >= H:
                            continue
                        base = (c * kh + p) * kw
                        for q in range(kw):
                            w = j * stride + q - pad
                            if 0 <= w < W:
                                dX[n, c, h, w] += dcols[row, base + q]
    return dX
# --8<-- [end:im2col]


@serial_or_parallel()
def rows_to_nchw(Y_rows, b, out):
    """out[n, o, i, j] = Y_rows[(n, i, j), o] + b[o]: GEMM rows back to the image layout."""
    N, Co, Ho, Wo = out.shape
    for n in prange(N):
        for o in range(Co):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, o, i, j] = Y_rows[(n * Ho + i) * Wo + j, o] + b[o]
    return out


@serial_or_parallel()
def nchw_to_rows(dY, out):
    """out[(n, i, j), o] = dY[n, o, i, j] (the upstream gradient as GEMM rows)."""
    N, Co, Ho, Wo = dY.shape
    for n in prange(N):
        for i in range(Ho):
            for j in range(Wo):
                r = (n * Ho + i) * Wo + j
                for o in range(Co):
                    out[r, o] = dY[n, o, i, j]
    return out
