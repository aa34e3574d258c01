"""Chapter 2's exercises that compute something: backpropagation through neurons with other
activation functions (exercises 2 and 3), the equations with diagonal matrices instead of Hadamard
products (problem 1), and the fully matrix-based mini-batch against the per-sample loop (problem 2)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ...kernels import fused_mlp
from ...kernels.codes import Activation, Cost
from .. import matrix_form, network
from ..common import sigmoid, sigmoid_prime

Activation1 = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]
SIGMOID: Activation1 = (sigmoid, sigmoid_prime)
LINEAR: Activation1 = (lambda z: z, np.ones_like)


# --8<-- [start:backprop_any]
def backprop_any(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                 neurons: Sequence[Sequence[Activation1]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(nabla_b, nabla_w)`` of the quadratic cost ``C = ||a^L - y||^2 / 2`` for one sample, when
    neuron ``j`` of layer ``l`` outputs ``f(z^l_j)`` with its own ``(f, f') = neurons[l][j]``.

    Only ``sigma'`` changes in the four equations: with ``f'(z^l)`` the vector of each neuron's own
    derivative, ``delta^L = (a^L - y) * f'(z^L)`` (BP1) and ``delta^l = ((w^{l+1})^T delta^{l+1}) *
    f'(z^l)`` (BP2); BP3 and BP4 do not involve the activation. ``x`` ``(n_0,)``, ``y`` ``(n_L,)``.
    """
    a, activations, derivatives = np.asarray(x, dtype=np.float64), [], []
    for w, b, layer in zip(weights, biases, neurons, strict=True):
        activations.append(a)
        z = w @ a + b                                                   # (n_l,)
        a = np.array([f(zj) for (f, _), zj in zip(layer, z, strict=True)])
        derivatives.append(np.array([df(zj) for (_, df), zj in zip(layer, z, strict=True)]))
    delta = (a - y) * derivatives[-1]                                   # BP1
    nabla_b, nabla_w = [delta], [np.outer(delta, activations[-1])]      # BP3, BP4
    for l in range(len(weights) - 2, -1, -1):
        delta = (weights[l + 1].T @ delta) * derivatives[l]             # BP2
        nabla_b.insert(0, delta)
        nabla_w.insert(0, np.outer(delta, activations[l]))
    return nabla_b, nabla_w
# --8<-- [end:backprop_any]


# --8<-- [start:diagonal]
def errors_with_diagonals(weights: list[np.ndarray], zs: list[np.ndarray], grad_a: np.ndarray) -> list[np.ndarray]:
    """Problem 1: ``delta^l = Sigma'(z^l) (w^{l+1})^T ... Sigma'(z^{L-1}) (w^L)^T Sigma'(z^L) grad_a C``,
    with ``Sigma'(z) = diag(sigma'(z))``, as ordinary matrix products; ``zs[l]`` ``(n_l,)``."""
    delta = np.diag(sigmoid_prime(zs[-1])) @ grad_a                     # BP1: Sigma'(z^L) grad_a C
    deltas = [delta]
    for l in range(len(zs) - 2, -1, -1):
        delta = np.diag(sigmoid_prime(zs[l])) @ weights[l + 1].T @ delta  # BP2
        deltas.insert(0, delta)
    return deltas
# --8<-- [end:diagonal]


def epoch_timings(net: network.Network, training_data: list, mini_batch_size: int = 10,
                  eta: float = 3.0) -> dict[str, tuple[float, list[np.ndarray]]]:
    """Problem 2, measured: one epoch over ``training_data`` in the book's order (no shuffle), three
    ways from the same starting weights — the book's per-sample ``update_mini_batch``, the matrix
    form on ``scratchnet.nn`` (``book.matrix_form``) and the fused compiled epoch
    (``kernels.fused_mlp``). Returns, per way, the seconds and the weights and biases it ended with."""
    X = np.concatenate([x.T for x, _ in training_data])                # (n, n_0)
    Y = np.concatenate([y.T for _, y in training_data]).astype(np.float64)  # (n, n_L)
    order = np.arange(len(X))
    start_w, start_b = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    result = {}
    for name in ("per-sample", "matrix form", "fused"):
        net.weights, net.biases = [w.copy() for w in start_w], [b.copy() for b in start_b]
        start = time.perf_counter()
        if name == "per-sample":
            for k in range(0, len(training_data), mini_batch_size):
                net.update_mini_batch(training_data[k:k + mini_batch_size], eta)
        else:
            epoch = matrix_form.train_epoch if name == "matrix form" else fused_mlp.train_epoch
            epoch(X, Y, order, mini_batch_size, eta, 0.0, len(X), net.weights, net.biases,
                  act=Activation.SIGMOID, out_act=Activation.SIGMOID, cost=Cost.QUADRATIC)
        result[name] = (time.perf_counter() - start, net.weights + net.biases)
    return result
