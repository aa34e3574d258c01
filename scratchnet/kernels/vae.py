"""What a VAE adds to the kernels: the reparameterisation and the Gaussian KL term, each with its
gradient. Element-wise loops over ``(N, latent)`` rows: one tier (they are their own reference).

    z = mu + sigma * eps,  sigma = exp(logvar / 2)            dz/dmu = 1,  dz/dlogvar = eps sigma / 2
    KL_n = -1/2 sum_j (1 + logvar_nj - mu_nj^2 - exp(logvar_nj))
    dKL/dmu = mu,  dKL/dlogvar = (exp(logvar) - 1) / 2
"""

from __future__ import annotations

import math

from numba import njit


# --8<-- [start:reparameterize]
@njit(cache=True, fastmath=False)
def reparameterize(mu, logvar, eps, z, sigma):
    """``sigma = exp(logvar / 2)``, ``z = mu + sigma * eps``; all ``(N, latent)``, written."""
    N, J = mu.shape
    for n in range(N):
        for j in range(J):
            s = math.exp(0.5 * logvar[n, j])
            sigma[n, j] = s
            z[n, j] = mu[n, j] + s * eps[n, j]
    return z


@njit(cache=True, fastmath=False)
def reparameterize_backward(dz, eps, sigma, dmu, dlogvar):
    """``dmu += dz``, ``dlogvar += dz * eps * sigma / 2`` (the chain rule through ``z``)."""
    N, J = dz.shape
    for n in range(N):
        for j in range(J):
            dmu[n, j] += dz[n, j]
            dlogvar[n, j] += 0.5 * dz[n, j] * eps[n, j] * sigma[n, j]
# --8<-- [end:reparameterize]


# --8<-- [start:gaussian_kl]
@njit(cache=True, fastmath=False)
def gaussian_kl(mu, logvar, scale, dmu, dlogvar):
    """``sum_n KL_n`` for ``q = N(mu, exp(logvar))`` against ``N(0, 1)``; writes ``scale`` times its
    gradient: ``dmu = scale mu``, ``dlogvar = scale (exp(logvar) - 1) / 2``. All ``(N, latent)``."""
    N, J = mu.shape
    total = 0.0
    for n in range(N):
        for j in range(J):
            m, lv = mu[n, j], logvar[n, j]
            e = math.exp(lv)
            total += -0.5 * (1.0 + lv - m * m - e)
            dmu[n, j] = scale * m
            dlogvar[n, j] = scale * 0.5 * (e - 1.0)
    return total
# --8<-- [end:gaussian_kl]
