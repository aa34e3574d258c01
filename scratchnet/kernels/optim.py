"""Optimizer updates as kernels, formula for formula with ``torch.optim`` (single-tensor path).

Each updates one parameter in place; ``p``, ``g`` and the state arrays are C-contiguous, of one
shape (any number of axes: they are walked flat) and one dtype. SGD's scalars are Python floats
(its float32 update runs in float64 and rounds on the store); Adam rounds its scalars to the
parameter's dtype first, as torch does, so its float32 update is float32 arithmetic throughout.

``error_model="numpy"``: a float division by zero gives inf as in NumPy instead of raising,
which takes the check (and its branch) out of the loop, so the loop vectorises (about 8x here).
"""

from __future__ import annotations

import math

from numba import njit, prange

from .dispatch import serial_or_parallel


# --8<-- [start:sgd_step]
@njit(cache=True, fastmath=False, error_model="numpy")
def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first):
    """One ``torch.optim.SGD`` update of ``p`` in place, from its gradient ``g``.

    ``d = g + wd p``; with momentum ``buf = d`` on the first step, else
    ``buf = mu buf + (1 - dampening) d``; nesterov uses ``d + mu buf``, plain momentum ``buf``;
    then ``p -= lr d``. ``buf`` is the momentum buffer (unused without momentum).
    """
    pf, gf, bf = p.reshape(-1), g.reshape(-1), buf.reshape(-1)
    for i in range(pf.size):
        d = gf[i]
        if weight_decay != 0.0:
            d = d + weight_decay * pf[i]
        if momentum != 0.0:
            if first:
                bf[i] = d
            else:
                bf[i] = momentum * bf[i] + (1.0 - dampening) * d
            d = d + momentum * bf[i] if nesterov else bf[i]
        pf[i] -= lr * d


# --8<-- [end:sgd_step]


# --8<-- [start:adam_step]
def adam_step(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step) -> None:
    """One ``torch.optim.Adam`` (``decoupled=False``) or ``AdamW`` (``True``) update, in place.

    Adam folds ``wd p`` into the gradient; AdamW first shrinks ``p *= 1 - lr wd``. Then
    ``m += (1 - b1)(d - m)``, ``v = b2 v + (1 - b2) d^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``, ``t = step`` (1, 2, ...).
    ``m``, ``v`` are torch's ``exp_avg`` and ``exp_avg_sq``.

    As in torch, the step's scalars are worked out in Python floats and then rounded to the
    parameter's dtype, so a float32 parameter is updated in float32 arithmetic (and a float64
    one in float64): torch's own rounding, and twice the SIMD lanes of a float64 update.
    """
    c = p.dtype.type  # scalars in the arrays' dtype: Numba then keeps the loop in that dtype
    adam_update(p, g, m, v, c(lr / (1.0 - beta1**step)), c(1.0 - beta1), c(beta2), c(1.0 - beta2),
                c(math.sqrt(1.0 - beta2**step)), c(eps), c(weight_decay), c(1.0 - lr * weight_decay),
                decoupled)


@serial_or_parallel(error_model="numpy")  # threads share a large parameter (fc1 of the vae: 313,600)
def adam_update(p, g, m, v, step_size, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps,
                weight_decay, shrink, decoupled):
    """``adam_step``'s loop: ``step_size = lr / (1 - b1^t)``, ``bc2_sqrt = sqrt(1 - b2^t)``,
    ``shrink = 1 - lr wd`` (AdamW); every scalar in the arrays' dtype."""
    # one view per statement: Numba 0.68's parallel compilation miscompiles the four in one
    # tuple assignment (the loop then writes elsewhere; tests/test_dispatch.py would catch it)
    pf = p.reshape(-1)
    gf = g.reshape(-1)
    mf = m.reshape(-1)
    vf = v.reshape(-1)
    for i in prange(pf.size):
        d = gf[i]
        if weight_decay != 0.0:
            if decoupled:
                pf[i] *= shrink
            else:
                d = d + weight_decay * pf[i]
        mf[i] += one_minus_beta1 * (d - mf[i])  # torch's lerp
        vf[i] = beta2 * vf[i] + one_minus_beta2 * d * d
        pf[i] -= step_size * mf[i] / (math.sqrt(vf[i]) / bc2_sqrt + eps)


# --8<-- [end:adam_step]
