"""network2.py — the book's improved network (chapter 3), on scratchnet's kernels.

The book's names, signatures, printed lines and return values, so its snippets run unchanged;
each epoch runs with the mini-batch as one matrix, in one compiled call (the fast tier) or
through ``book.matrix_form`` on ``scratchnet.nn`` (``SCRATCHNET_KERNELS=reference``);
``update_mini_batch`` and ``backprop`` are the book's per-sample code. Chapter 3's exercises
are keyword arguments whose defaults keep the book's behaviour: ``early_stopping_n``,
``lr_schedule_n`` (halve eta on a plateau until eta0/128), ``regularization="L1"``, momentum
``mu``, ``LogLikelihoodCost`` (softmax output layer), ``activation="tanh" | "relu"``.
"""

from __future__ import annotations

import json
import random
import sys

import numpy as np

from ..kernels.codes import Activation, Cost, Penalty
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
from .mnist_loader import vectorized_result


# --8<-- [start:costs]
class QuadraticCost:
    """``C = 1/2 ||a - y||^2``; output error ``delta = (a - y) * sigma'(z)``."""

    code = Cost.QUADRATIC

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """``C = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)]``; ``delta = a - y`` (no sigma' term)."""

    code = Cost.CROSS_ENTROPY

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return a - y


class LogLikelihoodCost:
    """Softmax output with ``C = -ln a_y``; ``delta = a - y`` (chapter 3's softmax section)."""

    code = Cost.LOG_LIKELIHOOD

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        return float(-np.log(a[np.argmax(y)]).item())

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return a - y
# --8<-- [end:costs]


ACTIVATIONS = {"sigmoid": Activation.SIGMOID, "tanh": Activation.TANH, "relu": Activation.RELU}
# The hidden layers' f and f' for the per-sample ``backprop``.
HIDDEN = {"sigmoid": (sigmoid, sigmoid_prime),
          "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
          "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64))}


def softmax(z: np.ndarray) -> np.ndarray:
    """``e^{z_j} / sum_k e^{z_k}`` over a column ``z`` ``(n, 1)``, shifted by its max."""
    e = np.exp(z - z.max())
    return e / e.sum()


class Network:
    """``Network(sizes, cost=CrossEntropyCost)``, with the book's default initialisation."""

    def __init__(self, sizes: list[int], cost=CrossEntropyCost,
                 activation: str = "sigmoid") -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"Network: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {activation!r}")
        if getattr(cost, "code", None) not in (Cost.QUADRATIC, Cost.CROSS_ENTROPY, Cost.LOG_LIKELIHOOD):
            raise TypeError("Network: cost must be QuadraticCost, CrossEntropyCost or "
                            f"LogLikelihoodCost (the kernel knows their deltas), got {cost!r}")
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError("Network: sizes must list at least two positive layer widths, "
                             f"got {sizes}")
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.cost = cost
        self.activation = activation
        self.default_weight_initializer()

    # --8<-- [start:initializers]
    def default_weight_initializer(self) -> None:
        """Biases ``N(0, 1)``; weights ``N(0, 1/n_in)``, so ``z`` does not saturate the neuron."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)]

    def large_weight_initializer(self) -> None:
        """Chapter 1's initialisation: biases and weights ``N(0, 1)``."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
    # --8<-- [end:initializers]

    @property
    def _out_act(self) -> int:
        return Activation.SOFTMAX if self.cost.code == Cost.LOG_LIKELIHOOD else Activation.SIGMOID

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """Output column ``(n_L, 1)`` for input column ``a`` ``(n_0, 1)``."""
        return self._output(np.asarray(a, dtype=np.float64).reshape(1, -1)).reshape(-1, 1)

    def _contiguous(self) -> None:
        self.weights = [np.ascontiguousarray(w, dtype=np.float64) for w in self.weights]
        self.biases = [np.ascontiguousarray(b, dtype=np.float64).reshape(-1, 1)
                       for b in self.biases]

    # Hooks torchnet.book.network2 overrides: the output rows, the weights as NumPy, one epoch.
    def _output(self, X: np.ndarray) -> np.ndarray:
        """Output activations ``(N, n_L)`` for rows ``X`` ``(N, n_0)``."""
        self._contiguous()
        return epoch_kernels().predict(X, self.weights, self.biases, ACTIVATIONS[self.activation], self._out_act)

    def _numpy_weights(self) -> list[np.ndarray]:
        return self.weights

    def _epoch(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, mini_batch_size: int,
               eta: float, lmbda: float, n: int, regularization: str, mu: float) -> None:
        """One epoch of mini-batches ``X[order]`` in the fused kernel (momentum kept between)."""
        self._contiguous()
        if mu and getattr(self, "_velocities", None) is None:
            self._velocities = (tuple(np.zeros_like(w) for w in self.weights),
                                tuple(np.zeros(b.size) for b in self.biases))
        epoch_kernels().train_epoch(X, Y, order, mini_batch_size, eta, lmbda, n, self.weights, self.biases,
                      act=ACTIVATIONS[self.activation], out_act=self._out_act, cost=self.cost.code,
                      reg=Penalty.L1 if regularization == "L1" else Penalty.L2, mu=mu,
                      velocities=self._velocities if mu else None)

    # --8<-- [start:sgd]
    def SGD(self, training_data: list, epochs: int, mini_batch_size: int, eta: float,
            lmbda: float = 0.0, evaluation_data: list | None = None,
            monitor_evaluation_cost: bool = False, monitor_evaluation_accuracy: bool = False,
            monitor_training_cost: bool = False, monitor_training_accuracy: bool = False,
            early_stopping_n: int = 0, lr_schedule_n: int = 0, regularization: str = "L2",
            mu: float = 0.0) -> tuple[list, list, list, list]:
        """Mini-batch SGD; returns ``(evaluation_cost, evaluation_accuracy, training_cost,
        training_accuracy)``, one entry per epoch for each quantity monitored.

        Per mini-batch of size m (L2): ``w <- (1 - eta lmbda / n) w - (eta / m) sum_x dC_x/dw``,
        ``b <- b - (eta / m) sum_x dC_x/db``, n = len(training_data). Chapter 3's additions, off
        by default: ``early_stopping_n`` stops after that many epochs without a better
        evaluation accuracy; ``lr_schedule_n`` halves eta after that many and stops once eta
        reaches eta0/128; ``regularization="L1"``: ``w <- w - eta (lmbda/n) sgn(w) - ...``;
        momentum ``mu``: ``v <- mu v - eta grad(C)``, ``w <- w + v``.
        """
        if regularization not in ("L1", "L2"):
            raise ValueError(f"SGD: regularization must be 'L1' or 'L2', got {regularization!r}")
        watched = evaluation_data and monitor_evaluation_accuracy
        if (early_stopping_n or lr_schedule_n) and not watched:
            raise ValueError("SGD: early stopping and the learning-rate schedule watch the "
                             "evaluation accuracy: pass evaluation_data and "
                             "monitor_evaluation_accuracy=True")
        check_sgd(epochs, mini_batch_size, eta)
        n = len(training_data)
        X, Y, order = rows_in_order(training_data, "training_data", self.sizes[0], self.sizes[-1])
        rows = np.arange(n)  # the row of X behind each row of the matrices the epochs see
        if monitor_training_cost or monitor_training_accuracy:  # its sums in the list's order, as the book's
            X, Y, rows, order = X[order], Y[order], order, np.arange(n)
        if evaluation_data:
            n_data = len(evaluation_data)
            one_hot = np.ndim(evaluation_data[0][1]) != 0
            Xe, _ = stack(evaluation_data, "evaluation_data", self.sizes[0],
                          self.sizes[-1] if one_hot else None)
            ye = labels_of(evaluation_data, self.sizes[-1])
        self._velocities = None
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        best, since_best, since_change, eta0 = -1, 0, 0, eta
        for j in range(epochs):
            order = shuffled_order(order)            # the book's random.shuffle(training_data)
            self._epoch(X, Y, order, mini_batch_size, eta, lmbda, n, regularization, mu)
            print(f"Epoch {j} training complete")
            if monitor_training_cost:
                training_cost.append(self._total_cost(X, Y, lmbda, regularization))
                print(f"Cost on training data: {training_cost[-1]}")
            if monitor_training_accuracy:
                training_accuracy.append(int((self._output(X).argmax(1) == Y.argmax(1)).sum()))
                print(f"Accuracy on training data: {training_accuracy[-1]} / {n}")
            if monitor_evaluation_cost:
                Ye = np.eye(self.sizes[-1])[ye]                       # (n_data, n_L)
                evaluation_cost.append(self._total_cost(Xe, Ye, lmbda, regularization))
                print(f"Cost on evaluation data: {evaluation_cost[-1]}")
            if monitor_evaluation_accuracy:
                accuracy = int((self._output(Xe).argmax(1) == ye).sum())
                evaluation_accuracy.append(accuracy)
                print(f"Accuracy on evaluation data: {accuracy} / {n_data}")
                if accuracy > best:
                    best, since_best, since_change = accuracy, 0, 0
                else:
                    since_best, since_change = since_best + 1, since_change + 1
                if early_stopping_n and since_best == early_stopping_n:
                    print(f"Early stopping: no improvement in {early_stopping_n} epochs")
                    break
                if lr_schedule_n and since_change == lr_schedule_n:
                    eta, since_change = eta / 2, 0
                    print(f"Learning rate halved to {eta}")
                    if eta <= eta0 / 128:
                        print("Learning rate is down to 1/128 of its first value: stopping")
                        break
            print()
        leave_in_order(training_data, rows[order])
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy
    # --8<-- [end:sgd]

    def update_mini_batch(self, mini_batch: list, eta: float, lmbda: float, n: int) -> None:
        """One step on ``mini_batch``, the book's per-sample way, with L2 weight decay.

        ``w <- (1 - eta lmbda / n) w - (eta / m) sum_x dC_x/dw``, ``b <- b - (eta / m) sum_x
        dC_x/db``, each ``dC_x`` from ``backprop``.
        """
        self._contiguous()
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=True)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=True)]
        self.weights = [(1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw
                        for w, nw in zip(self.weights, nabla_w, strict=True)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b, strict=True)]

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        """``(nabla_b, nabla_w)`` for one sample ``x`` ``(n_0, 1)``, ``y`` ``(n_L, 1)``.

        BP1 is ``self.cost.delta(z, a, y)``; BP2 ``delta^l = (w^{l+1})^T delta^{l+1} * f'(z^l)``.
        """
        f, df = HIDDEN[self.activation]
        activation, activations, zs = x, [x], []
        for l, (b, w) in enumerate(zip(self.biases, self.weights, strict=True)):
            zs.append(np.dot(w, activation) + b)
            last = l == len(self.weights) - 1
            activation = (softmax(zs[-1]) if self._out_act == Activation.SOFTMAX else sigmoid(zs[-1])) \
                if last else f(zs[-1])
            activations.append(activation)
        delta = self.cost.delta(zs[-1], activations[-1], y)
        nabla_b, nabla_w = [delta], [np.dot(delta, activations[-2].T)]
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].T, delta) * df(zs[-l])
            nabla_b.insert(0, delta)
            nabla_w.insert(0, np.dot(delta, activations[-l - 1].T))
        return nabla_b, nabla_w

    def accuracy(self, data: list, convert: bool = False) -> int:
        """Correct classifications in ``data``; ``convert=True`` when y are one-hot (training)."""
        X, _ = stack(data, "data", self.sizes[0], self.sizes[-1] if convert else None)
        return int((self._output(X).argmax(1) == labels_of(data, self.sizes[-1])).sum())

    def total_cost(self, data: list, lmbda: float, convert: bool = False) -> float:
        """``(1/N) sum_x C_x + (lmbda / 2N) sum_w w^2``; ``convert=True`` when y are int labels."""
        X, _ = stack(data, "data", self.sizes[0], None if convert else self.sizes[-1])
        Y = np.eye(self.sizes[-1])[labels_of(data, self.sizes[-1])]               # (N, n_L)
        return self._total_cost(X, Y, lmbda, "L2")

    def _total_cost(self, X: np.ndarray, Y: np.ndarray, lmbda: float, regularization: str) -> float:
        A = self._output(X)                                                       # (N, n_L)
        cost = sum(self.cost.fn(a.reshape(-1, 1), y.reshape(-1, 1))
                   for a, y in zip(A, Y, strict=True)) / len(X)
        if regularization == "L1":
            return float(cost + (lmbda / len(X))
                         * sum(np.abs(w).sum() for w in self._numpy_weights()))
        return float(cost + 0.5 * (lmbda / len(X))
                     * sum(np.linalg.norm(w) ** 2 for w in self._numpy_weights()))

    def save(self, filename: str) -> None:
        """Save sizes, weights, biases and the cost's name as JSON (the book's format, plus the
        hidden activation)."""
        data = {"sizes": self.sizes, "weights": [w.tolist() for w in self._numpy_weights()],
                "biases": [np.asarray(b).tolist() for b in self._numpy_biases()],
                "cost": str(self.cost.__name__), "activation": self.activation}
        with open(filename, "w") as f:
            json.dump(data, f)

    def _numpy_biases(self) -> list[np.ndarray]:
        return self.biases


def load(filename: str) -> Network:
    """Load a network saved by :meth:`Network.save`."""
    with open(filename) as f:
        data = json.load(f)
    cost = getattr(sys.modules[__name__], data["cost"])
    net = Network(data["sizes"], cost=cost, activation=data.get("activation", "sigmoid"))
    net.weights = [np.array(w) for w in data["weights"]]
    net.biases = [np.array(b) for b in data["biases"]]
    return net


__all__ = ["CrossEntropyCost", "LogLikelihoodCost", "Network", "QuadraticCost", "load", "random",
           "sigmoid", "sigmoid_prime", "vectorized_result"]
