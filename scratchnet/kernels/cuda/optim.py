"""cuda tier: the optimizer updates of ``kernels/optim.py``, formula for formula ``torch.optim``.

One thread per element of the flattened parameter: each reads its gradient and state, updates
them in place, and shares nothing with its neighbours. SGD's scalars stay Python floats (float64,
as the CPU kernel's); Adam's are rounded to the parameter's dtype first, as torch and the CPU
kernel do, so a float32 parameter is updated in float32 arithmetic.
"""

from __future__ import annotations

import math

from numba import cuda

from .device import elementwise, flat


# --8<-- [start:sgd_step]
@cuda.jit
def _sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first):
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        d = g[i]
        if weight_decay != 0.0:
            d = d + weight_decay * p[i]
        if momentum != 0.0:
            if first:
                buf[i] = d
            else:
                buf[i] = momentum * buf[i] + (1.0 - dampening) * d
            d = d + momentum * buf[i] if nesterov else buf[i]
        p[i] -= lr * d


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first) -> None:
    """One ``torch.optim.SGD`` update of ``p`` in place: ``d = g + wd p``; with momentum
    ``buf = d`` (first step) or ``mu buf + (1 - dampening) d``, then ``d = d + mu buf`` (nesterov)
    or ``buf``; ``p -= lr d``. One thread per element."""
    elementwise(_sgd, p.size, flat(p), flat(g), flat(buf), float(lr), float(momentum), float(dampening),
                                  float(weight_decay), bool(nesterov), bool(first))
# --8<-- [end:sgd_step]


# --8<-- [start:adam_step]
@cuda.jit
def _adam(p, g, m, v, step_size, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, weight_decay,
          shrink, decoupled):
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        d = g[i]
        if weight_decay != 0.0:
            if decoupled:
                p[i] *= shrink
            else:
                d = d + weight_decay * p[i]
        m[i] += one_minus_beta1 * (d - m[i])  # torch's lerp
        v[i] = beta2 * v[i] + one_minus_beta2 * d * d
        p[i] -= step_size * m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps)


def adam_step(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step) -> None:
    """One ``torch.optim.Adam`` (``decoupled=False``) or ``AdamW`` (``True``) update, in place:
    ``m += (1 - b1)(d - m)``, ``v = b2 v + (1 - b2) d^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. One thread per element."""
    c = p.dtype.type  # the step's scalars in the parameter's dtype, as torch
    elementwise(_adam, p.size, flat(p), flat(g), flat(m), flat(v), c(lr / (1.0 - beta1**step)), c(1.0 - beta1),
                                   c(beta2), c(1.0 - beta2), c(math.sqrt(1.0 - beta2**step)), c(eps),
                                   c(weight_decay), c(1.0 - lr * weight_decay), bool(decoupled))
# --8<-- [end:adam_step]
