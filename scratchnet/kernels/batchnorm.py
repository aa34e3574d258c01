"""Batch normalisation over ``(N, C, S)`` (S = H*W for images, 1 for features), forward and backward.

Training normalises each channel with the batch's mean and *biased* variance over M = N*S
values; the module keeps the *unbiased* variance in its running estimate (PyTorch's rule).

    x_hat = (x - mu) / sqrt(var + eps),      y = gamma x_hat + beta
    dbeta = sum dy,   dgamma = sum dy x_hat,
    dx = gamma / (M sqrt(var + eps)) * (M dy - sum dy - x_hat sum dy x_hat)
"""

from __future__ import annotations

import math

from numba import prange

from .dispatch import serial_or_parallel

# The per-channel sums may be added in any order ("reassoc"), so that they vectorise; every
# other operation is IEEE as written. ``error_model="numpy"`` is not needed: no division in a loop.
SUMS = {"reassoc"}


# --8<-- [start:batchnorm]
@serial_or_parallel(fastmath=SUMS)
def batchnorm_train_forward(X, gamma, beta, eps, Y, xhat, mean, var, invstd):
    """Per channel c: mean, biased var over (N, S); fills Y, xhat and the saved statistics."""
    N, C, S = X.shape
    M = N * S
    for c in prange(C):
        s = 0.0
        for n in range(N):
            for k in range(S):
                s += X[n, c, k]
        mu = s / M
        v = 0.0
        for n in range(N):
            for k in range(S):
                d = X[n, c, k] - mu
                v += d * d
        v /= M
        r = 1.0 / math.sqrt(v + eps)
        mean[c], var[c], invstd[c] = mu, v, r
        for n in range(N):
            for k in range(S):
                xh = (X[n, c, k] - mu) * r
                xhat[n, c, k] = xh
                Y[n, c, k] = gamma[c] * xh + beta[c]


@serial_or_parallel(fastmath=SUMS)
def batchnorm_train_backward(dY, xhat, gamma, invstd, dX, dgamma, dbeta):
    """dX from the formula above; dgamma, dbeta ACCUMULATE (+=) like every parameter gradient."""
    N, C, S = dY.shape
    M = N * S
    for c in prange(C):
        sdy = 0.0
        sdyx = 0.0
        for n in range(N):
            for k in range(S):
                sdy += dY[n, c, k]
                sdyx += dY[n, c, k] * xhat[n, c, k]
        dgamma[c] += sdyx
        dbeta[c] += sdy
        scale = gamma[c] * invstd[c] / M
        for n in range(N):
            for k in range(S):
                dX[n, c, k] = scale * (M * dY[n, c, k] - sdy - xhat[n, c, k] * sdyx)
# --8<-- [end:batchnorm]


@serial_or_parallel()
def batchnorm_eval_forward(X, gamma, beta, running_mean, running_var, eps, Y, xhat):
    """Evaluation: normalise with the running statistics (an affine map per channel)."""
    N, C, S = X.shape
    for c in prange(C):
        r = 1.0 / math.sqrt(running_var[c] + eps)
        for n in range(N):
            for k in range(S):
                xh = (X[n, c, k] - running_mean[c]) * r
                xhat[n, c, k] = xh
                Y[n, c, k] = gamma[c] * xh + beta[c]


@serial_or_parallel(fastmath=SUMS)
def batchnorm_eval_backward(dY, xhat, gamma, running_var, eps, dX, dgamma, dbeta):
    """Evaluation mode's gradient: dX = dY gamma / sqrt(running_var + eps)."""
    N, C, S = dY.shape
    for c in prange(C):
        r = gamma[c] / math.sqrt(running_var[c] + eps)
        sdy = 0.0
        sdyx = 0.0
        for n in range(N):
            for k in range(S):
                sdy += dY[n, c, k]
                sdyx += dY[n, c, k] * xhat[n, c, k]
                dX[n, c, k] = dY[n, c, k] * r
        dgamma[c] += sdyx
        dbeta[c] += sdy
