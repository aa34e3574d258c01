"""cuda tier: the VAE's reparameterisation and Gaussian KL (``kernels/vae.py``), on device arrays.

    z = mu + sigma * eps,  sigma = exp(logvar / 2)            dz/dmu = 1,  dz/dlogvar = eps sigma / 2
    KL_n = -1/2 sum_j (1 + logvar_nj - mu_nj^2 - exp(logvar_nj))
    dKL/dmu = mu,  dKL/dlogvar = (exp(logvar) - 1) / 2

The reparameterisation and its backward are element-wise: one thread per ``(n, j)``. The KL is a
sum: one block per row, whose threads add through shared memory; the host adds the rows.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from .device import elementwise, reduce_threads, shared_bytes
from .reduce import block_sum


# --8<-- [start:reparameterize]
@cuda.jit
def _reparameterize(mu, logvar, eps, z, sigma):
    J = mu.shape[1]
    for e in range(cuda.grid(1), mu.size, cuda.gridsize(1)):
        n, j = e // J, e % J
        s = math.exp(0.5 * logvar[n, j])
        sigma[n, j] = s
        z[n, j] = mu[n, j] + s * eps[n, j]


def reparameterize(mu, logvar, eps, z, sigma):
    """``sigma = exp(logvar / 2)``, ``z = mu + sigma * eps``; all ``(N, latent)``. One thread each."""
    elementwise(_reparameterize, mu.size, mu, logvar, eps, z, sigma)
    return z


@cuda.jit
def _reparameterize_backward(dz, eps, sigma, dmu, dlogvar):
    J = dz.shape[1]
    for e in range(cuda.grid(1), dz.size, cuda.gridsize(1)):
        n, j = e // J, e % J
        dmu[n, j] += dz[n, j]
        dlogvar[n, j] += 0.5 * dz[n, j] * eps[n, j] * sigma[n, j]


def reparameterize_backward(dz, eps, sigma, dmu, dlogvar) -> None:
    """``dmu += dz``, ``dlogvar += dz * eps * sigma / 2``; all ``(N, latent)``. One thread each."""
    elementwise(_reparameterize_backward, dz.size, dz, eps, sigma, dmu, dlogvar)
# --8<-- [end:reparameterize]


# --8<-- [start:gaussian_kl]
@cuda.jit
def _gaussian_kl(mu, logvar, scale, dmu, dlogvar, rows):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    s = 0.0
    for j in range(t, mu.shape[1], cuda.blockDim.x):
        m, lv = mu[n, j], logvar[n, j]
        e = math.exp(lv)
        s += -0.5 * (1.0 + lv - m * m - e)
        dmu[n, j] = scale * m
        dlogvar[n, j] = scale * 0.5 * (e - 1.0)
    s = block_sum(buf, s)
    if t == 0:
        rows[n] = s


def gaussian_kl(mu, logvar, scale, dmu, dlogvar) -> float:
    """``sum_n KL_n`` for ``N(mu, exp(logvar))`` against ``N(0, 1)``; writes ``scale`` times its
    gradient, ``dmu = scale mu``, ``dlogvar = scale (exp(logvar) - 1) / 2``. One block per row."""
    N, J = mu.shape
    threads = reduce_threads(J)
    rows = cuda.device_array(N, np.float64)
    _gaussian_kl[N, threads, 0, shared_bytes(threads)](mu, logvar, float(scale), dmu, dlogvar, rows)
    return float(rows.copy_to_host().sum())
# --8<-- [end:gaussian_kl]
