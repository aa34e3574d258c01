"""Activation kernels: each forward beside its derivative. Rows are samples: ``(N, features)``.

Element-wise kernels take any C-contiguous shape; ``out``/``dZ`` have the shape of the input.

    sigmoid_forward(Z, out)      sigmoid_backward(A, dA, dZ)    sigma' = A (1 - A), A saved
    tanh_forward(Z, out)         tanh_backward(A, dA, dZ)       tanh' = 1 - A^2, A saved
    relu_forward(Z, out)         relu_backward(Z, dA, dZ)       [Z > 0]; ReLU'(0) = 0 (PyTorch)
    bias_act_forward(Z, b, act, out)                            f(Z + b), act in IDENTITY..RELU
    bias_backward(dZ, db)                                       db += sum over rows of dZ
    softmax_forward(Z, out)      softmax_backward(S, dS, dZ)    row-wise, (N, C), S saved

Backward kernels take the upstream gradient ``dA = dC/dA`` and write ``dZ = dC/dZ``.
``relu_backward`` gives the same result from the saved output ``A = max(Z, 0)`` as from ``Z``
(``A > 0`` exactly when ``Z > 0``), which is what PyTorch's ``threshold_backward`` uses.
Softmax subtracts the row maximum first, so any finite logits (``+-700`` and
beyond) give finite results.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .codes import Activation
from .dispatch import serial_or_parallel
from .vmath import exp, wide_vectors

# The codes bias_act_forward takes, as plain ints the compiler folds (one definition: codes.py).
IDENTITY, SIGMOID, TANH, RELU = (int(a) for a in (Activation.IDENTITY, Activation.SIGMOID,
                                                  Activation.TANH, Activation.RELU))


# --8<-- [start:sigmoid]
# threads from 65,536 values (the vae's 128 x 784 output); see vmath for the compile options
@serial_or_parallel(fastmath={"contract"}, error_model="numpy")
def sigmoid_forward(Z, out):
    """``out = sigma(Z) = 1 / (1 + exp(-Z))``, without overflow for any ``Z``; same shape.

    Only ``exp(-|z|)`` is evaluated, so nothing overflows and tiny values stay exact; the sign
    picks the form by a select (random signs make a branch mispredict half the time). ``exp``
    is ``vmath.exp``, ``math.exp`` as arithmetic: the loop runs in SIMD lanes.
    """
    wide_vectors()
    # one view per statement (Numba 0.68's parallel compilation: see kernels/optim.py)
    Zf = Z.reshape(-1)
    of = out.reshape(-1)
    for i in prange(Zf.size):
        z = Zf[i]
        e = exp(-abs(z))  # in (0, 1]: never overflows
        r = 1.0 / (1.0 + e)  # sigma(|z|)
        # sigma(z) = 1 / (1 + e^-z) for z >= 0, e^z / (1 + e^z) for z < 0: a select, not a branch
        of[i] = r if z >= 0 else e * r
    return out


@njit(cache=True, fastmath=False)
def sigmoid_backward(A, dA, dZ):
    """``dZ = dA * sigma'(Z) = dA * A * (1 - A)`` with ``A = sigma(Z)`` saved from forward."""
    Af, gf, of = A.reshape(-1), dA.reshape(-1), dZ.reshape(-1)
    for i in range(Af.size):
        of[i] = gf[i] * Af[i] * (1.0 - Af[i])
    return dZ


# --8<-- [end:sigmoid]


@njit(cache=True, fastmath=False)
def tanh_forward(Z, out):
    """``out = tanh(Z)``; same shape."""
    Zf, of = Z.reshape(-1), out.reshape(-1)
    for i in range(Zf.size):
        of[i] = math.tanh(Zf[i])
    return out


@njit(cache=True, fastmath=False)
def tanh_backward(A, dA, dZ):
    """``dZ = dA * (1 - A^2)`` with ``A = tanh(Z)`` saved from forward."""
    Af, gf, of = A.reshape(-1), dA.reshape(-1), dZ.reshape(-1)
    for i in range(Af.size):
        of[i] = gf[i] * (1.0 - Af[i] * Af[i])
    return dZ


# --8<-- [start:relu]
@njit(cache=True, fastmath=False)
def relu_forward(Z, out):
    """``out = max(Z, 0)``; NaN stays NaN, as ``torch.relu``."""
    Zf, of = Z.reshape(-1), out.reshape(-1)
    for i in range(Zf.size):
        of[i] = 0.0 if Zf[i] <= 0 else Zf[i]
    return out


@njit(cache=True, fastmath=False)
def relu_backward(Z, dA, dZ):
    """``dZ = dA * [Z > 0]``: the derivative at exactly 0 is 0, as PyTorch takes it.

    ``Z`` may be the input or the saved output ``max(Z, 0)``: both are ``> 0`` at the same places.
    """
    Zf, gf, of = Z.reshape(-1), dA.reshape(-1), dZ.reshape(-1)
    for i in range(Zf.size):
        of[i] = gf[i] if Zf[i] > 0 else 0.0
    return dZ


# --8<-- [end:relu]


# --8<-- [start:bias_act]
@njit(cache=True, fastmath=False)
def bias_act_forward(Z, b, act, out):
    """``out = f(Z + b)`` with ``b`` broadcast over rows; ``f`` by code (IDENTITY .. RELU).

    Z ``(N, F)``, b ``(F,)``, out ``(N, F)`` (may be ``Z`` itself: in place). One pass over
    the activations instead of two (bias, then activation).
    """
    N, F = Z.shape
    if act == IDENTITY:  # a loop of its own, without the activations' branches: it vectorises
        for n in range(N):
            for f in range(F):
                out[n, f] = Z[n, f] + b[f]
        return out
    for n in range(N):
        for f in range(F):
            z = Z[n, f] + b[f]
            if act == SIGMOID:  # as sigmoid_forward
                e = math.exp(-abs(z))
                r = 1.0 / (1.0 + e)
                z = r if z >= 0 else e * r
            elif act == TANH:
                z = math.tanh(z)
            elif act == RELU:
                z = 0.0 if z <= 0 else z
            out[n, f] = z
    return out


@njit(cache=True, fastmath=False)
def bias_backward(dZ, db):
    """The bias's gradient beside its forward: ``db += sum_n dZ[n]`` (the book's BP3 over a batch).

    dZ ``(N, F)``, db ``(F,)``, accumulated like ``torch``'s ``grad += dZ.sum(0)``.
    Each column sums in float64, in the order of the rows; the rows are the outer loop, so the
    inner one walks memory in order and its ``F`` independent sums run in SIMD lanes.
    """
    N, F = dZ.shape
    s = np.zeros(F)
    for n in range(N):
        for f in range(F):
            s[f] += dZ[n, f]
    for f in range(F):
        db[f] += s[f]
    return db


# --8<-- [end:bias_act]


# --8<-- [start:softmax]
@njit(cache=True, fastmath=False)
def softmax_forward(Z, out):
    """Row-wise ``out[n] = exp(Z[n] - max Z[n]) / sum exp(Z[n] - max Z[n])``; Z, out ``(N, C)``.

    Subtracting the row maximum changes nothing mathematically and keeps every ``exp`` <= 1.
    """
    N, C = Z.shape
    for n in range(N):
        m = Z[n, 0]
        for c in range(1, C):
            m = max(m, Z[n, c])
        s = 0.0
        for c in range(C):
            e = math.exp(Z[n, c] - m)
            out[n, c] = e
            s += e
        for c in range(C):
            out[n, c] /= s
    return out


@njit(cache=True, fastmath=False)
def softmax_backward(S, dS, dZ):
    """``dZ[n] = S[n] * (dS[n] - <dS[n], S[n]>)``: the Jacobian ``diag(s) - s s^T`` row by row."""
    N, C = S.shape
    for n in range(N):
        dot = 0.0
        for c in range(C):
            dot += dS[n, c] * S[n, c]
        for c in range(C):
            dZ[n, c] = S[n, c] * (dS[n, c] - dot)
    return dZ


# --8<-- [end:softmax]
