"""The Linear layer's forward and backward, each one compiled call made of the project's kernels.

At the book's mini-batch of ten a product takes microseconds and each call from Python into
Numba (plus the array it hands back) a few tenths of one, so ``nn.Linear`` makes one call per
pass: the GEMMs of ``kernels.matmul`` and the bias kernels of ``kernels.activations``, composed.
No new maths, so no parity entry of their own: each part has one, and ``nn.Linear`` is checked
against ``torch.nn.Linear`` in ``parity_tests/test_modules.py``.
"""

from __future__ import annotations

from numba import njit

from .activations import IDENTITY, bias_act_forward, bias_backward
from .matmul import gemm_nn, gemm_nt, gemm_tn


# --8<-- [start:linear_kernels]
@njit(cache=True)
def _linear_forward(X, W, b, Y):
    """``Y = X W^T + b``: X ``(N, in)``, W ``(out, in)``, b ``(out,)`` or None, Y ``(N, out)``."""
    gemm_nt(X, W, Y, 0.0)  # (N, out) = (N, in) (out, in)^T
    if b is not None:
        bias_act_forward(Y, b, IDENTITY, Y)  # (N, out) += b, in place


@njit(cache=True)
def _linear_backward(dY, X, W, dW, beta, db, dX):
    """``dW = dY^T X + beta dW`` (BP4; beta 1 accumulates), ``db += sum_n dY[n]`` (BP3) and
    ``dX = dY W`` (BP2's product).

    dY ``(N, out)``, X ``(N, in)``, W and dW ``(out, in)``; ``db`` ``(out,)`` or None (no bias),
    ``dX`` ``(N, in)`` or None (no input gradient wanted).
    """
    gemm_tn(dY, X, dW, beta)  # (out, in) (+)= (N, out)^T (N, in)
    if db is not None:
        bias_backward(dY, db)  # (out,) += sum_n dY[n]
    if dX is not None:
        gemm_nn(dY, W, dX, 0.0)  # (N, in) = (N, out) (out, in)
# --8<-- [end:linear_kernels]
