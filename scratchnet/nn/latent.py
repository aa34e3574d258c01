"""``Reparameterize``: a sample ``z ~ N(mu, exp(logvar))`` that gradients can flow through."""

from __future__ import annotations

import numpy as np

from ..kernels import ops
from .checks import check_grad
from .module import Module


class Reparameterize(Module):
    """``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, 1)``: the VAE's sampling step.

    The randomness sits in ``eps`` alone, so ``z`` is a differentiable function of ``mu`` and
    ``logvar``: ``dz/dmu = 1``, ``dz/dlogvar = eps exp(logvar / 2) / 2``. ``forward(mu, logvar,
    eps=None)`` takes ``(N, latent)`` arrays; ``eps`` is drawn from the module's generator when
    not given (parity tests pass torch's), on the host whatever the kernel tier (the same
    generator gives the same draws on every tier). ``backward(dz)`` returns ``(dmu, dlogvar)``.
    """

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, mu: np.ndarray, logvar: np.ndarray = None, eps: np.ndarray | None = None) -> np.ndarray:
        """``z`` ``(N, latent)``; saves ``eps`` and ``sigma`` for the backward."""
        if logvar is None or mu.shape != logvar.shape or mu.ndim != 2:
            raise ValueError(f"{self.name}: mu and logvar must be (N, latent) arrays of one shape, "
                             f"got {getattr(mu, 'shape', None)} and {getattr(logvar, 'shape', None)}")
        mu, logvar = ops.contiguous(mu), ops.contiguous(logvar, mu.dtype)
        if eps is None:
            eps = self.rng.standard_normal(mu.shape).astype(mu.dtype)
        elif eps.shape != mu.shape:
            raise ValueError(f"{self.name}: eps must be {mu.shape} like mu, got {eps.shape}")
        eps = ops.contiguous(eps, mu.dtype)
        sigma, z = ops.empty(mu.shape, mu.dtype), ops.empty(mu.shape, mu.dtype)
        ops.reparameterize(mu, logvar, eps, z, sigma)
        self.save(eps=eps, sigma=sigma)
        return z

    def __call__(self, mu: np.ndarray, logvar: np.ndarray = None, eps: np.ndarray | None = None) -> np.ndarray:
        """``module(mu, logvar, eps)`` is ``module.forward(mu, logvar, eps)``."""
        return self.forward(mu, logvar, eps)

    def backward(self, dz: np.ndarray, needs_input_grad: bool = True) -> tuple[np.ndarray, np.ndarray] | None:
        """``(dC/dmu, dC/dlogvar)`` from ``dC/dz``, both ``(N, latent)``."""
        saved = self.saved_for_backward()
        eps, sigma = saved["eps"], saved["sigma"]
        check_grad(self.name, dz, eps.shape)
        if not needs_input_grad:
            return None
        dmu, dlogvar = ops.zeros(eps.shape, eps.dtype), ops.zeros(eps.shape, eps.dtype)
        ops.reparameterize_backward(ops.contiguous(dz, eps.dtype), eps, sigma, dmu, dlogvar)
        return dmu, dlogvar
