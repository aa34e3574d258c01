"""Optimizer updates as kernels, formula for formula with ``torch.optim`` (single tensor path)."""

from __future__ import annotations

import math

from numba import njit


# --8<-- [start:sgd_step]
@njit(cache=True)
def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first):
    """One ``torch.optim.SGD`` update of ``p`` in place (all arrays flattened, same shape).

    ``d = g + wd p``; with momentum ``buf = d`` on the first step, else
    ``buf = mu buf + (1 - dampening) d``; nesterov uses ``d + mu buf``, plain momentum ``buf``;
    then ``p -= lr d``.
    """
    for i in range(p.size):
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
# --8<-- [end:sgd_step]


# --8<-- [start:adam_step]
@njit(cache=True)
def adam_step(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step):
    """One ``torch.optim.Adam`` (``decoupled=False``) or ``AdamW`` (``True``) update, in place.

    Adam folds ``wd p`` into the gradient; AdamW first shrinks ``p *= 1 - lr wd``. Then
    ``m += (1 - b1)(d - m)``, ``v = b2 v + (1 - b2) d^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """
    bc1 = 1.0 - beta1 ** step
    bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
    step_size = lr / bc1
    for i in range(p.size):
        d = g[i]
        if weight_decay != 0.0:
            if decoupled:
                p[i] *= 1.0 - lr * weight_decay
            else:
                d = d + weight_decay * p[i]
        m[i] += (1.0 - beta1) * (d - m[i])  # torch's lerp
        v[i] = beta2 * v[i] + (1.0 - beta2) * d * d
        p[i] -= step_size * m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps)
# --8<-- [end:adam_step]
