"""The book's chapter 1 ``network`` on torch: ``N(0, 1)`` weights, quadratic cost, no L2.

Same API and printed lines as ``scratchnet.book.network``; the same NumPy draws, so a seeded
run follows scratchnet's path. The epoch is ``torchnet.book.network2``'s autograd step.
"""

from __future__ import annotations

import numpy as np
import torch

from scratchnet.book.common import check_sgd, shuffled_order, stack

from . import network2


class Network(network2.Network):
    """``Network(sizes, device=None)``: biases then weights ``N(0, 1)`` from ``np.random``."""

    def __init__(self, sizes: list[int], device: str | torch.device | None = None) -> None:
        super().__init__(sizes, cost=network2.QuadraticCost, device=device)

    def default_weight_initializer(self) -> None:
        """Chapter 1 draws every weight from ``N(0, 1)``."""
        self.large_weight_initializer()

    def SGD(self, training_data: list, epochs: int, mini_batch_size: int, eta: float,  # type: ignore[override]
            test_data: list | None = None) -> None:
        """Mini-batch SGD; prints ``Epoch j: correct / n_test`` (or ``Epoch j complete``)."""
        check_sgd(epochs, mini_batch_size, eta)
        n = len(training_data)
        X, Y = stack(training_data, "training_data", self.sizes[0], self.sizes[-1])
        order = np.arange(n)
        self._velocities = None
        for j in range(epochs):
            order = shuffled_order(order)
            self._epoch(X, Y, order, mini_batch_size, eta, 0.0, n, "L2", 0.0)
            if test_data:
                print(f"Epoch {j}: {self.evaluate(test_data)} / {len(test_data)}")
            else:
                print(f"Epoch {j} complete")
        training_data[:] = [training_data[i] for i in order.tolist()]

    def update_mini_batch(self, mini_batch: list, eta: float) -> None:  # type: ignore[override]
        """One step ``w <- w - (eta / m) sum_x dC_x/dw`` on a list of ``(x, y)``."""
        super().update_mini_batch(mini_batch, eta, 0.0, len(mini_batch))

    def evaluate(self, test_data: list) -> int:
        """How many of ``test_data`` (int labels) the network classifies correctly."""
        return self.accuracy(test_data)

    def cost_derivative(self, output_activations, y):
        """``dC_x/da = a - y`` for the quadratic cost."""
        return output_activations - y


__all__ = ["Network"]
