"""The book's mini-batch SGD in matrix form, on ``scratchnet.nn``: the reference tier of the epoch.

Chapter 2 ends with an exercise: push the whole mini-batch through the network as one matrix
instead of ``m`` separate backprops. This module is that exercise, written for reading. Rows are
samples: a mini-batch ``X`` is ``(m, n_0)``, and with ``W_l`` ``(n_l, n_{l-1})`` (the book's
layout, which is also ``Linear``'s) each layer is ``Z_l = A_{l-1} W_l^T + b_l``, ``A_l = f(Z_l)``.

    BP1  Delta_L = (A_L - Y) * f'(Z_L)   quadratic cost
         Delta_L = A_L - Y               cross-entropy (sigmoid) and log-likelihood (softmax)
    BP2  Delta_{l-1} = (Delta_l W_l) * f'(Z_{l-1})
    BP3  dC/db_l = sum over the rows of Delta_l
    BP4  dC/dW_l = Delta_l^T A_{l-1}
    update (L2)  W <- (1 - eta lmbda / n) W - (eta / m) dC/dW,   b <- b - (eta / m) dC/db

``train_epoch`` and ``predict`` take the arguments of ``kernels.fused_mlp``'s, the fast tier,
which computes the same numbers in one compiled call. ``network.SGD`` and ``network2.SGD`` run
this module when the kernel tier is ``reference`` (``SCRATCHNET_KERNELS=reference``).
"""

from __future__ import annotations

import numpy as np

from ..kernels.codes import Activation, Cost, Penalty
from ..nn import Linear, Module, ReLU, Sigmoid, Softmax, Tanh

_MODULES = {Activation.SIGMOID: Sigmoid, Activation.TANH: Tanh, Activation.RELU: ReLU,
            Activation.SOFTMAX: Softmax}
_ROWS = 10_000  # predict's rows per forward: bounds the activations' memory for 50 000 rows


def layers(weights: list[np.ndarray], biases: list[np.ndarray], act: int, out_act: int) -> list[Module]:
    """The network as ``[Linear, f, Linear, f, ..., Linear, f_out]`` sharing the book's arrays.

    Each ``Linear``'s weight is the array ``weights[l]`` itself ``(n_l, n_{l-1})`` and its bias
    a view of the column ``biases[l]`` ``(n_l, 1)``, so an update in place updates the network.
    """
    modules: list[Module] = []
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        linear = Linear(w.shape[1], w.shape[0], dtype=w.dtype)
        linear.weight.data, linear.bias.data = w, b.reshape(-1)
        f = out_act if l == len(weights) - 1 else act
        modules += [linear, _MODULES[Activation(f)]()]
    return modules


def predict(X: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray], act: int,
            out_act: int) -> np.ndarray:
    """Output activations ``A_L`` ``(N, n_L)`` for rows ``X`` ``(N, n_0)``: the forward pass."""
    network = layers(weights, biases, act, out_act)
    out = np.empty((len(X), weights[-1].shape[0]), weights[-1].dtype)
    for start in range(0, len(X), _ROWS):
        A = X[start:start + _ROWS].astype(weights[0].dtype)        # (rows, n_0)
        for module in network:
            A = module(A)                                            # (rows, n_l)
        out[start:start + _ROWS] = A
    return out


# --8<-- [start:step]
def update_mini_batch(network: list[Module], X: np.ndarray, Y: np.ndarray, eta: float, lmbda_n: float,
                      cost: int, reg: int, mu: float, velocities: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """One gradient step on the mini-batch ``X`` ``(m, n_0)``, ``Y`` ``(m, n_L)``, in matrix form.

    ``lmbda_n`` is ``lmbda / n``. Without momentum (``mu = 0``): L2 ``W <- (1 - eta lmbda_n) W -
    (eta/m) dW``, L1 ``W <- W - eta lmbda_n sgn(W) - (eta/m) dW``. With momentum:
    ``V <- mu V - eta dR/dW - (eta/m) dW``, ``W <- W + V`` (R the penalty; biases have none).
    """
    A = X
    for module in network:                          # forward: Z = A W^T + b, A = f(Z)
        module.zero_grad()
        A = module(A)
    delta = A - Y                                   # BP1 for cross-entropy and log-likelihood
    if cost == Cost.QUADRATIC:
        delta = network[-1].backward(delta)         # BP1: (a - y) * f'(z)
    for i in range(len(network) - 2, -1, -1):       # BP4/BP3 into .grad, BP2 down a layer
        delta = network[i].backward(delta, needs_input_grad=i > 0)
    step = eta / len(X)
    for linear, (v_w, v_b) in zip(network[::2], velocities, strict=True):
        W, dW = linear.weight.data, linear.weight.grad
        b, db = linear.bias.data, linear.bias.grad
        if mu != 0.0:
            penalty = lmbda_n * W if reg == Penalty.L2 else lmbda_n * np.sign(W)
            v_w[...] = mu * v_w - eta * penalty - step * dW
            W += v_w
            v_b[...] = mu * v_b - step * db
            b += v_b
        else:
            if reg == Penalty.L1:
                W[...] = W - eta * lmbda_n * np.sign(W) - step * dW
            else:
                W[...] = (1.0 - eta * lmbda_n) * W - step * dW
            b[...] = b - step * db
# --8<-- [end:step]


def train_epoch(X: np.ndarray, Y: np.ndarray, order: np.ndarray, mini_batch_size: int, eta: float,
                lmbda: float, n: int, weights: list[np.ndarray], biases: list[np.ndarray],
                act: int = Activation.SIGMOID, out_act: int = Activation.SIGMOID,
                cost: int = Cost.CROSS_ENTROPY, reg: int = Penalty.L2, mu: float = 0.0,
                velocities: tuple | None = None) -> None:
    """One epoch over the mini-batches ``X[order[k : k + m]]``; updates the arrays in place.

    ``X`` ``(N, n_0)``, targets ``Y`` ``(N, n_L)``; ``weights[l]`` ``(n_l, n_{l-1})`` and
    ``biases[l]`` ``(n_l, 1)`` C-contiguous; ``velocities`` = (weight-shaped, bias-shaped)
    tuples of momentum buffers, kept between epochs by the caller (``None``: start from zero).
    """
    if int(mini_batch_size) != mini_batch_size or mini_batch_size < 1:
        raise ValueError(f"train_epoch: mini_batch_size must be a positive int, got {mini_batch_size!r}")
    network = layers(weights, biases, act, out_act)
    if velocities is None:
        velocities = (tuple(np.zeros_like(w) for w in weights), tuple(np.zeros(b.size, b.dtype) for b in biases))
    buffers = [(v_w, v_b.reshape(-1)) for v_w, v_b in zip(*velocities, strict=True)]
    dtype = weights[0].dtype
    for start in range(0, len(order), mini_batch_size):
        rows = order[start:start + mini_batch_size]
        update_mini_batch(network, X[rows].astype(dtype), Y[rows], eta, lmbda / n, cost, reg, mu, buffers)
