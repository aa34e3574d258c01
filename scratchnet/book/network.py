"""network.py — the book's chapter 1 network, with the mini-batch going through the kernels.

Same class, methods, data formats and printed lines as the book's ``network.py``. Inside,
``SGD`` runs each epoch with the mini-batch as one ``(m, 784)`` matrix, not ``m`` separate
backprops: in one compiled call (``kernels.fused_mlp``, the fast tier) or, under
``SCRATCHNET_KERNELS=reference``, through the readable matrix form on ``scratchnet.nn``
(``book.matrix_form``). ``update_mini_batch`` and ``backprop`` are the book's per-sample code,
for reading and for the tests that check the three agree.
"""

from __future__ import annotations

import random

import numpy as np

from ..kernels.codes import Activation, Cost
from .common import (
    check_sgd,
    epoch_kernels,
    labels_of,
    leave_in_order,
    rows_in_order,
    shuffled_order,
    sigmoid,
    sigmoid_prime,
    stack,
)


class Network:
    """A sigmoid network with the quadratic cost (chapter 1).

    ``sizes`` e.g. ``[784, 30, 10]``. Biases ``(n_l, 1)`` and weights ``(n_l, n_{l-1})`` are
    drawn from ``N(0, 1)`` with ``np.random.randn``, biases first, as the book does.
    """

    def __init__(self, sizes: list[int]) -> None:
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:], strict=True)]

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """Output for input column ``a`` ``(n_0, 1)``: ``a <- sigma(w a + b)`` layer by layer."""
        for b, w in zip(self.biases, self.weights, strict=True):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data: list, epochs: int, mini_batch_size: int, eta: float,
            test_data: list | None = None) -> None:
        """Mini-batch stochastic gradient descent; prints progress per epoch as the book does.

        ``training_data`` is a list of ``(x, y)`` with one-hot ``y``; it is shuffled in place
        each epoch with the book's (Python 2) shuffle.
        """
        check_sgd(epochs, mini_batch_size, eta)
        n = len(training_data)
        X, Y, order = rows_in_order(training_data, "training_data", self.sizes[0], self.sizes[-1])
        if test_data:
            n_test = len(test_data)
            Xt, yt = stack(test_data, "test_data", self.sizes[0], None)
        for j in range(epochs):
            order = shuffled_order(order)
            epoch_kernels().train_epoch(X, Y, order, mini_batch_size, eta, 0.0, n, self.weights,
                                        self.biases, cost=Cost.QUADRATIC)
            if test_data:
                print(f"Epoch {j}: {self._correct(Xt, yt)} / {n_test}")
            else:
                print(f"Epoch {j} complete")
        leave_in_order(training_data, order)

    # --8<-- [start:update_mini_batch]
    def update_mini_batch(self, mini_batch: list, eta: float) -> None:
        """One gradient step on ``mini_batch`` (a list of ``(x, y)``), the book's per-sample way.

        ``w <- w - (eta / m) sum_x dC_x/dw`` (and the same for ``b``), each ``dC_x/dw`` from
        ``backprop``.
        """
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=True)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=True)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w, strict=True)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b, strict=True)]
    # --8<-- [end:update_mini_batch]

    # --8<-- [start:backprop]
    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        """``(nabla_b, nabla_w)``: the gradient of the cost for one sample, layer by layer.

        The four equations: ``delta^L = (a^L - y) * sigma'(z^L)`` (BP1),
        ``delta^l = (w^{l+1})^T delta^{l+1} * sigma'(z^l)`` (BP2),
        ``dC/db^l = delta^l`` (BP3), ``dC/dw^l = delta^l (a^{l-1})^T`` (BP4).
        """
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights, strict=True):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = sigmoid_prime(z)
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w
    # --8<-- [end:backprop]

    def evaluate(self, test_data: list) -> int:
        """How many test inputs the network classifies correctly (``argmax`` of the output)."""
        X, _ = stack(test_data, "test_data", self.sizes[0], None)
        return self._correct(X, labels_of(test_data, self.sizes[-1]))

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``dC_x/da`` for the quadratic cost: ``a - y``."""
        return output_activations - y

    def _correct(self, X: np.ndarray, y: np.ndarray) -> int:
        out = epoch_kernels().predict(X, self.weights, self.biases, Activation.SIGMOID, Activation.SIGMOID)
        return int((out.argmax(axis=1) == y).sum())


__all__ = ["Network", "random", "sigmoid", "sigmoid_prime"]
