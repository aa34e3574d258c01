"""The Linear layer's forward and its parameter gradients, each one compiled call of the kernels.

At the book's mini-batch of ten a product takes microseconds and each call from Python into
Numba (plus the array it hands back) a few tenths of one, so ``nn.Linear`` makes one call for
``X W^T + b`` and one for ``dW``, ``db``: a GEMM of ``kernels.matmul`` and a bias kernel of
``kernels.activations`` each.
No new maths, so no parity entry of their own: each part has one, and ``nn.Linear`` is checked
against ``torch.nn.Linear`` in ``parity_tests/test_modules.py``.
"""

from __future__ import annotations

from numba import njit

from .activations import IDENTITY, bias_act_forward, bias_backward
from .matmul import gemm_nt, gemm_tn


# --8<-- [start:linear_kernels]
@njit(cache=True)
def _linear_forward(X, W, b, Y):
    """``Y = X W^T + b``: X ``(N, in)``, W ``(out, in)``, b ``(out,)`` or None, Y ``(N, out)``."""
    gemm_nt(X, W, Y, 0.0)  # (N, out) = (N, in) (out, in)^T
    if b is not None:
        bias_act_forward(Y, b, IDENTITY, Y)  # (N, out) += b, in place


@njit(cache=True)
def _linear_backward(dY, X, dW, beta, db):
    """``dW = dY^T X + beta dW`` (BP4; beta 1 accumulates) and ``db += sum_n dY[n]`` (BP3).

    dY ``(N, out)``, X ``(N, in)``, dW ``(out, in)``, db ``(out,)`` or None (no bias). The input
    gradient ``dX = dY W`` is a separate ``gemm_nn`` call: one GEMM per compiled function keeps
    the memory a cold compile needs (``benchmarks/test_memory.py``) where it was.
    """
    gemm_tn(dY, X, dW, beta)  # (out, in) (+)= (N, out)^T (N, in)
    if db is not None:
        bias_backward(dY, db)  # (out,) += sum_n dY[n]
# --8<-- [end:linear_kernels]
