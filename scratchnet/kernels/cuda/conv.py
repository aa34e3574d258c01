"""cuda tier: stride-1 convolution and its gradients (``kernels/reference/conv.py``), direct.

Same signatures and layouts as the reference: X ``(N, C, H, W)``, W ``(C_out, C, kh, kw)``,
Y ``(N, C_out, Ho, Wo)`` with ``Ho = H + 2 ph - kh + 1``, ``Wo = W + 2 pw - kw + 1``:

    Y[n, o, i, j]  = b[o] + sum_{c,p,q} W[o, c, p, q] X[n, c, i + p - ph, j + q - pw]
    dX[n, c, y, x] = sum_{o,p,q} dY[n, o, y - p + ph, x - q + pw] W[o, c, p, q]
    dW[o, c, p, q] += sum_{n,i,j} dY[n, o, i, j] X[n, c, i + p - ph, j + q - pw]
    db[o]          += sum_{n,i,j} dY[n, o, i, j]          (the bias's: NumPy's sum on the CPU tiers)

The forward and the input gradient give one thread to each output (each input pixel), which runs
the reference's loops for its element in the reference's order (the same sum, to the last bit on
the simulator); ``j`` (``x``) is the fastest thread index, so a warp reads a row segment of the
image and the same filter tap (a broadcast). The weight gradient has few outputs (``C_out C kh
kw``) and long sums (``N Ho Wo`` terms), so it gives each weight a block, whose threads split the
``(n, i, j)`` positions and add their partial sums through shared memory; so does each output
channel's bias. Each output's thread walks a grid-stride loop (``device.elementwise``).
"""

from __future__ import annotations

from numba import cuda, float64

from .device import elementwise, reduce_threads, shared_bytes
from .pool import _unflatten
from .reduce import block_sum


# --8<-- [start:conv_forward]
@cuda.jit
def _conv2d_forward(X, W, b, ph, pw, out):
    N, C, H, Wd = X.shape
    Co, _, kh, kw = W.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        n, o, i, j = _unflatten(t, Co, Ho, Wo)
        s = out.dtype.type(0)
        for c in range(C):
            for p in range(kh):
                y = i + p - ph
                if y < 0 or y >= H:
                    continue
                for q in range(kw):
                    x = j + q - pw
                    if 0 <= x < Wd:  # a tap in the zero padding adds nothing
                        s += W[o, c, p, q] * X[n, c, y, x]
        out[n, o, i, j] = s + b[o]


def conv2d_forward(X, W, b, ph, pw, out):
    """``out[n, o, i, j] = b[o] + sum_{c,p,q} W[o, c, p, q] X[n, c, i + p - ph, j + q - pw]``.
    X ``(N, C, H, W)``, W ``(C_out, C, kh, kw)``, b ``(C_out,)``, out ``(N, C_out, Ho, Wo)``.
    One thread per output."""
    elementwise(_conv2d_forward, out.size, X, W, b, ph, pw, out)
    return out
# --8<-- [end:conv_forward]


@cuda.jit
def _conv2d_backward_input(dY, W, ph, pw, dX):
    N, C, H, Wd = dX.shape
    Co, _, kh, kw = W.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    for t in range(cuda.grid(1), dX.size, cuda.gridsize(1)):
        n, c, y, x = _unflatten(t, C, H, Wd)
        s = dX.dtype.type(0)
        for o in range(Co):
            for p in range(kh):
                i = y - p + ph
                if i < 0 or i >= Ho:
                    continue
                for q in range(kw):
                    j = x - q + pw
                    if 0 <= j < Wo:
                        s += dY[n, o, i, j] * W[o, c, p, q]
        dX[n, c, y, x] = s


def conv2d_backward_input(dY, W, ph, pw, dX):
    """``dX[n, c, y, x] = sum_{o,p,q} dY[n, o, y - p + ph, x - q + pw] W[o, c, p, q]``, written.
    dY ``(N, C_out, Ho, Wo)``, W ``(C_out, C, kh, kw)``, dX ``(N, C, H, W)``. One thread per pixel."""
    elementwise(_conv2d_backward_input, dX.size, dY, W, ph, pw, dX)
    return dX


# --8<-- [start:conv_weight]
@cuda.jit
def _conv2d_backward_weight(X, dY, ph, pw, dW):
    buf = cuda.shared.array(0, float64)
    N, C, H, Wd = X.shape
    Co, _, kh, kw = dW.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    o, c, p, q = _unflatten(cuda.blockIdx.x, C, kh, kw)  # this block's weight
    s = 0.0
    for e in range(cuda.threadIdx.x, N * Ho * Wo, cuda.blockDim.x):  # this thread's (n, i, j)
        j = e % Wo
        i = (e // Wo) % Ho
        n = e // (Ho * Wo)
        y, x = i + p - ph, j + q - pw
        if 0 <= y < H and 0 <= x < Wd:
            s += dY[n, o, i, j] * X[n, c, y, x]
    s = block_sum(buf, s)
    if cuda.threadIdx.x == 0:
        dW[o, c, p, q] += s


def conv2d_backward_weight(X, dY, ph, pw, dW):
    """``dW[o, c, p, q] += sum_{n,i,j} dY[n, o, i, j] X[n, c, i + p - ph, j + q - pw]``.
    X ``(N, C, H, W)``, dY ``(N, C_out, Ho, Wo)``, dW ``(C_out, C, kh, kw)`` accumulated into.
    One block per weight; its threads split the ``N Ho Wo`` terms and add through shared memory."""
    N, _, Ho, Wo = dY.shape
    threads = reduce_threads(N * Ho * Wo)
    _conv2d_backward_weight[dW.size, threads, 0, shared_bytes(threads)](X, dY, ph, pw, dW)
    return dW
# --8<-- [end:conv_weight]


@cuda.jit
def _conv2d_backward_bias(dY, db):
    buf = cuda.shared.array(0, float64)
    N, Co, Ho, Wo = dY.shape
    o = cuda.blockIdx.x
    s = 0.0
    for e in range(cuda.threadIdx.x, N * Ho * Wo, cuda.blockDim.x):  # this thread's (n, i, j)
        s += dY[e // (Ho * Wo), o, (e // Wo) % Ho, e % Wo]
    s = block_sum(buf, s)
    if cuda.threadIdx.x == 0:
        db[o] += s


def conv2d_backward_bias(dY, db):
    """``db[o] += sum_{n,i,j} dY[n, o, i, j]``: dY ``(N, C_out, Ho, Wo)``, db ``(C_out,)``. One block
    per output channel; its threads split the ``N Ho Wo`` terms and add through shared memory."""
    N, Co, Ho, Wo = dY.shape
    threads = reduce_threads(N * Ho * Wo)
    _conv2d_backward_bias[Co, threads, 0, shared_bytes(threads)](dY, db)
    return db
