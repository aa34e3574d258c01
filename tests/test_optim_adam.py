"""notes/adam.md's formulas, written out in NumPy, against scratchnet.optim and torch.optim.

The parity suite compares the two libraries over whole training runs; this file checks that the
equations the note derives (moments, bias correction, L2 folded in or decoupled) are the ones
both compute, on a fixed sequence of gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scratchnet import nn as snn
from scratchnet import optim


# --8<-- [start:adam_by_hand]
def adam_by_hand(theta: np.ndarray, grads: list[np.ndarray], lr: float, betas: tuple[float, float],
                 eps: float, weight_decay: float, decoupled: bool) -> np.ndarray:
    """Adam (``decoupled=False``, L2 in the gradient) or AdamW, one step per gradient."""
    beta1, beta2 = betas
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            theta = theta * (1 - lr * weight_decay)    # AdamW: decay the weights themselves
        else:
            g = g + weight_decay * theta               # Adam: L2's gradient joins g
        m = beta1 * m + (1 - beta1) * g                # first moment, E[g]
        v = beta2 * v + (1 - beta2) * g * g            # second moment, E[g^2]
        m_hat = m / (1 - beta1**t)                     # bias corrections: m_0 = v_0 = 0
        v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta
# --8<-- [end:adam_by_hand]


# --8<-- [start:torch_adam]
def torch_adam(theta: np.ndarray, grads: list[np.ndarray], decoupled: bool, **hyper) -> np.ndarray:
    """The same steps with ``torch.optim.Adam`` / ``AdamW``, the gradient set by hand."""
    p = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    opt = (torch.optim.AdamW if decoupled else torch.optim.Adam)([p], **hyper)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return p.detach().numpy()


def scratch_adam(theta: np.ndarray, grads: list[np.ndarray], decoupled: bool, **hyper) -> np.ndarray:
    """And with ``scratchnet.optim.Adam`` / ``AdamW``: the same names, the same state."""
    p = snn.Parameter(theta.copy())
    opt = (optim.AdamW if decoupled else optim.Adam)([p], **hyper)
    for g in grads:
        p.grad = g.copy()
        opt.step()
    return p.data
# --8<-- [end:torch_adam]


@pytest.mark.parametrize("decoupled", [False, True], ids=["Adam", "AdamW"])
def test_the_notes_formulas_are_torchs_and_ours(decoupled: bool) -> None:
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(3, 4))
    grads = [rng.normal(scale=10.0 ** rng.integers(-3, 2), size=(3, 4)) for _ in range(12)]
    hyper = dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)
    expected = adam_by_hand(theta, grads, decoupled=decoupled, **hyper)
    np.testing.assert_allclose(torch_adam(theta, grads, decoupled, **hyper), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(scratch_adam(theta, grads, decoupled, **hyper), expected, rtol=1e-12, atol=1e-14)
    assert not np.allclose(adam_by_hand(theta, grads, decoupled=not decoupled, **hyper), expected)
