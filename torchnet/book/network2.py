"""The book's ``network2`` on torch tensors: same API as ``scratchnet.book.network2``.

Weights are drawn from NumPy's global stream in the book's order, then moved to torch (float64,
``device=`` or CUDA when present), so a seeded run follows the same path as scratchnet's
(``parity_tests/test_book_parity.py``). The training loop, monitoring, early stopping and
learning-rate schedule are scratchnet's (this class only replaces the epoch and the forward
pass); autograd gives ``sum_x grad C_x`` per mini-batch and the update is the book's.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
import torch.nn.functional as tF

from scratchnet.book import network2 as scratch
from scratchnet.book.mnist_loader import vectorized_result
from scratchnet.book.network2 import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from scratchnet.kernels import fused_mlp as F

from .. import default_device

HIDDEN = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


# --8<-- [start:costs]
def cost_from_logits(code: int, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_x C_x`` over a mini-batch from the output layer's ``z`` ``(m, n_L)``, one-hot ``y``.

    Cross-entropy and log-likelihood start from ``z`` (torch's stable forms), so autograd's
    ``dC/dz`` is the book's ``a - y`` even where the sigmoid saturates to exactly 1.
    """
    if code == F.CROSS_ENTROPY:
        return tF.binary_cross_entropy_with_logits(z, y, reduction="sum")
    if code == F.LOG_LIKELIHOOD:
        return tF.cross_entropy(z, y.argmax(1), reduction="sum")
    return 0.5 * ((torch.sigmoid(z) - y) ** 2).sum()
# --8<-- [end:costs]


class Network(scratch.Network):
    """``Network(sizes, cost=CrossEntropyCost, activation="sigmoid", device=None)``, float64.

    ``weights[l]`` ``(n_l, n_{l-1})`` and ``biases[l]`` ``(n_l, 1)`` are torch tensors.
    """

    def __init__(self, sizes: list[int], cost=CrossEntropyCost, activation: str = "sigmoid",
                 device: str | torch.device | None = None) -> None:
        self.device = torch.device(device) if device else default_device()
        super().__init__(sizes, cost=cost, activation=activation)

    def default_weight_initializer(self) -> None:
        """The book's draws from ``np.random`` (``N(0, 1)`` biases, ``N(0, 1/n_in)`` weights)."""
        super().default_weight_initializer()
        self._to_torch()

    def large_weight_initializer(self) -> None:
        """The book's draws from ``np.random`` (``N(0, 1)`` biases and weights)."""
        super().large_weight_initializer()
        self._to_torch()

    def _to_torch(self) -> None:
        def leaf(a: np.ndarray) -> torch.Tensor:
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

    def _contiguous(self) -> None:
        pass

    # --8<-- [start:forward]
    def _logits(self, X: torch.Tensor) -> torch.Tensor:
        """Rows ``X`` ``(m, n_0)`` -> the output layer's ``z`` ``(m, n_L)``."""
        f = HIDDEN[self.activation]
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            X = f(X @ w.T + b.view(-1))                                  # (m, n_l)
        return X @ self.weights[-1].T + self.biases[-1].view(-1)         # (m, n_L)
    # --8<-- [end:forward]

    def _output(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = self._logits(self._tensor(X))
            a = torch.softmax(z, 1) if self.cost.code == F.LOG_LIKELIHOOD else torch.sigmoid(z)
        return a.cpu().numpy()

    def _numpy_weights(self) -> list[np.ndarray]:
        return [w.detach().cpu().numpy() for w in self.weights]

    def _numpy_biases(self) -> list[np.ndarray]:
        return [b.detach().cpu().numpy() for b in self.biases]

    def _epoch(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, mini_batch_size: int,
               eta: float, lmbda: float, n: int, regularization: str, mu: float) -> None:
        """Mini-batches ``X[order]`` of ``mini_batch_size`` rows, one autograd step each."""
        Xt = self._tensor(X)
        Yt = torch.as_tensor(Y, device=self.device)
        idx = torch.as_tensor(order, device=self.device)
        if mu and getattr(self, "_velocities", None) is None:
            self._velocities = [torch.zeros_like(p) for p in self.weights + self.biases]
        for start in range(0, len(order), mini_batch_size):
            rows = idx[start:start + mini_batch_size]
            self._step(Xt[rows], Yt[rows], eta, lmbda, n, regularization, mu)

    # --8<-- [start:update]
    def _step(self, Xb: torch.Tensor, Yb: torch.Tensor, eta: float, lmbda: float, n: int,
              regularization: str, mu: float) -> None:
        """Autograd gives ``nabla = sum_x dC_x/dw``; then the book's
        ``w <- (1 - eta lmbda/n) w - (eta/m) nabla`` (L1: ``w - eta (lmbda/n) sgn(w) - ...``;
        momentum: ``v <- mu v - eta grad``, ``w <- w + v``)."""
        params = self.weights + self.biases
        grads = torch.autograd.grad(cost_from_logits(self.cost.code, self._logits(Xb), Yb), params)
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

    def feedforward(self, a) -> torch.Tensor:
        """Output column ``(n_L, 1)`` (a tensor on the device) for an input column ``(n_0, 1)``."""
        with torch.no_grad():
            x = torch.as_tensor(a, device=self.device).to(torch.float64).reshape(1, -1)
            z = self._logits(x)
            out = torch.softmax(z, 1) if self.cost.code == F.LOG_LIKELIHOOD else torch.sigmoid(z)
        return out.reshape(-1, 1)

    def backprop(self, x, y) -> tuple[list, list]:
        """``(nabla_b, nabla_w)`` for one sample, from autograd (NumPy, the book's shapes)."""
        X = torch.as_tensor(np.asarray(x), device=self.device).to(torch.float64).reshape(1, -1)
        Y = torch.as_tensor(np.asarray(y), device=self.device).to(torch.float64).reshape(1, -1)
        grads = torch.autograd.grad(cost_from_logits(self.cost.code, self._logits(X), Y),
                                    self.biases + self.weights)
        L = len(self.weights)
        return [g.cpu().numpy() for g in grads[:L]], [g.cpu().numpy() for g in grads[L:]]


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


__all__ = ["CrossEntropyCost", "LogLikelihoodCost", "Network", "QuadraticCost", "cost_from_logits",
           "load", "vectorized_result"]
