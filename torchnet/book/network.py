"""The book's chapter 1 ``network`` on torch: ``N(0, 1)`` weights, quadratic cost, no L2.

Same API and printed lines as ``scratchnet.book.network``; the same NumPy draws, so a seeded
run follows scratchnet's path. The rest is torch's own: the epoch is
``torchnet.book.network2``'s autograd step, the shuffle the book's Python-2 ``random.shuffle``
(one draw at a time), and ``evaluate`` a torch forward pass and argmax.
"""

from __future__ import annotations

import numpy as np
import torch

from scratchnet.book.common import check_sgd, py2_shuffle, stack

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
        """Mini-batch SGD; prints ``Epoch j: correct / n_test`` (or ``Epoch j complete``).

        ``training_data`` (one-hot ``y``) is shuffled in place each epoch with the book's
        (Python 2) shuffle.
        """
        check_sgd(epochs, mini_batch_size, eta)
        n = len(training_data)
        X_np, Y_np = stack(training_data, "training_data", self.sizes[0], self.sizes[-1])
        X, Y = self._tensor(X_np), torch.as_tensor(Y_np, device=self.device)
        order = list(range(n))
        self._velocities = None
        for j in range(epochs):
            py2_shuffle(order)
            self._epoch(X, Y, order, mini_batch_size, eta, 0.0, n, "L2", 0.0)
            if test_data:
                print(f"Epoch {j}: {self.evaluate(test_data)} / {len(test_data)}")
            else:
                print(f"Epoch {j} complete")
        training_data[:] = [training_data[i] for i in order]

    def update_mini_batch(self, mini_batch: list, eta: float) -> None:  # type: ignore[override]
        """One step ``w <- w - (eta / m) sum_x dC_x/dw`` on a list of ``(x, y)``."""
        super().update_mini_batch(mini_batch, eta, 0.0, len(mini_batch))

    def evaluate(self, test_data: list) -> int:
        """How many of ``test_data`` (int labels) the network classifies correctly."""
        return self.accuracy(test_data)

    def cost_derivative(self, output_activations: np.ndarray | torch.Tensor,
                        y: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``dC_x/da = a - y`` for the quadratic cost."""
        return output_activations - y


__all__ = ["Network"]
