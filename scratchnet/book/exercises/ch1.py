"""Chapter 1's exercises that compute something: perceptrons as the limit of sigmoid neurons
(exercises 1 and 2), a layer that writes the digit in binary (exercise 3), online learning against
mini-batches (exercise 6) and a network with no hidden layer (exercise 8)."""

from __future__ import annotations

import contextlib
import io
import random
import time

import numpy as np

from .. import network, network2
from ..common import sigmoid


# --8<-- [start:perceptrons]
def feedforward(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray,
                c: float | None = None) -> np.ndarray:
    """The output of a network of perceptrons (``c is None``: ``[w . a + b > 0]``), or of the same
    network of sigmoid neurons with every weight and bias multiplied by ``c``: ``sigma(c (w . a + b))``.

    ``weights[l]`` ``(n_l, n_{l-1})``, ``biases[l]`` ``(n_l,)``, ``x`` ``(n_0,)``; returns ``(n_L,)``.
    """
    a = np.asarray(x, dtype=np.float64)
    for w, b in zip(weights, biases, strict=True):
        z = w @ a + b                                                   # (n_l,)
        a = (z > 0).astype(np.float64) if c is None else sigmoid(c * z)
    return a
# --8<-- [end:perceptrons]


# --8<-- [start:bitwise]
def bitwise_layer(scale: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(4, 10)`` and biases ``(4,)`` of an output layer that writes the digit of the old
    output layer in binary, most significant bit first: output neuron ``k`` takes weight ``+scale``
    from digit ``d`` when bit ``3 - k`` of ``d`` is 1, ``-scale`` when it is 0; biases 0.

    With the correct digit's activation at least 0.99 and the nine others below 0.01, the weighted
    input of a 1-bit is at least ``0.99 scale - 9 (0.01) scale = 0.9 scale`` and that of a 0-bit at
    most ``-0.9 scale``: with ``scale = 10``, outputs above ``sigma(9) = 0.9999`` and below 0.0001.
    """
    bits = (np.arange(10)[None, :] >> np.arange(3, -1, -1)[:, None]) & 1   # (4, 10): bit 3-k of d
    return np.where(bits == 1, scale, -scale).astype(np.float64), np.zeros(4)


def bitwise_outputs(a: np.ndarray, scale: float = 10.0) -> np.ndarray:
    """The new layer's outputs ``(N, 4)`` for old output activations ``a`` ``(N, 10)``."""
    W, b = bitwise_layer(scale)
    return sigmoid(a @ W.T + b)
# --8<-- [end:bitwise]


def _epochs(net, training_data: list, test_data: list, epochs: int, mini_batch_size: int,
            eta: float) -> tuple[list[int], float]:
    """Train ``net`` epoch by epoch (the book's ``SGD``, its prints swallowed); the test accuracy
    after each epoch and the seconds spent training."""
    correct, seconds = [], 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(training_data, 1, mini_batch_size, eta)
        seconds += time.perf_counter() - start
        correct.append(net.evaluate(test_data) if hasattr(net, "evaluate") else net.accuracy(test_data))
    return correct, seconds


# --8<-- [start:no_hidden]
def no_hidden_layer(training_data: list, test_data: list, epochs: int, eta: float,
                    mini_batch_size: int = 10, seed: int = 12345678, improved: bool = False) -> list[int]:
    """Chapter 1, exercise 8: the book's ``network.Network([784, 10])`` (sigmoid outputs, quadratic
    cost, weights ``N(0, 1)``, no hidden layer) trained with ``SGD``; the correct test
    classifications after each epoch. ``improved``: chapter 3's ``network2.Network([784, 10])``
    instead (cross-entropy, weights ``N(0, 1/784)``), the same architecture."""
    random.seed(seed)
    np.random.seed(seed)
    net = network2.Network([784, 10]) if improved else network.Network([784, 10])
    return _epochs(net, list(training_data), test_data, epochs, mini_batch_size, eta)[0]
# --8<-- [end:no_hidden]


def online_against_mini_batches(training_data: list, test_data: list,
                                settings: tuple = ((1, 0.3), (20, 3.0)), epochs: int = 1,
                                seed: int = 12345678) -> dict[int, tuple[list[int], float]]:
    """Chapter 1, exercise 6, measured: the book's ``[784, 30, 10]`` trained with each
    ``(mini_batch_size, eta)``; per size, the test accuracy after each epoch and the training time."""
    result = {}
    for m, eta in settings:
        random.seed(seed)
        np.random.seed(seed)
        result[m] = _epochs(network.Network([784, 30, 10]), list(training_data), test_data, epochs, m, eta)
    return result
