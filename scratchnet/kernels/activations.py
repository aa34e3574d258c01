"""Activation kernels: each forward beside its derivative. Rows are samples: ``(N, features)``.

Backward kernels take the upstream gradient ``dA = dC/dA`` and write ``dZ = dC/dZ``. Sigmoid
and tanh differentiate from their saved *output* (``sigma' = sigma (1 - sigma)``,
``tanh' = 1 - tanh^2``), ReLU from its saved *input* with ``ReLU'(0) = 0`` as in PyTorch.
"""

from __future__ import annotations

import math

from numba import njit

# Activation codes for the fused bias + activation kernel.
IDENTITY, SIGMOID, TANH, RELU = 0, 1, 2, 3


# --8<-- [start:sigmoid]
@njit(cache=True)
def sigmoid_forward(Z, out):
    """``out = sigma(Z) = 1 / (1 + exp(-Z))``, evaluated without overflow for any ``Z``."""
    Zf, of = Z.reshape(-1), out.reshape(-1)
    for i in range(Zf.size):
        z = Zf[i]
        if z >= 0:
            of[i] = 1.0 / (1.0 + math.exp(-z))
        else:
            e = math.exp(z)
            of[i] = e / (1.0 + e)
    return out


@njit(cache=True)
def sigmoid_backward(A, dA, dZ):
    """``dZ = dA * sigma'(Z) = dA * A * (1 - A)`` with ``A = sigma(Z)`` saved from forward."""
    Af, gf, of = A.reshape(-1), dA.reshape(-1), dZ.reshape(-1)
    for i in range(Af.size):
        of[i] = gf[i] * Af[i] * (1.0 - Af[i])
    return dZ
# --8<-- [end:sigmoid]


@njit(cache=True)
def tanh_forward(Z, out):
    """``out = tanh(Z)``."""
    Zf, of = Z.reshape(-1), out.reshape(-1)
    for i in range(Zf.size):
        of[i] = math.tanh(Zf[i])
    return out


@njit(cache=True)
def tanh_backward(A, dA, dZ):
    """``dZ = dA * (1 - A^2)`` with ``A = tanh(Z)``."""
    Af, gf, of = A.reshape(-1), dA.reshape(-1), dZ.reshape(-1)
    for i in range(Af.size):
        of[i] = gf[i] * (1.0 - Af[i] * Af[i])
    return dZ


# --8<-- [start:relu]
@njit(cache=True)
def relu_forward(Z, out):
    """``out = max(Z, 0)``."""
    Zf, of = Z.reshape(-1), out.reshape(-1)
    for i in range(Zf.size):
        of[i] = Zf[i] if Zf[i] > 0 else 0.0
    return out


@njit(cache=True)
def relu_backward(Z, dA, dZ):
    """``dZ = dA * [Z > 0]``: the derivative at exactly 0 is taken as 0, as PyTorch does."""
    Zf, gf, of = Z.reshape(-1), dA.reshape(-1), dZ.reshape(-1)
    for i in range(Zf.size):
        of[i] = gf[i] if Zf[i] > 0 else 0.0
    return dZ
# --8<-- [end:relu]


# --8<-- [start:bias_act]
@njit(cache=True)
def bias_act_forward(Z, b, act, out):
    """``out = f(Z + b)`` with ``b`` broadcast over rows; ``f`` by code (IDENTITY .. RELU).

    Z ``(N, F)``, b ``(F,)``. ``out`` may be ``Z`` itself (in place). Fusing the bias into the
    activation saves one pass over the activations in a Linear layer's forward.
    """
    N, F = Z.shape
    for n in range(N):
        for f in range(F):
            z = Z[n, f] + b[f]
            if act == SIGMOID:
                if z >= 0:
                    z = 1.0 / (1.0 + math.exp(-z))
                else:
                    e = math.exp(z)
                    z = e / (1.0 + e)
            elif act == TANH:
                z = math.tanh(z)
            elif act == RELU:
                z = z if z > 0 else 0.0
            out[n, f] = z
    return out
# --8<-- [end:bias_act]


# --8<-- [start:softmax]
@njit(cache=True)
def softmax_forward(Z, out):
    """Row-wise ``out[n] = exp(Z[n] - max Z[n]) / sum exp(Z[n] - max Z[n])``: finite for any logits."""
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


@njit(cache=True)
def softmax_backward(S, dS, dZ):
    """``dZ[n] = S[n] * (dS[n] - <dS[n], S[n]>)``: the softmax Jacobian applied row by row."""
    N, C = S.shape
    for n in range(N):
        dot = 0.0
        for c in range(C):
            dot += dS[n, c] * S[n, c]
        for c in range(C):
            dZ[n, c] = S[n, c] * (dS[n, c] - dot)
    return dZ


@njit(cache=True)
def log_softmax_forward(Z, out):
    """Row-wise ``out[n] = Z[n] - max Z[n] - log sum exp(Z[n] - max Z[n])``."""
    N, C = Z.shape
    for n in range(N):
        m = Z[n, 0]
        for c in range(1, C):
            m = max(m, Z[n, c])
        s = 0.0
        for c in range(C):
            s += math.exp(Z[n, c] - m)
        lse = m + math.log(s)
        for c in range(C):
            out[n, c] = Z[n, c] - lse
    return out


@njit(cache=True)
def log_softmax_backward(L, dL, dZ):
    """``dZ[n] = dL[n] - exp(L[n]) * sum(dL[n])`` with ``L`` the saved log-softmax."""
    N, C = L.shape
    for n in range(N):
        s = 0.0
        for c in range(C):
            s += dL[n, c]
        for c in range(C):
            dZ[n, c] = dL[n, c] - math.exp(L[n, c]) * s
    return dZ
# --8<-- [end:softmax]
