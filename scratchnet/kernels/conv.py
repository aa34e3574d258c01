"""Fast tier: ``conv2d_*`` equal ``kernels/reference/conv.py`` (direct loops), to rounding.
Made fast by running every window sum on the GEMM micro-kernel, read in place from the padded image.

Convolution: direct kernels for stride 1, im2col + the project's GEMM for other strides.

Choice, by measurement (``benchmarks/test_conv.py`` times both on every conv layer of the zoo):
the direct kernels feed the GEMM's register-tiled micro-kernel straight from the padded image,
through a table of window offsets, so each input value is read where it lies; im2col first
writes ``kh*kw`` copies of the input into a matrix, then multiplies it. On the zoo's layers
the copies cost as much as the products (and col2im's scatter-add as much again in the
backward pass), so the direct path is the default wherever it applies: stride 1, padding up
to ``k - 1`` — every model here. im2col + GEMM remains for strides above 1.
Layouts are PyTorch's: X ``(N, C, H, W)``, W ``(C_out, C_in, kh, kw)``. Kernels may be
rectangular; stride ``(sh, sw)`` and padding ``(ph, pw)`` are per dimension, rows first, as
PyTorch's pairs are.

    H_out = (H + 2 ph - kh) // sh + 1                 W_out = (W + 2 pw - kw) // sw + 1
    Y[n, o, i, j] = sum_{c,p,q} W[o, c, p, q] X[n, c, i*sh + p - ph, j*sw + q - pw] + b[o]
    cols[(n, i, j), (c, p, q)] = X[n, c, i*sh + p - ph, j*sw + q - pw]   (0 outside)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .dispatch import _threads_now, serial_or_parallel
from .machine import plan
from .matmul import PARALLEL_FLOPS
from .microkernel import (
    DC,
    DR,
    MR,
    NV,
    tile_dot,
    tile_gather_a,
    tile_gather_a_narrow,
    tile_gather_b,
    tile_gather_b_narrow,
)
from .reference import conv as reference_conv
from .vector_ir import VECTOR_BYTES, add_strip, copy_strip

CONV_IMAGE = plan().conv_image  # bytes: a padded image up to this size stays in L1 (scratchnet bench --explain)


def out_size(size: int, k: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling window sweep: ``(size + 2 pad - k) // stride + 1``."""
    return (size + 2 * pad - k) // stride + 1


# --8<-- [start:im2col]
@serial_or_parallel()
def im2col(X, kh, kw, sh, sw, ph, pw, cols):
    """cols ``(N*H_out*W_out, C*kh*kw)`` from X ``(N, C, H, W)``; zeros where the window is in padding."""
    N, C, H, W = X.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    for n in prange(N):
        for i in range(Ho):
            for j in range(Wo):
                row = (n * Ho + i) * Wo + j
                for c in range(C):
                    for p in range(kh):
                        h = i * sh + p - ph
                        base = (c * kh + p) * kw
                        for q in range(kw):
                            w = j * sw + q - pw
                            if 0 <= h < H and 0 <= w < W:
                                cols[row, base + q] = X[n, c, h, w]
                            else:
                                cols[row, base + q] = 0.0
    return cols


@serial_or_parallel()
def col2im(dcols, kh, kw, sh, sw, ph, pw, dX):
    """The adjoint of im2col: dX ``(N, C, H, W)`` = sum of every column entry back to its pixel."""
    N, C, H, W = dX.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    for n in prange(N):  # each sample's pixels are written by its own rows only: no races
        dX[n] = 0.0
        for i in range(Ho):
            for j in range(Wo):
                row = (n * Ho + i) * Wo + j
                for c in range(C):
                    for p in range(kh):
                        h = i * sh + p - ph
                        if h < 0 or h >= H:
                            continue
                        base = (c * kh + p) * kw
                        for q in range(kw):
                            w = j * sw + q - pw
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


# Direct convolution (stride 1): the micro-kernel of the GEMM, fed windows of the image in place.
#
# The padded image of one sample is a flat array; a window's depth index ``k = (c, p, q)`` is the
# offset ``koff[k] = c*Hp*Wp + p*Wp + q`` into it. Output positions run over the padded width,
# ``pos = i*Wp + j`` for ``j < Wp``, so that the input row of depth k for 32 consecutive
# positions is 32 consecutive values ``Xp[koff[k] + pos ...]``: the micro-kernel's B row. The
# ``Wp - Wo`` extra columns per output row are computed and dropped; nothing is copied nine
# times as im2col does.

# --8<-- [start:window_offsets]
@njit(cache=True)
def _window_offsets(C, kh, kw, Hp, Wp):
    """koff[(c*kh + p)*kw + q] = c*Hp*Wp + p*Wp + q: where depth (c, p, q) of a window starts."""
    koff = np.empty(C * kh * kw, np.int64)
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                koff[(c * kh + p) * kw + q] = (c * Hp + p) * Wp + q
    return koff


# --8<-- [end:window_offsets]


@njit(cache=True, boundscheck=False)
def _pad_sample(X, n, ph, pw, Xp):
    """Xp[c*Hp*Wp + (i + ph)*Wp + (j + pw)] = X[n, c, i, j]: one image, zero-padded, flat.

    Xp is zeros beyond the image (the border, and a tail that windows of the last rows read).
    """
    _, C, H, W = X.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Xp[:] = 0.0
    for c in range(C):
        for i in range(H):
            row = (c * Hp + i + ph) * Wp + pw
            for j in range(W):
                Xp[row + j] = X[n, c, i, j]


# --8<-- [start:direct_forward]
@njit(cache=True, boundscheck=False)
def _direct_samples(X, ph, pw, W2, kh, kw, koff, b, out, n0, n1):
    """out[n, o] = sum_k W2[o, k] Xp_n[koff[k] + pos] + b[o] for samples n0:n1."""
    _, C, H, Wd = X.shape
    _, Co, Ho, Wo = out.shape
    Hp, Wp = H + 2 * ph, Wd + 2 * pw
    K = C * kh * kw
    VL = VECTOR_BYTES // out.itemsize
    NR = NV * VL
    P = Ho * Wp
    Xp = np.empty(C * Hp * Wp + Wp + kw + NR, X.dtype)  # a padded image; the tail: whole-tile reads past the end
    Yp = np.empty(Co * P, out.dtype)                     # (C_out, Ho * Wp): rows over the padded width
    flat = out.reshape(out.size)
    image_in_l1 = C * Hp * Wp * X.itemsize <= CONV_IMAGE
    for n in range(n0, n1):
        _pad_sample(X, n, ph, pw, Xp)
        for a in range(0, Co if image_in_l1 else P, MR if image_in_l1 else NR):
            for c in range(0, P if image_in_l1 else Co, NR if image_in_l1 else MR):
                # the image in L1: a block of filters sweeps it; else a column of windows (K x NR)
                # stays in cache while every filter passes
                o0, p0 = (a, c) if image_in_l1 else (c, a)
                m, w = min(MR, Co - o0), min(NR, P - p0)
                if w <= VL:
                    tile_gather_b_narrow(W2, o0 * K, K, 1, Xp, p0, koff, Yp, o0 * P + p0, P, K, m, w, False)
                else:
                    tile_gather_b(W2, o0 * K, K, 1, Xp, p0, koff, Yp, o0 * P + p0, P, K, m, w, False)
        for o in range(Co):                          # drop the extra columns, add the bias
            for i in range(Ho):
                dst = ((n * Co + o) * Ho + i) * Wo
                for j0 in range(0, Wo, NR):
                    add_strip(flat, dst + j0, Yp, o * P + i * Wp + j0, min(NR, Wo - j0), b[o])


# --8<-- [end:direct_forward]


@njit(cache=True)
def _sample_parts(N):
    """How many shares of ``N`` samples the threads take: one per thread Numba runs now
    (``_threads_now``: read at each call, never frozen into the cached code)."""
    return min(N, _threads_now())


@njit(cache=True, parallel=True)
def _direct_parallel(X, ph, pw, W2, kh, kw, koff, b, out, parts):
    N = X.shape[0]
    per = (N + parts - 1) // parts
    for t in prange(parts):
        _direct_samples(X, ph, pw, W2, kh, kw, koff, b, out, min(N, t * per), min(N, (t + 1) * per))


@njit(cache=True)
def conv2d_forward(X, W, b, ph, pw, out):
    """``out[n, o, i, j] = sum_{c,p,q} W[o, c, p, q] X[n, c, i + p - ph, j + q - pw] + b[o]``.

    Stride 1, zero padding ``ph`` rows and ``pw`` columns; X ``(N, C, H, W)``, W ``(C_out, C, kh,
    kw)``, b ``(C_out,)``, out ``(N, C_out, H + 2 ph - kh + 1, W + 2 pw - kw + 1)``. Samples are
    shared among the threads when the work is large enough.
    """
    N, C, H, Wd = X.shape
    Co, _, kh, kw = W.shape
    Hp, Wp = H + 2 * ph, Wd + 2 * pw
    koff = _window_offsets(C, kh, kw, Hp, Wp)
    W2 = np.ascontiguousarray(W).reshape(W.size)       # (C_out, K) row-major
    if N > 1 and 2 * N * Co * out.shape[2] * Wp * C * kh * kw >= PARALLEL_FLOPS:
        _direct_parallel(X, ph, pw, W2, kh, kw, koff, b, out, _sample_parts(N))
    else:
        _direct_samples(X, ph, pw, W2, kh, kw, koff, b, out, 0, N)
    return out


# --8<-- [start:direct_input]
@njit(cache=True)
def conv2d_backward_input(dY, W, ph, pw, dX):
    """``dX = dY (*) rot180(W)^T``: the full correlation, as a forward pass with padding k-1-pad.

    ``dX[n, c, y, x] = sum_{o,p,q} dY[n, o, y - p + ph, x - q + pw] W[o, c, p, q]``: with dY
    padded by ``kh - 1 - ph`` rows and ``kw - 1 - pw`` columns it is a plain correlation with the
    flipped filters ``W'[c, o, p, q] = W[o, c, kh-1-p, kw-1-q]``. Needs ``ph <= kh - 1`` and
    ``pw <= kw - 1``.
    """
    kh, kw = W.shape[2], W.shape[3]
    if ph > kh - 1 or pw > kw - 1:
        raise ValueError("conv2d_backward_input: needs padding <= kernel size - 1 in each dimension")
    Wf = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, C_out, kh, kw)
    return conv2d_forward(dY, Wf, np.zeros(Wf.shape[0], dY.dtype), kh - 1 - ph, kw - 1 - pw, dX)


# --8<-- [end:direct_input]


# --8<-- [start:direct_weight]
@njit(cache=True, boundscheck=False)
def _weight_samples(X, dY, ph, pw, kh, kw, koff, dWT, n0, n1):
    """dWT[k, o] = sum_{n0 <= n < n1} sum_pos Xp_n[koff[k] + pos] dYt_n[pos, o] (overwritten).

    Per sample: its padded image Xp_n, and dY_n transposed to rows over the padded width
    ``dYt_n[i*Wp + j, o] = dY[n, o, i, j]`` (zeros for j >= Wo); both stay in cache for the tiles.
    """
    _, C, H, Wd = X.shape
    _, Co, Ho, Wo = dY.shape
    Hp, Wp = H + 2 * ph, Wd + 2 * pw
    K = koff.shape[0]
    VL = VECTOR_BYTES // dWT.itemsize
    NR = NV * VL
    P = Ho * Wp
    Xp = np.empty(C * Hp * Wp + Wp + kw, X.dtype)
    dYt = np.zeros(P * Co + NR, dY.dtype)            # (Ho * Wp, C_out), then room for a whole-tile read
    for n in range(n0, n1):
        _pad_sample(X, n, ph, pw, Xp)
        for i in range(Ho):
            for j in range(Wo):
                r = (i * Wp + j) * Co
                for o in range(Co):
                    dYt[r + o] = dY[n, o, i, j]
        for k0 in range(0, K, MR):
            m = min(MR, K - k0)
            aoff = koff[k0:]
            for c0 in range(0, Co, NR):
                w = min(NR, Co - c0)
                if w <= VL:
                    tile_gather_a_narrow(Xp, 0, aoff, 1, dYt, c0, Co, dWT, k0 * Co + c0, Co, P, m, w, n > n0)
                else:
                    tile_gather_a(Xp, 0, aoff, 1, dYt, c0, Co, dWT, k0 * Co + c0, Co, P, m, w, n > n0)


@njit(cache=True, boundscheck=False)
def _weight_samples_dot(X, dY, ph, pw, kh, kw, koff, dW2, n0, n1):
    """dW2[o, k] = sum_{n0 <= n < n1} sum_pos dYw_n[o, pos] Xp_n[koff[k] + pos] (overwritten).

    The dot-product form, for few windows (a first layer: ``C*kh*kw`` of 9 or 25): both operands
    run contiguously along the positions, so dY needs no transposing, only its rows laid over
    the padded width ``dYw_n[o, i*Wp + j] = dY[n, o, i, j]`` (zeros for j >= Wo).
    """
    _, C, H, Wd = X.shape
    _, Co, Ho, Wo = dY.shape
    Hp, Wp = H + 2 * ph, Wd + 2 * pw
    K = koff.shape[0]
    NR = NV * (VECTOR_BYTES // dW2.itemsize)
    P = Ho * Wp
    Xp = np.empty(C * Hp * Wp + Wp + kw, X.dtype)
    dYw = np.zeros(Co * P, dY.dtype)                 # (C_out, Ho * Wp)
    for n in range(n0, n1):
        _pad_sample(X, n, ph, pw, Xp)
        for o in range(Co):
            for i in range(Ho):
                for j0 in range(0, Wo, NR):
                    copy_strip(dYw, o * P + i * Wp + j0, dY[n, o, i], j0, min(NR, Wo - j0))
        for o0 in range(0, Co, DR):
            for k0 in range(0, K, DC):
                tile_dot(dYw, o0 * P, P, Xp, 0, koff[k0:], dW2, o0 * K + k0, K, P,
                         min(DR, Co - o0), min(DC, K - k0), n > n0)


# --8<-- [end:direct_weight]


@njit(cache=True, parallel=True)
def _weight_parallel(X, dY, ph, pw, kh, kw, koff, sums, dot):
    N, parts = X.shape[0], sums.shape[0]
    per = (N + parts - 1) // parts
    for t in prange(parts):
        n0, n1 = min(N, t * per), min(N, (t + 1) * per)
        if dot:
            _weight_samples_dot(X, dY, ph, pw, kh, kw, koff, sums[t], n0, n1)
        else:
            _weight_samples(X, dY, ph, pw, kh, kw, koff, sums[t], n0, n1)


@njit(cache=True)
def _any_nan(X) -> bool:
    """Whether X holds a NaN (stops at the first)."""
    for v in X.reshape(-1):
        if math.isnan(v):
            return True
    return False


DOT_MAX_WINDOWS = 32  # up to this many windows C*kh*kw, the dot form (measured: 9 and 25 win)


@njit(cache=True)
def conv2d_backward_weight(X, dY, ph, pw, dW):
    """``dW[o, c, p, q] += sum_{n,i,j} dY[n, o, i, j] X[n, c, i + p - ph, j + q - pw]``.

    Stride 1; X ``(N, C, H, W)``, dY ``(N, C_out, Ho, Wo)``, dW ``(C_out, C, kh, kw)`` accumulated
    into. Computed as ``dW^T (K, C_out)``: its rows are windows ``koff[k]`` of the padded image,
    its depth every output position; for few windows, in the dot-product form. Threads take
    shares of the samples, then their sums add.

    The tiles also run over the ``Wp - Wo`` columns past each output row, where dY is laid as
    zeros, so they multiply those zeros by real pixels: an ``inf`` there would make ``0 * inf =
    NaN`` in a sum that should not see it. So when the sums hold a NaN (only then: a 0 times a
    finite pixel adds nothing), they are thrown away and the reference loops, which visit only
    real output positions, compute dW instead (a NaN of the data itself comes out again).
    """
    N, C, H, Wd = X.shape
    Co, _, kh, kw = dW.shape
    Wp = Wd + 2 * pw
    K = C * kh * kw
    koff = _window_offsets(C, kh, kw, H + 2 * ph, Wp)
    parts = _sample_parts(N) if 2 * N * Co * dY.shape[2] * Wp * K >= PARALLEL_FLOPS else 1
    dot = K <= DOT_MAX_WINDOWS
    sums = np.zeros((parts, K * Co), dW.dtype)         # per thread: (C_out, K) if dot, else (K, C_out)
    if parts > 1:
        _weight_parallel(X, dY, ph, pw, kh, kw, koff, sums, dot)
    elif dot:
        _weight_samples_dot(X, dY, ph, pw, kh, kw, koff, sums[0], 0, N)
    else:
        _weight_samples(X, dY, ph, pw, kh, kw, koff, sums[0], 0, N)
    if _any_nan(sums):
        return reference_conv.conv2d_backward_weight(X, dY, ph, pw, dW)
    dW2 = dW.reshape(Co, K)
    for t in range(parts):
        for o in range(Co):
            for k in range(K):
                dW2[o, k] += sums[t, o * K + k] if dot else sums[t, k * Co + o]
    return dW
