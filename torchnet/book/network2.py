"""The book's ``network2`` on torch tensors: same API as ``scratchnet.book.network2``.

Weights are drawn from NumPy's global stream in the book's order, then moved to torch (float64,
``device=`` or CUDA when present), so a seeded run follows the same path as scratchnet's
(``parity_tests/test_book_parity.py``). Everything after the draw is this module's own, in
torch: the forward pass, autograd's ``sum_x grad C_x`` and the book's update, the monitored
costs and accuracies, the shuffle (the book's Python-2 ``random.shuffle``, one draw at a time),
early stopping and the learning-rate schedule. Only the book's data formats are read with
scratchnet's helpers (``stack``, ``labels_of``), so the parity tests compare two computations.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as tF

from scratchnet.book.common import check_sgd, labels_of, py2_shuffle, stack
from scratchnet.book.mnist_loader import vectorized_result
from scratchnet.book.network2 import CrossEntropyCost, LogLikelihoodCost, QuadraticCost

from .. import default_device

HIDDEN = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


# --8<-- [start:costs]
def cost_from_logits(cost: type, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_x C_x`` over a mini-batch from the output layer's ``z`` ``(m, n_L)``, one-hot ``y``.

    Cross-entropy and log-likelihood start from ``z`` (torch's stable forms), so autograd's
    ``dC/dz`` is the book's ``a - y`` even where the sigmoid saturates to exactly 1.
    """
    if cost is CrossEntropyCost:
        return tF.binary_cross_entropy_with_logits(z, y, reduction="sum")
    if cost is LogLikelihoodCost:
        return tF.cross_entropy(z, y.argmax(1), reduction="sum")
    return 0.5 * ((torch.sigmoid(z) - y) ** 2).sum()
# --8<-- [end:costs]


# --8<-- [start:monitored_costs]
def quadratic_fn(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_x 1/2 ||a_x - y_x||^2`` over rows ``a``, ``y`` ``(N, n_L)`` (the book's ``fn``)."""
    return 0.5 * ((a - y) ** 2).sum()


def cross_entropy_fn(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_x sum_j nan_to_num(-y ln a - (1 - y) ln(1 - a))``, the book's ``fn`` row by row."""
    return torch.nan_to_num(-y * torch.log(a) - (1 - y) * torch.log(1 - a)).sum()


def log_likelihood_fn(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_x -ln a_x[argmax y_x]`` over softmax outputs ``a`` ``(N, n_L)``."""
    return -torch.log(a.gather(1, y.argmax(1, keepdim=True))).sum()


COST_FNS: dict[type, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    QuadraticCost: quadratic_fn, CrossEntropyCost: cross_entropy_fn,
    LogLikelihoodCost: log_likelihood_fn}
# --8<-- [end:monitored_costs]


class Network:
    """``Network(sizes, cost=CrossEntropyCost, activation="sigmoid", device=None)``, float64.

    ``weights[l]`` ``(n_l, n_{l-1})`` and ``biases[l]`` ``(n_l, 1)`` are torch tensors. ``cost``
    is one of the book's cost classes (scratchnet's, so a saved network names the same class);
    its value here is :data:`COST_FNS`' torch function, its gradient autograd's.
    """

    def __init__(self, sizes: list[int], cost: type = CrossEntropyCost,
                 activation: str = "sigmoid", device: str | torch.device | None = None) -> None:
        if activation not in HIDDEN:
            raise ValueError(f"Network: activation must be one of {sorted(HIDDEN)}, "
                             f"got {activation!r}")
        if cost not in COST_FNS:
            raise TypeError("Network: cost must be QuadraticCost, CrossEntropyCost or "
                            f"LogLikelihoodCost, got {cost!r}")
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError("Network: sizes must list at least two positive layer widths, "
                             f"got {sizes}")
        self.device = torch.device(device) if device else default_device()
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.cost = cost
        self.activation = activation
        self._velocities: list[torch.Tensor] | None = None
        self.default_weight_initializer()

    # ------------------------------------------------------------------ initialisation
    def default_weight_initializer(self) -> None:
        """The book's draws from ``np.random`` (``N(0, 1)`` biases, ``N(0, 1/n_in)`` weights)."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self._to_torch()

    def large_weight_initializer(self) -> None:
        """The book's draws from ``np.random`` (``N(0, 1)`` biases and weights)."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self._to_torch()

    def _to_torch(self) -> None:
        def leaf(a) -> torch.Tensor:
            t = torch.tensor(np.asarray(a), dtype=torch.float64, device=self.device)
            return t.requires_grad_()

        self.weights = [leaf(w) for w in self.weights]
        self.biases = [leaf(np.asarray(b).reshape(-1, 1)) for b in self.biases]

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        """``X`` as float64 on the device, converted once per array (SGD reuses its arrays)."""
        cached = getattr(self, "_last_tensor", None)
        if cached is not None and cached[0] is X:
            return cached[1]
        T = torch.as_tensor(X, device=self.device).to(torch.float64)
        self._last_tensor = (X, T)
        return T

    # ------------------------------------------------------------------ forward
    # --8<-- [start:forward]
    def _logits(self, X: torch.Tensor) -> torch.Tensor:
        """Rows ``X`` ``(m, n_0)`` -> the output layer's ``z`` ``(m, n_L)``."""
        f = HIDDEN[self.activation]
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            X = f(X @ w.T + b.view(-1))                                  # (m, n_l)
        return X @ self.weights[-1].T + self.biases[-1].view(-1)         # (m, n_L)
    # --8<-- [end:forward]

    def _activations(self, X: torch.Tensor) -> torch.Tensor:
        """Output activations ``(m, n_L)``: softmax for the log-likelihood cost, else sigmoid."""
        with torch.no_grad():
            z = self._logits(X)
            return torch.softmax(z, 1) if self.cost is LogLikelihoodCost else torch.sigmoid(z)

    def feedforward(self, a) -> torch.Tensor:
        """Output column ``(n_L, 1)`` (a tensor on the device) for an input column ``(n_0, 1)``."""
        x = torch.as_tensor(np.asarray(a), device=self.device).to(torch.float64).reshape(1, -1)
        return self._activations(x).reshape(-1, 1)

    # ------------------------------------------------------------------ monitoring
    def _correct(self, X: torch.Tensor, labels: torch.Tensor) -> int:
        """How many rows of ``X`` the network classifies as ``labels`` ``(N,)``."""
        return int((self._activations(X).argmax(1) == labels).sum().item())

    def _penalty(self, lmbda: float, N: int, regularization: str) -> torch.Tensor:
        """``(lmbda / N) sum |w|`` (L1) or ``(lmbda / 2N) sum w^2`` (L2), weights only."""
        with torch.no_grad():
            if regularization == "L1":
                return (lmbda / N) * sum(w.abs().sum() for w in self.weights)
            return 0.5 * (lmbda / N) * sum((w ** 2).sum() for w in self.weights)

    def _total_cost(self, X: torch.Tensor, Y: torch.Tensor, lmbda: float,
                    regularization: str) -> float:
        """``(1/N) sum_x C_x`` plus the penalty, for rows ``X`` and one-hot ``Y`` ``(N, n_L)``."""
        N = len(X)
        cost = COST_FNS[self.cost](self._activations(X), Y) / N
        return float((cost + self._penalty(lmbda, N, regularization)).item())

    def accuracy(self, data: list, convert: bool = False) -> int:
        """Correct classifications in ``data``; ``convert=True`` when y are one-hot (training)."""
        X, _ = stack(data, "data", self.sizes[0], self.sizes[-1] if convert else None)
        labels = torch.as_tensor(labels_of(data, self.sizes[-1]), device=self.device)
        return self._correct(self._tensor(X), labels)

    def total_cost(self, data: list, lmbda: float, convert: bool = False) -> float:
        """``(1/N) sum_x C_x + (lmbda / 2N) sum_w w^2``; ``convert=True`` when y are int labels."""
        X, _ = stack(data, "data", self.sizes[0], None if convert else self.sizes[-1])
        labels = torch.as_tensor(labels_of(data, self.sizes[-1]), device=self.device)
        Y = tF.one_hot(labels, self.sizes[-1]).to(torch.float64)             # (N, n_L)
        return self._total_cost(self._tensor(X), Y, lmbda, "L2")

    # ------------------------------------------------------------------ training
    # --8<-- [start:sgd]
    def SGD(self, training_data: list, epochs: int, mini_batch_size: int, eta: float,
            lmbda: float = 0.0, evaluation_data: list | None = None,
            monitor_evaluation_cost: bool = False, monitor_evaluation_accuracy: bool = False,
            monitor_training_cost: bool = False, monitor_training_accuracy: bool = False,
            early_stopping_n: int = 0, lr_schedule_n: int = 0, regularization: str = "L2",
            mu: float = 0.0) -> tuple[list, list, list, list]:
        """Mini-batch SGD; returns ``(evaluation_cost, evaluation_accuracy, training_cost,
        training_accuracy)``, one entry per epoch for each quantity monitored.

        The book's rules, as ``scratchnet.book.network2.Network.SGD`` states them: each epoch
        shuffles ``training_data`` (Python 2's ``random.shuffle``); ``early_stopping_n`` stops
        after that many epochs without a better evaluation accuracy; ``lr_schedule_n`` halves
        eta after that many (counting again after each halving) and stops once eta reaches
        eta0/128; ``regularization="L1"`` and momentum ``mu`` change the update (:meth:`_step`).
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
        X_np, Y_np = stack(training_data, "training_data", self.sizes[0], self.sizes[-1])
        X, Y = self._tensor(X_np), torch.as_tensor(Y_np, device=self.device)
        labels = Y.argmax(1)
        if evaluation_data:
            n_data = len(evaluation_data)
            one_hot = np.ndim(evaluation_data[0][1]) != 0
            Xe_np, _ = stack(evaluation_data, "evaluation_data", self.sizes[0],
                             self.sizes[-1] if one_hot else None)
            Xe = torch.as_tensor(Xe_np, device=self.device).to(torch.float64)
            ye = torch.as_tensor(labels_of(evaluation_data, self.sizes[-1]), device=self.device)
            Ye = tF.one_hot(ye, self.sizes[-1]).to(torch.float64)             # (n_data, n_L)
        self._velocities = None
        order = list(range(n))
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        best, since_best, since_change, eta0 = -1, 0, 0, eta
        for j in range(epochs):
            py2_shuffle(order)                       # the book's random.shuffle(training_data)
            self._epoch(X, Y, order, mini_batch_size, eta, lmbda, n, regularization, mu)
            print(f"Epoch {j} training complete")
            if monitor_training_cost:
                training_cost.append(self._total_cost(X, Y, lmbda, regularization))
                print(f"Cost on training data: {training_cost[-1]}")
            if monitor_training_accuracy:
                training_accuracy.append(self._correct(X, labels))
                print(f"Accuracy on training data: {training_accuracy[-1]} / {n}")
            if monitor_evaluation_cost:
                evaluation_cost.append(self._total_cost(Xe, Ye, lmbda, regularization))
                print(f"Cost on evaluation data: {evaluation_cost[-1]}")
            if monitor_evaluation_accuracy:
                accuracy = self._correct(Xe, ye)
                evaluation_accuracy.append(accuracy)
                print(f"Accuracy on evaluation data: {accuracy} / {n_data}")
                if accuracy > best:                  # a tie is no improvement
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
        training_data[:] = [training_data[i] for i in order]
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy
    # --8<-- [end:sgd]

    def _epoch(self, X: torch.Tensor, Y: torch.Tensor, order: list[int], mini_batch_size: int,
               eta: float, lmbda: float, n: int, regularization: str, mu: float) -> None:
        """Mini-batches ``X[order]`` of ``mini_batch_size`` rows, one autograd step each."""
        idx = torch.as_tensor(order, dtype=torch.int64, device=self.device)
        if mu and self._velocities is None:
            self._velocities = [torch.zeros_like(p) for p in self.weights + self.biases]
        for start in range(0, len(order), mini_batch_size):
            rows = idx[start:start + mini_batch_size]
            self._step(X[rows], Y[rows], eta, lmbda, n, regularization, mu)

    # --8<-- [start:update]
    def _step(self, Xb: torch.Tensor, Yb: torch.Tensor, eta: float, lmbda: float, n: int,
              regularization: str, mu: float) -> None:
        """Autograd gives ``nabla = sum_x dC_x/dw``; then the book's
        ``w <- (1 - eta lmbda/n) w - (eta/m) nabla`` (L1: ``w - eta (lmbda/n) sgn(w) - ...``;
        momentum: ``v <- mu v - eta grad``, ``w <- w + v``, the penalty on weights only)."""
        params = self.weights + self.biases
        grads = torch.autograd.grad(cost_from_logits(self.cost, self._logits(Xb), Yb), params)
        step, L = eta / len(Xb), len(self.weights)
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                is_weight = i < L
                if mu:
                    penalty = (lmbda / n) * (p if regularization == "L2" else torch.sign(p))
                    v = self._velocities[i]
                    v.copy_(mu * v - eta * penalty - step * g if is_weight else mu * v - step * g)
                    p.copy_(p + v)
                elif not is_weight:
                    p.copy_(p - step * g)
                elif regularization == "L1":
                    p.copy_(p - eta * (lmbda / n) * torch.sign(p) - step * g)
                else:
                    p.copy_((1 - eta * (lmbda / n)) * p - step * g)
    # --8<-- [end:update]

    def update_mini_batch(self, mini_batch: list, eta: float, lmbda: float, n: int) -> None:
        """One step on ``mini_batch`` with L2 weight decay ``(1 - eta lmbda / n)``."""
        X, Y = stack(mini_batch, "mini_batch", self.sizes[0], self.sizes[-1])
        self._velocities = None
        self._step(torch.as_tensor(X, device=self.device).to(torch.float64),
                   torch.as_tensor(Y, device=self.device), eta, lmbda, n, "L2", 0.0)

    def backprop(self, x, y) -> tuple[list, list]:
        """``(nabla_b, nabla_w)`` for one sample, from autograd (NumPy, the book's shapes)."""
        X = torch.as_tensor(np.asarray(x), device=self.device).to(torch.float64).reshape(1, -1)
        Y = torch.as_tensor(np.asarray(y), device=self.device).to(torch.float64).reshape(1, -1)
        grads = torch.autograd.grad(cost_from_logits(self.cost, self._logits(X), Y),
                                    self.biases + self.weights)
        L = len(self.weights)
        return [g.cpu().numpy() for g in grads[:L]], [g.cpu().numpy() for g in grads[L:]]

    # ------------------------------------------------------------------ saving
    def _numpy_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays (what ``scratchnet.book.speed`` reads)."""
        return [w.detach().cpu().numpy() for w in self.weights]

    def _numpy_biases(self) -> list[np.ndarray]:
        """The biases as NumPy columns ``(n_l, 1)``."""
        return [b.detach().cpu().numpy() for b in self.biases]

    def save(self, filename: str) -> None:
        """Save sizes, weights, biases and the cost's name as JSON (the book's format, plus the
        hidden activation): the same file as scratchnet's ``save``."""
        data = {"sizes": self.sizes, "weights": [w.tolist() for w in self._numpy_weights()],
                "biases": [b.tolist() for b in self._numpy_biases()],
                "cost": str(self.cost.__name__), "activation": self.activation}
        with open(filename, "w") as f:
            json.dump(data, f)


def load(filename: str, device: str | torch.device | None = None) -> Network:
    """Load a network saved by ``save`` (either library's: the JSON is the same)."""
    with open(filename) as f:
        data = json.load(f)
    cost = getattr(sys.modules[__name__], data["cost"])
    net = Network(data["sizes"], cost=cost, activation=data.get("activation", "sigmoid"),
                  device=device)
    net.weights, net.biases = data["weights"], data["biases"]
    net._to_torch()
    return net


__all__ = ["COST_FNS", "CrossEntropyCost", "LogLikelihoodCost", "Network", "QuadraticCost",
           "cost_from_logits", "cross_entropy_fn", "load", "log_likelihood_fn", "quadratic_fn",
           "vectorized_result"]
