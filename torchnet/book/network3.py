"""The book's ``network3`` (chapter 6) on torch: same API as ``scratchnet.book.network3``.

Written as the book writes it for Theano — each layer's ``set_inpt`` builds its ``output`` (for
inference, weights scaled by ``1 - p_dropout``) and ``output_dropout`` (for training, inputs
masked) — with torch's autograd in place of ``T.grad``. Float64 on ``device=`` (CUDA when
present). Weights, biases and dropout masks are drawn from ``np.random`` in the order
scratchnet draws them, so a run seeded alike follows scratchnet's path
(``parity_tests/test_network3_torch.py``). The data stay NumPy arrays from
``load_data_shared``; ``SGD`` moves each set to the device once, as the book's shared
variables do.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as tF

from scratchnet.book.network3 import load_data_shared, size

from .. import default_device

# Activation functions, as the book names them.
linear = lambda z: z  # noqa: E731 - the book's one-liner
ReLU = torch.relu
sigmoid = torch.sigmoid
tanh = torch.tanh


def _leaf(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float64, device=device).requires_grad_()


def _dropout(x: torch.Tensor, p_dropout: float) -> torch.Tensor:
    """``x`` times a mask of ones kept with probability ``1 - p_dropout``, drawn from np.random."""
    mask = np.random.binomial(n=1, p=1 - p_dropout, size=tuple(x.shape))
    return x * torch.as_tensor(mask, dtype=x.dtype, device=x.device)


class ConvPoolLayer:
    """A valid stride-1 convolution, max-pooling, then ``activation_fn(pooled + b)``.

    ``filter_shape = (n_filters, n_in_maps, fh, fw)``, ``image_shape = (mini_batch, n_in_maps, h, w)``;
    weights ``N(0, 1/n_out)`` with ``n_out = n_filters fh fw / prod(poolsize)``, biases ``N(0, 1)``.
    """

    def __init__(self, filter_shape: tuple[int, int, int, int], image_shape: tuple[int, int, int, int],
                 poolsize: tuple[int, int] = (2, 2), activation_fn=sigmoid,
                 device: str | torch.device | None = None) -> None:
        if filter_shape[1] != image_shape[1]:
            raise ValueError(f"ConvPoolLayer: filter_shape {filter_shape} takes {filter_shape[1]} input "
                             f"maps but image_shape {image_shape} has {image_shape[1]}")
        self.filter_shape, self.image_shape, self.poolsize = filter_shape, image_shape, poolsize
        self.activation_fn = activation_fn
        self.device = torch.device(device) if device else default_device()
        n_out = filter_shape[0] * np.prod(filter_shape[2:]) / np.prod(poolsize)
        self.w = _leaf(np.random.normal(loc=0, scale=np.sqrt(1.0 / n_out), size=filter_shape), self.device)
        self.b = _leaf(np.random.normal(loc=0, scale=1.0, size=(filter_shape[0],)), self.device)
        self.params = [self.w, self.b]

    def set_inpt(self, inpt: torch.Tensor | None, inpt_dropout: torch.Tensor | None, mini_batch_size: int) -> None:
        """``output`` (= ``output_dropout``: the book drops nothing here) from whichever input is given."""
        x = (inpt if inpt is not None else inpt_dropout).reshape(mini_batch_size, *self.image_shape[1:])
        pooled = tF.max_pool2d(tF.conv2d(x, self.w), self.poolsize)              # (m, F, h', w')
        self.output = self.output_dropout = self.activation_fn(pooled + self.b[None, :, None, None])


class FullyConnectedLayer:
    """``activation_fn(x w + b)``; in training the input is dropped with probability ``p_dropout``."""

    def __init__(self, n_in: int, n_out: int, activation_fn=sigmoid, p_dropout: float = 0.0,
                 device: str | torch.device | None = None) -> None:
        self.n_in, self.n_out, self.activation_fn, self.p_dropout = n_in, n_out, activation_fn, p_dropout
        self.device = torch.device(device) if device else default_device()
        self.w = _leaf(np.random.normal(loc=0.0, scale=np.sqrt(1.0 / n_out), size=(n_in, n_out)), self.device)
        self.b = _leaf(np.random.normal(loc=0.0, scale=1.0, size=(n_out,)), self.device)
        self.params = [self.w, self.b]

    # --8<-- [start:set_inpt]
    def set_inpt(self, inpt: torch.Tensor | None, inpt_dropout: torch.Tensor | None, mini_batch_size: int) -> None:
        """``output``: inference, weights scaled by ``1 - p``; ``output_dropout``: training, input masked.

        The book builds both in one graph; eagerly, only the path given (training or inference) runs.
        """
        if inpt is not None:
            self.inpt = inpt.reshape(mini_batch_size, self.n_in)
            self.output = self._act((1 - self.p_dropout) * (self.inpt @ self.w) + self.b)  # (m, n_out)
            self.y_out = self.output.argmax(dim=1)
        if inpt_dropout is not None:
            self.inpt_dropout = inpt_dropout.reshape(mini_batch_size, self.n_in)
            if self.p_dropout > 0:
                self.inpt_dropout = _dropout(self.inpt_dropout, self.p_dropout)
            self.output_dropout = self._act(self.inpt_dropout @ self.w + self.b)        # (m, n_out)
    # --8<-- [end:set_inpt]

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        return self.activation_fn(z)

    def accuracy(self, y: torch.Tensor) -> torch.Tensor:
        """The fraction of the mini-batch classified correctly."""
        return (self.y_out == y).double().mean()


class SoftmaxLayer(FullyConnectedLayer):
    """A softmax output layer with the log-likelihood cost; weights and biases start at zero."""

    def __init__(self, n_in: int, n_out: int, p_dropout: float = 0.0,
                 device: str | torch.device | None = None) -> None:
        self.n_in, self.n_out, self.p_dropout, self.activation_fn = n_in, n_out, p_dropout, None
        self.device = torch.device(device) if device else default_device()
        self.w = _leaf(np.zeros((n_in, n_out)), self.device)
        self.b = _leaf(np.zeros((n_out,)), self.device)
        self.params = [self.w, self.b]

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z, dim=1)

    def cost(self, y: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the correct classes, on the training (dropout) output."""
        return -torch.log(self.output_dropout[torch.arange(len(y)), y]).mean()


class Network:
    """``Network(layers, mini_batch_size)``: layers applied in order; the last is a ``SoftmaxLayer``."""

    def __init__(self, layers: list, mini_batch_size: int) -> None:
        if not isinstance(layers[-1], SoftmaxLayer):
            raise ValueError("Network: the last layer must be a SoftmaxLayer (the book's log-likelihood cost)")
        self.layers = layers
        self.mini_batch_size = mini_batch_size
        self.params = [p for layer in layers for p in layer.params]
        self.device = layers[0].device

    def _set_inpt(self, x: torch.Tensor, training: bool) -> None:
        """The book's ``set_inpt`` chain: the dropout path in training, the scaled one otherwise."""
        m = self.mini_batch_size
        if training:
            self.layers[0].set_inpt(None, x, m)
            for prev, layer in zip(self.layers[:-1], self.layers[1:], strict=True):
                layer.set_inpt(None, prev.output_dropout, m)
        else:
            self.layers[0].set_inpt(x, None, m)
            for prev, layer in zip(self.layers[:-1], self.layers[1:], strict=True):
                layer.set_inpt(prev.output, None, m)

    def _tensors(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        X, y = data
        return (torch.as_tensor(np.asarray(X), device=self.device).to(torch.float64),
                torch.as_tensor(np.asarray(y), device=self.device).long())

    @torch.no_grad()
    def _accuracy(self, X: torch.Tensor, y: torch.Tensor) -> float:
        m = self.mini_batch_size
        accs = []
        for j in range(len(X) // m):  # the book's evaluation also works in whole mini-batches
            self._set_inpt(X[j * m:(j + 1) * m], training=False)
            accs.append(float(self.layers[-1].accuracy(y[j * m:(j + 1) * m])))
        return float(np.mean(accs))

    # --8<-- [start:sgd]
    def SGD(self, training_data, epochs: int, mini_batch_size: int, eta: float, validation_data, test_data,
            lmbda: float = 0.0) -> tuple[float, float]:
        """Mini-batch SGD in order; returns (best validation accuracy, test accuracy at that epoch).

        The book's cost, ``log-likelihood + 0.5 lmbda sum ||w||^2 / num_training_batches``;
        ``torch.autograd.grad`` in place of Theano's ``T.grad``; ``p <- p - eta dC/dp``.
        """
        X, y = self._tensors(training_data)
        Xv, yv = self._tensors(validation_data)
        Xt, yt = self._tensors(test_data) if test_data else (None, None)
        num_training_batches = size(training_data) // mini_batch_size
        best_validation_accuracy, best_iteration, test_accuracy = 0.0, 0, 0.0
        for epoch in range(epochs):
            for minibatch_index in range(num_training_batches):
                iteration = num_training_batches * epoch + minibatch_index
                if iteration % 1000 == 0:
                    print(f"Training mini-batch number {iteration}")
                s = slice(minibatch_index * mini_batch_size, (minibatch_index + 1) * mini_batch_size)
                self._set_inpt(X[s], training=True)
                l2_norm_squared = sum((layer.w ** 2).sum() for layer in self.layers)
                cost = self.layers[-1].cost(y[s]) + 0.5 * lmbda * l2_norm_squared / num_training_batches
                grads = torch.autograd.grad(cost, self.params)
                with torch.no_grad():
                    for param, grad in zip(self.params, grads, strict=True):
                        param -= eta * grad
                if (iteration + 1) % num_training_batches == 0:
                    validation_accuracy = self._accuracy(Xv, yv)
                    print(f"Epoch {epoch}: validation accuracy {validation_accuracy:.2%}")
                    if validation_accuracy >= best_validation_accuracy:
                        print("This is the best validation accuracy to date.")
                        best_validation_accuracy, best_iteration = validation_accuracy, iteration
                        if test_data:
                            test_accuracy = self._accuracy(Xt, yt)
                            print(f"The corresponding test accuracy is {test_accuracy:.2%}")
        print("Finished training network.")
        print(f"Best validation accuracy of {best_validation_accuracy:.2%} obtained at iteration {best_iteration}")
        print(f"Corresponding test accuracy of {test_accuracy:.2%}")
        return best_validation_accuracy, test_accuracy
    # --8<-- [end:sgd]


@torch.no_grad()
def ensemble_vote(networks: list[Network], data) -> float:
    """Accuracy of the majority vote of several trained networks (ties: the smaller class)."""
    X, y = networks[0]._tensors(data)
    m = networks[0].mini_batch_size
    n = len(X) // m * m
    votes = torch.zeros((n, networks[0].layers[-1].n_out), dtype=torch.int64, device=X.device)
    for net in networks:
        for j in range(n // m):
            net._set_inpt(X[j * m:(j + 1) * m], training=False)
            votes[torch.arange(j * m, (j + 1) * m), net.layers[-1].y_out] += 1
    return float((votes.argmax(dim=1) == y[:n]).double().mean())


__all__ = ["ConvPoolLayer", "FullyConnectedLayer", "Network", "ReLU", "SoftmaxLayer", "ensemble_vote",
           "linear", "load_data_shared", "sigmoid", "size", "tanh"]
