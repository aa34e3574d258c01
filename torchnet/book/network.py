"""The book's chapter 1 ``network`` on torch: ``N(0, 1)`` weights, quadratic cost, no regularisation."""

from __future__ import annotations

from . import network2


class Network(network2.Network):
    """``Network(sizes, device=None)``: the same NumPy draws as ``scratchnet.book.network``."""

    def __init__(self, sizes: list[int], device=None) -> None:
        super().__init__(sizes, cost=network2.QuadraticCost, device=device)

    def default_weight_initializer(self) -> None:
        self.large_weight_initializer()

    def SGD(self, training_data: list, epochs: int, mini_batch_size: int, eta: float,  # type: ignore[override]
            test_data: list | None = None) -> None:
        """Prints ``Epoch j: correct / n_test`` per epoch, as the book's ``network.py``."""
        for j in range(epochs):
            super().SGD(training_data, 1, mini_batch_size, eta)
            if test_data:
                print(f"Epoch {j}: {self.evaluate(test_data)} / {len(test_data)}")

    def evaluate(self, test_data: list) -> int:
        return self.accuracy(test_data)


__all__ = ["Network"]
