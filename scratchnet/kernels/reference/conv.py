"""Stride-1 convolution and its two gradients as direct loops over the formula's indices.

The reference twins of ``kernels.conv.conv2d_forward``, ``conv2d_backward_input`` and
``conv2d_backward_weight``: same arguments, same results to rounding (the fast kernels run the
same sums on the GEMM micro-kernel, in another order). Layouts are PyTorch's: X ``(N, C, H, W)``,
W ``(C_out, C, kh, kw)``, Y ``(N, C_out, Ho, Wo)`` with ``Ho = H + 2 ph - kh + 1`` and
``Wo = W + 2 pw - kw + 1``: the kernel may be rectangular and the padding differ between the
rows (``ph``) and the columns (``pw``). Zero padding is not materialised: a tap that falls
outside the image is skipped (it would multiply a zero).

    Y[n, o, i, j]  = b[o] + sum_{c,p,q} W[o, c, p, q] X[n, c, i + p - ph, j + q - pw]
    dX[n, c, y, x] = sum_{o,p,q} dY[n, o, y - p + ph, x - q + pw] W[o, c, p, q]
    dW[o, c, p, q] += sum_{n,i,j} dY[n, o, i, j] X[n, c, i + p - ph, j + q - pw]
"""

from __future__ import annotations

from numba import njit


# --8<-- [start:conv_forward]
@njit(cache=True)
def conv2d_forward(X, W, b, ph, pw, out):
    """``out[n, o, i, j] = b[o] + sum_{c,p,q} W[o, c, p, q] X[n, c, i + p - ph, j + q - pw]``.

    X ``(N, C, H, W)``, W ``(C_out, C, kh, kw)``, b ``(C_out,)``, out ``(N, C_out, Ho, Wo)``:
    each output is the filter ``W[o]`` laid on the window of X at ``(i - ph, j - pw)``.
    """
    N, C, H, Wd = X.shape
    Co, _, kh, kw = W.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in range(N):
        for o in range(Co):
            for i in range(Ho):
                for j in range(Wo):
                    s = out.dtype.type(0)
                    for c in range(C):
                        for p in range(kh):
                            y = i + p - ph
                            if y < 0 or y >= H:
                                continue
                            for q in range(kw):
                                x = j + q - pw
                                if 0 <= x < Wd:
                                    s += W[o, c, p, q] * X[n, c, y, x]
                    out[n, o, i, j] = s + b[o]
    return out
# --8<-- [end:conv_forward]


# --8<-- [start:conv_input]
@njit(cache=True)
def conv2d_backward_input(dY, W, ph, pw, dX):
    """``dX[n, c, y, x] = sum_{o,p,q} dY[n, o, y - p + ph, x - q + pw] W[o, c, p, q]``.

    dY ``(N, C_out, Ho, Wo)``, W ``(C_out, C, kh, kw)``, dX ``(N, C, H, W)`` written (not
    accumulated). Input ``X[n, c, y, x]`` met filter tap ``(p, q)`` at output ``(y - p + ph,
    x - q + pw)``, so its gradient gathers those outputs' gradients: the "full" correlation of
    dY with the filters turned by 180 degrees.
    """
    N, C, H, Wd = dX.shape
    Co, _, kh, kw = W.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    for n in range(N):
        for c in range(C):
            for y in range(H):
                for x in range(Wd):
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
    return dX
# --8<-- [end:conv_input]


# --8<-- [start:conv_weight]
@njit(cache=True)
def conv2d_backward_weight(X, dY, ph, pw, dW):
    """``dW[o, c, p, q] += sum_{n,i,j} dY[n, o, i, j] X[n, c, i + p - ph, j + q - pw]``.

    X ``(N, C, H, W)``, dY ``(N, C_out, Ho, Wo)``, dW ``(C_out, C, kh, kw)`` accumulated into:
    tap ``(p, q)`` of filter ``o`` touched every window, so its gradient sums, over the samples
    and output positions, the output's gradient times the input the tap saw there.
    """
    N, C, H, Wd = X.shape
    Co, _, kh, kw = dW.shape
    Ho, Wo = dY.shape[2], dY.shape[3]
    for o in range(Co):
        for c in range(C):
            for p in range(kh):
                for q in range(kw):
                    s = dW.dtype.type(0)
                    for n in range(N):
                        for i in range(Ho):
                            y = i + p - ph
                            if y < 0 or y >= H:
                                continue
                            for j in range(Wo):
                                x = j + q - pw
                                if 0 <= x < Wd:
                                    s += dY[n, o, i, j] * X[n, c, y, x]
                    dW[o, c, p, q] += s
    return dW
# --8<-- [end:conv_weight]
