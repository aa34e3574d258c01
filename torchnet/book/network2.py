"""The book's ``network2`` on torch tensors: same API as ``scratchnet.book.network2``.

Weights are drawn from NumPy's global stream in the book's order, then moved to torch, so a
seeded run follows the same path as scratchnet's (``parity_tests/test_book_parity.py``).
Gradients come from autograd; the update is the book's, mini-batch by mini-batch.
"""

from __future__ import annotations

import numpy as np
import torch

from scratchnet.book.common import labels_of, shuffled_order, stack

from .. import default_device


# --8<-- [start:costs]
class QuadraticCost:
    """``C = 1/2 ||a - y||^2`` summed over the mini-batch's samples."""

    @staticmethod
    def fn(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((a - y) ** 2).sum()


class CrossEntropyCost:
    """``C = -sum [y ln a + (1 - y) ln(1 - a)]`` (torch's BCE, summed)."""

    @staticmethod
    def fn(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy(a, y, reduction="sum")
# --8<-- [end:costs]


class Network:
    """``Network(sizes, cost=CrossEntropyCost, device=None)``; float64 like the book."""

    def __init__(self, sizes: list[int], cost=CrossEntropyCost, device: str | torch.device | None = None) -> None:
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.cost = cost
        self.device = torch.device(device) if device else default_device()
        self.default_weight_initializer()

    def _from_numpy(self, biases: list[np.ndarray], weights: list[np.ndarray]) -> None:
        self.biases = [torch.tensor(b.reshape(-1), dtype=torch.float64, device=self.device) for b in biases]
        self.weights = [torch.tensor(w, dtype=torch.float64, device=self.device) for w in weights]

    def default_weight_initializer(self) -> None:
        """Biases ``N(0, 1)``, weights ``N(0, 1/n_in)``: the same NumPy draws as the book."""
        b = [np.random.randn(y, 1) for y in self.sizes[1:]]
        w = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self._from_numpy(b, w)

    def large_weight_initializer(self) -> None:
        b = [np.random.randn(y, 1) for y in self.sizes[1:]]
        w = [np.random.randn(y, x) for x, y in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self._from_numpy(b, w)

    # --8<-- [start:forward]
    def _forward(self, X: torch.Tensor) -> torch.Tensor:
        """Rows X ``(m, n_0)`` -> output activations ``(m, n_L)``."""
        for w, b in zip(self.weights, self.biases, strict=True):
            X = torch.sigmoid(X @ w.T + b)
        return X
    # --8<-- [end:forward]

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """Output column for an input column ``a`` ``(n_0, 1)``."""
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(a, dtype=np.float64).reshape(1, -1), device=self.device)
            return self._forward(x).cpu().numpy().reshape(-1, 1)

    def _correct(self, X: torch.Tensor, y: np.ndarray) -> int:
        with torch.no_grad():
            return int((self._forward(X).argmax(1).cpu().numpy() == y).sum())

    def SGD(self, training_data: list, epochs: int, mini_batch_size: int, eta: float, lmbda: float = 0.0,
            evaluation_data: list | None = None, monitor_evaluation_cost: bool = False,
            monitor_evaluation_accuracy: bool = False, monitor_training_cost: bool = False,
            monitor_training_accuracy: bool = False) -> tuple[list, list, list, list]:
        """The book's mini-batch SGD with L2; returns the four monitoring lists like network2."""
        n = len(training_data)
        Xn, Yn = stack(training_data, "training_data", self.sizes[0], self.sizes[-1])
        X, Y = torch.as_tensor(Xn, device=self.device), torch.as_tensor(Yn, device=self.device)
        if evaluation_data:
            Xe = torch.as_tensor(stack(evaluation_data, "evaluation_data", self.sizes[0], None)[0]
                                 if np.ndim(evaluation_data[0][1]) == 0 else
                                 stack(evaluation_data, "evaluation_data", self.sizes[0], self.sizes[-1])[0],
                                 device=self.device)
            ye = labels_of(evaluation_data, self.sizes[-1])
        order = np.arange(n)
        evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = [], [], [], []
        for j in range(epochs):
            order = shuffled_order(n, order)
            idx_all = torch.as_tensor(order, device=self.device)
            for start in range(0, n, mini_batch_size):
                self._update(X[idx_all[start:start + mini_batch_size]], Y[idx_all[start:start + mini_batch_size]],
                             eta, lmbda, n)
            print(f"Epoch {j} training complete")
            with torch.no_grad():
                if monitor_training_cost:
                    training_cost.append(self._total_cost(X, Y, lmbda))
                if monitor_training_accuracy:
                    training_accuracy.append(self._correct(X, Yn.argmax(1)))
                if monitor_evaluation_cost:
                    Ye = torch.as_tensor(np.eye(self.sizes[-1])[ye], device=self.device)
                    evaluation_cost.append(self._total_cost(Xe, Ye, lmbda))
                if monitor_evaluation_accuracy:
                    evaluation_accuracy.append(self._correct(Xe, ye))
                    print(f"Accuracy on evaluation data: {evaluation_accuracy[-1]} / {len(ye)}")
        training_data[:] = [training_data[i] for i in order]
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    # --8<-- [start:update]
    def _update(self, Xb: torch.Tensor, Yb: torch.Tensor, eta: float, lmbda: float, n: int) -> None:
        """Autograd gives sum_x dC_x/dw; then w <- (1 - eta lmbda / n) w - (eta / m) grad."""
        params = self.weights + self.biases
        for p in params:
            p.requires_grad_(True)
        cost = self.cost.fn(self._forward(Xb), Yb)
        grads = torch.autograd.grad(cost, params)
        m = len(Xb)
        with torch.no_grad():
            L = len(self.weights)
            self.weights = [((1 - eta * (lmbda / n)) * w - (eta / m) * g).detach()
                            for w, g in zip(self.weights, grads[:L], strict=True)]
            self.biases = [(b - (eta / m) * g).detach() for b, g in zip(self.biases, grads[L:], strict=True)]
    # --8<-- [end:update]

    def _total_cost(self, X: torch.Tensor, Y: torch.Tensor, lmbda: float) -> float:
        cost = float(self.cost.fn(self._forward(X), Y)) / len(X)
        return cost + 0.5 * (lmbda / len(X)) * sum(float((w ** 2).sum()) for w in self.weights)

    def accuracy(self, data: list, convert: bool = False) -> int:
        X, _ = stack(data, "data", self.sizes[0], self.sizes[-1] if convert else None)
        return self._correct(torch.as_tensor(X, device=self.device), labels_of(data, self.sizes[-1]))
