"""network3.py — the book's chapter 6 convolutional networks, on scratchnet's kernels instead of Theano.

Same names, signatures, printed lines and behaviour as the book's ``network3.py``:
``Network(layers, mini_batch_size)``, ``ConvPoolLayer``, ``FullyConnectedLayer``,
``SoftmaxLayer``, ``SGD(training_data, epochs, mini_batch_size, eta, validation_data, test_data,
lmbda)``, ``load_data_shared``, activations ``linear``, ``ReLU``, ``sigmoid``, ``tanh``.
As in the book: mini-batches in order (no shuffling), the cost is the mean log-likelihood plus
``0.5 lmbda ||w||^2 / num_training_batches``, plain SGD, dropout on a layer's *input* in
training with the weights scaled by ``1 - p_dropout`` at inference, and the test accuracy is
reported at the epoch of best validation accuracy. Theano's symbolic gradients are replaced by
each layer's explicit backward pass. (Theano's ``conv2d`` flips its filters; with random
initial filters that is only a relabelling, and this port correlates as PyTorch does.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..kernels import activations
from ..kernels.ops import matmul
from ..nn.conv import Conv2d, MaxPool2d


# Activation functions, as the book names them; each carries its kernel code for the layers.
def linear(z: np.ndarray) -> np.ndarray:
    """The identity."""
    return z


def ReLU(z: np.ndarray) -> np.ndarray:  # noqa: N802 - the book's name
    """``max(0, z)``."""
    return np.maximum(0.0, z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^{-z})``."""
    return activations.sigmoid_forward(np.ascontiguousarray(z), np.empty_like(z))


def tanh(z: np.ndarray) -> np.ndarray:
    """``tanh(z)``."""
    return np.tanh(z)


def _derivative(fn, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``f'(z)`` from the pre-activation z and the output a."""
    if fn is sigmoid:
        return a * (1 - a)
    if fn is tanh:
        return 1 - a * a
    if fn is ReLU:
        return (z > 0).astype(z.dtype)
    if fn is linear:
        return np.ones_like(z)
    raise ValueError(f"network3: unknown activation function {fn!r}; use linear, ReLU, sigmoid or tanh")


def load_data_shared(filename: str | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[training, validation, test]``, each ``(X float64 (N, 784), y int64 (N,))``.

    The book loads ``../data/mnist.pkl.gz`` (the default), or the ``mnist_expanded.pkl.gz`` its
    ``expand_mnist.py`` writes, into Theano shared variables. Here the data layer supplies the
    same arrays and only the file's name matters: ``mnist_expanded.pkl.gz`` gives the 250,000
    expanded training images (``expand_mnist.load_expanded``, cached on first use).
    """
    from . import expand_mnist
    from .mnist_loader import load_data

    name = Path(filename).name if filename is not None else "mnist.pkl.gz"
    if name not in ("mnist.pkl.gz", "mnist_expanded.pkl.gz"):
        raise ValueError(f"load_data_shared: {filename!r} is neither of the book's files, "
                         "mnist.pkl.gz or mnist_expanded.pkl.gz")
    data = list(load_data())
    if name == "mnist_expanded.pkl.gz":
        data[0] = expand_mnist.load_expanded(data[0])
    return [(np.asarray(X, np.float64), y) for X, y in data]


def size(data: tuple[np.ndarray, np.ndarray]) -> int:
    """The number of samples in ``(X, y)``."""
    return data[0].shape[0]


class ConvPoolLayer:
    """A convolution (valid, stride 1), max-pooling, then ``activation_fn(pooled + b)``.

    ``filter_shape = (n_filters, n_in_maps, fh, fw)``, ``image_shape = (mini_batch, n_in_maps, h, w)``.
    Weights ``N(0, 1/n_out)`` with ``n_out = n_filters fh fw / prod(poolsize)``, biases ``N(0, 1)``.
    """

    def __init__(self, filter_shape: tuple[int, int, int, int], image_shape: tuple[int, int, int, int],
                 poolsize: tuple[int, int] = (2, 2), activation_fn=sigmoid) -> None:
        if filter_shape[1] != image_shape[1]:
            raise ValueError(f"ConvPoolLayer: filter_shape {filter_shape} takes {filter_shape[1]} input maps "
                             f"but image_shape {image_shape} has {image_shape[1]}")
        self.filter_shape, self.image_shape, self.poolsize = filter_shape, image_shape, poolsize
        self.activation_fn = activation_fn
        n_out = filter_shape[0] * np.prod(filter_shape[2:]) / np.prod(poolsize)
        w = np.random.normal(loc=0, scale=np.sqrt(1.0 / n_out), size=filter_shape)
        b = np.random.normal(loc=0, scale=1.0, size=(filter_shape[0],))
        self.conv = Conv2d(filter_shape[1], filter_shape[0], tuple(filter_shape[2:]), bias=False, dtype=np.float64)
        self.conv.weight.data[...] = w
        self.pool = MaxPool2d(tuple(poolsize))
        self.b = b
        self.params = [self.conv.weight.data, self.b]

    def forward(self, inpt: np.ndarray, training: bool) -> np.ndarray:
        x = inpt.reshape(len(inpt), *self.image_shape[1:])               # (m, C, h, w)
        self._z = self.pool(self.conv(x)) + self.b[None, :, None, None]  # (m, F, h', w')
        self._a = self.activation_fn(self._z)
        return self._a.reshape(len(inpt), -1)

    def backward(self, d_out: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        dz = d_out.reshape(self._a.shape) * _derivative(self.activation_fn, self._z, self._a)
        self.conv.zero_grad()  # unset: the backward writes a fresh array, which we hand on
        d_in = self.conv.backward(self.pool.backward(dz))
        return d_in.reshape(len(d_in), -1), [self.conv.weight.grad, dz.sum(axis=(0, 2, 3))]


class FullyConnectedLayer:
    """``activation_fn(x w + b)``; in training the input is dropped out with probability ``p_dropout``.

    Weights ``(n_in, n_out)`` drawn ``N(0, 1/n_out)``, then biases ``N(0, 1)``, as the book does.
    """

    def __init__(self, n_in: int, n_out: int, activation_fn=sigmoid, p_dropout: float = 0.0) -> None:
        self.n_in, self.n_out, self.activation_fn, self.p_dropout = n_in, n_out, activation_fn, p_dropout
        self.w = np.random.normal(loc=0.0, scale=np.sqrt(1.0 / n_out), size=(n_in, n_out))
        self.b = np.random.normal(loc=0.0, scale=1.0, size=(n_out,))
        self.params = [self.w, self.b]

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.n_in:
            raise ValueError(f"{type(self).__name__}({self.n_in}, {self.n_out}): got {x.shape[1]} inputs per sample")
        return x

    # --8<-- [start:dropout_layer]
    def forward(self, inpt: np.ndarray, training: bool) -> np.ndarray:
        x = self._check(inpt)
        if training and self.p_dropout > 0:
            self._mask = np.random.binomial(n=1, p=1 - self.p_dropout, size=x.shape)  # keep with 1 - p
            x = x * self._mask
            w = self.w
        else:
            self._mask = None
            w = (1 - self.p_dropout) * self.w  # inference: the expected input, as the book scales
        self._x = x = np.ascontiguousarray(x)
        self._z = matmul(x, np.ascontiguousarray(w)) + self.b                      # (m, n_out)
        self._a = self._activate(self._z)
        return self._a
    # --8<-- [end:dropout_layer]

    def _activate(self, z: np.ndarray) -> np.ndarray:
        return self.activation_fn(z)

    def _delta(self, d_out: np.ndarray) -> np.ndarray:
        return d_out * _derivative(self.activation_fn, self._z, self._a)

    def backward(self, d_out: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        dz = np.ascontiguousarray(self._delta(d_out))                             # (m, n_out)
        d_in = matmul(dz, self.w, trans_b=True)                                  # (m, n_in)
        if self._mask is not None:
            d_in = d_in * self._mask
        return d_in, [matmul(self._x, dz, trans_a=True), dz.sum(axis=0)]


class SoftmaxLayer(FullyConnectedLayer):
    """A softmax output layer with the log-likelihood cost; weights and biases start at zero."""

    def __init__(self, n_in: int, n_out: int, p_dropout: float = 0.0) -> None:
        self.n_in, self.n_out, self.p_dropout, self.activation_fn = n_in, n_out, p_dropout, None
        self.w = np.zeros((n_in, n_out))
        self.b = np.zeros((n_out,))
        self.params = [self.w, self.b]

    def _activate(self, z: np.ndarray) -> np.ndarray:
        return activations.softmax_forward(np.ascontiguousarray(z), np.empty_like(z))

    def _delta(self, d_out: np.ndarray) -> np.ndarray:
        return d_out  # the cost hands the softmax layer dC/dz = (a - y) / m directly

    def cost(self, y: np.ndarray) -> float:
        """Mean negative log-likelihood of the correct classes."""
        return float(-np.mean(np.log(self._a[np.arange(len(y)), y])))

    def accuracy(self, y: np.ndarray) -> float:
        return float(np.mean(self._a.argmax(axis=1) == y))


class Network:
    """``Network(layers, mini_batch_size)``: layers applied in order; the last is a ``SoftmaxLayer``."""

    def __init__(self, layers: list, mini_batch_size: int) -> None:
        if not isinstance(layers[-1], SoftmaxLayer):
            raise ValueError("Network: the last layer must be a SoftmaxLayer (the book's log-likelihood cost)")
        self.layers = layers
        self.mini_batch_size = mini_batch_size
        self.params = [p for layer in layers for p in layer.params]

    def _forward(self, X: np.ndarray, training: bool) -> None:
        a = X
        for layer in self.layers:
            a = layer.forward(a, training)

    def _accuracy(self, data: tuple[np.ndarray, np.ndarray]) -> float:
        X, y = data
        m = self.mini_batch_size
        accs = []
        for j in range(size(data) // m):  # the book's evaluation also works in whole mini-batches
            self._forward(X[j * m:(j + 1) * m], training=False)
            accs.append(self.layers[-1].accuracy(y[j * m:(j + 1) * m]))
        return float(np.mean(accs))

    # --8<-- [start:sgd]
    def SGD(self, training_data, epochs: int, mini_batch_size: int, eta: float, validation_data, test_data,
            lmbda: float = 0.0) -> tuple[float, float]:
        """Mini-batch SGD in order; returns (best validation accuracy, test accuracy at that epoch).

        Cost per mini-batch: mean log-likelihood + ``0.5 lmbda sum ||w||^2 / num_training_batches``;
        update ``p <- p - eta dC/dp`` for every weight and bias.
        """
        X, y = training_data
        num_training_batches = size(training_data) // mini_batch_size
        best_validation_accuracy, best_iteration, test_accuracy = 0.0, 0, 0.0
        weights = [layer.conv.weight.data if isinstance(layer, ConvPoolLayer) else layer.w for layer in self.layers]
        for epoch in range(epochs):
            for minibatch_index in range(num_training_batches):
                iteration = num_training_batches * epoch + minibatch_index
                if iteration % 1000 == 0:
                    print(f"Training mini-batch number {iteration}")
                s = slice(minibatch_index * mini_batch_size, (minibatch_index + 1) * mini_batch_size)
                self._forward(X[s], training=True)
                out = self.layers[-1]
                delta = out._a.copy()
                delta[np.arange(mini_batch_size), y[s]] -= 1.0
                delta /= mini_batch_size                               # dC/dz of the softmax layer
                grads = []
                for layer in reversed(self.layers):
                    delta, g = layer.backward(delta)
                    grads = g + grads
                for p, g in zip(self.params, grads, strict=True):
                    if any(p is w for w in weights):
                        g = g + lmbda * p / num_training_batches        # d/dw of the L2 term
                    p -= eta * g
                if (iteration + 1) % num_training_batches == 0:
                    validation_accuracy = self._accuracy(validation_data)
                    print(f"Epoch {epoch}: validation accuracy {validation_accuracy:.2%}")
                    if validation_accuracy >= best_validation_accuracy:
                        print("This is the best validation accuracy to date.")
                        best_validation_accuracy, best_iteration = validation_accuracy, iteration
                        if test_data:
                            test_accuracy = self._accuracy(test_data)
                            print(f"The corresponding test accuracy is {test_accuracy:.2%}")
        print("Finished training network.")
        print(f"Best validation accuracy of {best_validation_accuracy:.2%} obtained at iteration {best_iteration}")
        print(f"Corresponding test accuracy of {test_accuracy:.2%}")
        return best_validation_accuracy, test_accuracy
    # --8<-- [end:sgd]


# --8<-- [start:ensemble_vote]
def ensemble_vote(networks: list[Network], data: tuple[np.ndarray, np.ndarray]) -> float:
    """Accuracy of the majority vote of several trained networks (chapter 6's ensemble of five)."""
    X, y = data
    m = networks[0].mini_batch_size
    n = size(data) // m * m
    votes = np.zeros((n, networks[0].layers[-1].n_out), np.int64)
    for net in networks:
        for j in range(n // m):
            net._forward(X[j * m:(j + 1) * m], training=False)
            votes[np.arange(j * m, (j + 1) * m), net.layers[-1]._a.argmax(axis=1)] += 1
    return float(np.mean(votes.argmax(axis=1) == y[:n]))
# --8<-- [end:ensemble_vote]
