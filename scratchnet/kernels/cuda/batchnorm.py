"""cuda tier: batch normalisation of ``kernels/batchnorm.py``, same signatures, on device arrays.

Arrays are ``(N, C, S)`` (S = H W for images, 1 for features); the statistics are per channel,
over the ``M = N S`` values of the batch:

    x_hat = (x - mu) / sqrt(var + eps),      y = gamma x_hat + beta          (var biased)
    dbeta = sum dy,   dgamma = sum dy x_hat,
    dx = gamma / (M sqrt(var + eps)) * (M dy - sum dy - x_hat sum dy x_hat)

Each channel is one block: its threads split the ``M`` values (thread ``t`` takes ``t, t + blockDim,
...`` of the flattened ``(n, s)``: neighbouring threads, neighbouring ``s``), add their partial sums
through shared memory, and then every thread normalises its own values with the block's result.
Evaluation's forward is an affine map: one thread per element. ``batchnorm_update_running``
moves the running statistics as ``nn.BatchNorm``'s forward does on the CPU.
"""

from __future__ import annotations

import math

from numba import cuda, float64

from .device import elementwise, reduce_threads, shared_bytes
from .reduce import block_sum


def _per_channel(kernel, X, *args) -> None:
    """Launch ``kernel`` with one block per channel of X ``(N, C, S)``, sized to its ``N S`` values."""
    N, C, S = X.shape
    threads = reduce_threads(N * S)
    kernel[C, threads, 0, shared_bytes(threads)](X, *args)


# --8<-- [start:batchnorm]
@cuda.jit
def _train_forward(X, gamma, beta, eps, Y, xhat, mean, var, invstd):
    buf = cuda.shared.array(0, float64)
    N, C, S = X.shape
    M = N * S
    c, t, step = cuda.blockIdx.x, cuda.threadIdx.x, cuda.blockDim.x
    s = 0.0
    for e in range(t, M, step):
        s += X[e // S, c, e % S]
    mu = block_sum(buf, s) / M
    v = 0.0
    for e in range(t, M, step):
        d = X[e // S, c, e % S] - mu
        v += d * d
    v = block_sum(buf, v) / M  # biased: the batch's own variance
    r = 1.0 / math.sqrt(v + eps)
    if t == 0:
        mean[c], var[c], invstd[c] = mu, v, r
    for e in range(t, M, step):
        n, k = e // S, e % S
        xh = (X[n, c, k] - mu) * r
        xhat[n, c, k] = xh
        Y[n, c, k] = gamma[c] * xh + beta[c]


def batchnorm_train_forward(X, gamma, beta, eps, Y, xhat, mean, var, invstd):
    """Per channel: the batch mean and biased variance over ``(N, S)``; fills Y, xhat ``(N, C, S)``
    and mean, var, invstd ``(C,)``. One block per channel, two block sums."""
    _per_channel(_train_forward, X, gamma, beta, eps, Y, xhat, mean, var, invstd)


@cuda.jit
def _train_backward(dY, xhat, gamma, invstd, dX, dgamma, dbeta):
    buf = cuda.shared.array(0, float64)
    N, C, S = dY.shape
    M = N * S
    c, t, step = cuda.blockIdx.x, cuda.threadIdx.x, cuda.blockDim.x
    sdy = 0.0
    sdyx = 0.0
    for e in range(t, M, step):
        n, k = e // S, e % S
        sdy += dY[n, c, k]
        sdyx += dY[n, c, k] * xhat[n, c, k]
    sdy = block_sum(buf, sdy)  # one buffer: the two sums one after the other
    sdyx = block_sum(buf, sdyx)
    if t == 0:
        dgamma[c] += sdyx
        dbeta[c] += sdy
    scale = gamma[c] * invstd[c] / M
    for e in range(t, M, step):
        n, k = e // S, e % S
        dX[n, c, k] = scale * (M * dY[n, c, k] - sdy - xhat[n, c, k] * sdyx)


def batchnorm_train_backward(dY, xhat, gamma, invstd, dX, dgamma, dbeta):
    """dX from the formula above; dgamma, dbeta ``(C,)`` ACCUMULATE (``+=``). One block per channel."""
    _per_channel(_train_backward, dY, xhat, gamma, invstd, dX, dgamma, dbeta)
# --8<-- [end:batchnorm]


@cuda.jit
def _eval_forward(X, gamma, beta, running_mean, running_var, eps, Y, xhat):
    N, C, S = X.shape
    for e in range(cuda.grid(1), X.size, cuda.gridsize(1)):
        n, c, k = e // (C * S), (e // S) % C, e % S
        r = 1.0 / math.sqrt(running_var[c] + eps)
        xh = (X[n, c, k] - running_mean[c]) * r
        xhat[n, c, k] = xh
        Y[n, c, k] = gamma[c] * xh + beta[c]


def batchnorm_eval_forward(X, gamma, beta, running_mean, running_var, eps, Y, xhat):
    """Evaluation: ``x_hat = (x - running_mean) / sqrt(running_var + eps)``, ``y = gamma x_hat +
    beta``; all ``(N, C, S)`` but the ``(C,)`` statistics. One thread per element."""
    elementwise(_eval_forward, X.size, X, gamma, beta, running_mean, running_var, eps, Y, xhat)


@cuda.jit
def _eval_backward(dY, xhat, gamma, running_var, eps, dX, dgamma, dbeta):
    buf = cuda.shared.array(0, float64)
    N, C, S = dY.shape
    c, t, step = cuda.blockIdx.x, cuda.threadIdx.x, cuda.blockDim.x
    r = gamma[c] / math.sqrt(running_var[c] + eps)
    sdy = 0.0
    sdyx = 0.0
    for e in range(t, N * S, step):
        n, k = e // S, e % S
        sdy += dY[n, c, k]
        sdyx += dY[n, c, k] * xhat[n, c, k]
        dX[n, c, k] = dY[n, c, k] * r
    sdy = block_sum(buf, sdy)
    sdyx = block_sum(buf, sdyx)
    if t == 0:
        dgamma[c] += sdyx
        dbeta[c] += sdy


def batchnorm_eval_backward(dY, xhat, gamma, running_var, eps, dX, dgamma, dbeta):
    """Evaluation's gradient ``dX = dY gamma / sqrt(running_var + eps)``; dgamma, dbeta ``+=``.
    One block per channel (the two parameter gradients are sums)."""
    _per_channel(_eval_backward, dY, xhat, gamma, running_var, eps, dX, dgamma, dbeta)


@cuda.jit
def _update_running(mean, var, unbias, keep, momentum, running_mean, running_var):
    for c in range(cuda.grid(1), mean.size, cuda.gridsize(1)):
        running_mean[c] = keep * running_mean[c] + momentum * mean[c]
        running_var[c] = keep * running_var[c] + momentum * var[c] * unbias


def batchnorm_update_running(mean, var, M: int, momentum: float, running_mean, running_var) -> None:
    """``running = (1 - m) running + m batch``, the variance made unbiased (``M / (M - 1)``) first,
    as ``nn.BatchNorm`` (PyTorch's rule, ``m = momentum``, 0.1 by default). All ``(C,)``."""
    dt = running_mean.dtype.type  # in the buffers' dtype, as NumPy computes the CPU update
    elementwise(_update_running, mean.size, mean, var, dt(M / (M - 1)), dt(1 - momentum), dt(momentum),
                                                running_mean, running_var)
