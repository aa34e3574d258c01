"""The integer codes the kernels take for "which activation", "which cost", "which penalty".

One definition each, as ``IntEnum``s. A compiled kernel compares plain integers, so the kernel
modules bind the members they branch on as module constants (``SIGMOID = int(Activation.SIGMOID)``
in ``kernels.activations`` and ``kernels.fused_mlp``): Numba folds those into the machine code.
"""

from __future__ import annotations

from enum import IntEnum


class Activation(IntEnum):
    """``f`` in ``a = f(z)``: the identity, the logistic sigmoid, tanh, ReLU, or row-wise softmax."""

    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    SOFTMAX = 4


class Cost(IntEnum):
    """The book's costs, by the output error ``delta^L`` they give (network2.py's ``delta``)."""

    QUADRATIC = 0        # (a - y) * sigma'(z)
    CROSS_ENTROPY = 1    # a - y, with a sigmoid output
    LOG_LIKELIHOOD = 2   # a - y, with a softmax output


class Penalty(IntEnum):
    """The weight penalty of chapter 3: ``(lmbda / 2n) sum w^2`` or ``(lmbda / n) sum |w|``."""

    L2 = 0
    L1 = 1
