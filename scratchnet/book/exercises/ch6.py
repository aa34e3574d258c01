"""Chapter 6's exercise and problems, computed on the book's ``network3``: without the fully connected
layer (the exercise), tanh against sigmoid (problem 2), and the code problems — early stopping (4),
accuracy on any data (5), a learning rate per epoch (6), rotated, skewed and shifted images made on
the fly (7), saving and loading (8), diagnostics of overfitting (9).

``train`` adds problems 4, 6, 7 and 9 around ``network3.Network.SGD`` without changing it: it
calls ``SGD`` one epoch at a time, which trains exactly as one call does (no shuffling, the
dropout masks drawn in the same order), with that epoch's learning rate and training images.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import network3 as n3
from ..experiments import _one_thread

Data = tuple[np.ndarray, np.ndarray]


# --8<-- [start:accuracy]
def accuracy(net: n3.Network, data: Data, rows: int = 1000) -> float:
    """Problem 5: the fraction of ``data = (X (N, 784), y (N,))`` the network classifies right, every
    sample counted (the book's evaluation drops a last partial mini-batch), ``rows`` at a time."""
    X, y = data
    right = 0
    for k in range(0, len(X), rows):
        net._forward(X[k:k + rows], training=False)
        right += int(np.sum(net.layers[-1]._a.argmax(axis=1) == y[k:k + rows]))
    return right / len(X)


def cost(net: n3.Network, data: Data, rows: int = 1000) -> float:
    """The mean log-likelihood cost ``-ln a_y`` over ``data`` (no regularisation term)."""
    X, y = data
    total = 0.0
    for k in range(0, len(X), rows):
        net._forward(X[k:k + rows], training=False)
        total += float(-np.sum(np.log(net.layers[-1]._a[np.arange(len(y[k:k + rows])), y[k:k + rows]])))
    return total / len(X)
# --8<-- [end:accuracy]


@dataclass
class History:
    """What :func:`train` saw, one entry per epoch trained."""

    etas: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    training: list[float] = field(default_factory=list)        # diagnostics: accuracy on training images
    training_cost: list[float] = field(default_factory=list)
    validation_cost: list[float] = field(default_factory=list)
    stopped: bool = False

    def best(self) -> tuple[float, float]:
        """The book's report: the best validation accuracy and the test accuracy at that epoch
        (the last of equal bests, as ``network3.SGD`` keeps it)."""
        j = len(self.validation) - 1 - int(np.argmax(self.validation[::-1]))
        return self.validation[j], self.test[j]


# --8<-- [start:train]
def train(net: n3.Network, training_data: Data, epochs: int, mini_batch_size: int, eta: float,
          validation_data: Data, test_data: Data, lmbda: float = 0.0,
          stop: Callable[[list[float]], bool] | None = None, eta_at: Callable[[int], float] | None = None,
          augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
          seed: int = 0, diagnostics: int = 0) -> History:
    """``network3``'s SGD, epoch by epoch, with problem 4's ``stop`` (given the validation accuracies
    so far; e.g. ``exercises.ch3.no_improvement_in(10)``), problem 6's ``eta_at(epoch)``, problem 7's
    ``augment(X, rng)`` (fresh distorted copies of the training images every epoch, from a generator
    seeded with ``seed``) and problem 9's ``diagnostics`` (accuracy and cost on that many training
    images, beside the validation ones: the gap between them is the overfitting). Numba and BLAS run
    on one thread each, as ``scratchnet book ch6`` does (mini-batches of 10 are too small for threads)."""
    with _one_thread():
        return _train(net, training_data, epochs, mini_batch_size, eta, validation_data, test_data, lmbda,
                      stop, eta_at, augment, seed, diagnostics)


def _train(net, training_data, epochs, mini_batch_size, eta, validation_data, test_data, lmbda, stop, eta_at,
           augment, seed, diagnostics) -> History:
    rng = np.random.default_rng(seed)
    X, y = training_data
    history = History()
    for epoch in range(epochs):
        history.etas.append(eta_at(epoch) if eta_at is not None else eta)
        epoch_data = (augment(X, rng), y) if augment is not None else training_data
        with contextlib.redirect_stdout(io.StringIO()):
            validation, test = net.SGD(epoch_data, 1, mini_batch_size, history.etas[-1], validation_data,
                                       test_data, lmbda)
        history.validation.append(validation)
        history.test.append(test)
        if diagnostics:
            seen = (X[:diagnostics], y[:diagnostics])
            history.training.append(accuracy(net, seen))
            history.training_cost.append(cost(net, seen))
            history.validation_cost.append(cost(net, validation_data))
        if stop is not None and stop(history.validation):
            history.stopped = True
            break
    return history
# --8<-- [end:train]


# --8<-- [start:distort]
def distort(X: np.ndarray, rng: np.random.Generator, degrees: float = 12.0, shear: float = 0.15,
            shift: float = 2.0) -> np.ndarray:
    """Problem 7: each 28 x 28 image of ``X`` ``(N, 784)`` rotated by up to ``degrees``, skewed
    (sheared along x) by up to ``shear`` and moved by up to ``shift`` pixels each way, all drawn
    uniformly per image; bilinear interpolation, zero outside the image. Output pixel ``p`` reads
    the input at ``A^{-1} (p - c - t) + c`` with ``A = rotation . shear`` and ``c`` the centre."""
    n = len(X)
    theta = np.deg2rad(rng.uniform(-degrees, degrees, n))
    s, t = rng.uniform(-shear, shear, n), rng.uniform(-shift, shift, (n, 2))
    cos, sin = np.cos(theta), np.sin(theta)
    # A = [[cos, -sin], [sin, cos]] @ [[1, s], [0, 1]]; its inverse, per image: (n, 2, 2)
    A = np.stack([np.stack([cos, cos * s - sin], 1), np.stack([sin, sin * s + cos], 1)], 1)
    inverse = np.linalg.inv(A)
    rows, cols = np.mgrid[0:28, 0:28]
    p = np.stack([cols.ravel(), rows.ravel()], 0) - 13.5                 # (2, 784): (x, y) from the centre
    q = np.einsum("nij,njk->nik", inverse, p[None] - t[:, :, None]) + 13.5   # (n, 2, 784) source points
    x0, y0 = np.floor(q[:, 0]).astype(int), np.floor(q[:, 1]).astype(int)
    fx, fy = q[:, 0] - x0, q[:, 1] - y0
    images = X.reshape(n, 28, 28)
    out = np.zeros((n, 784))
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy),
                           (1, 1, fx * fy)):
        xs, ys = x0 + dx, y0 + dy
        inside = (xs >= 0) & (xs < 28) & (ys >= 0) & (ys < 28)
        pixel = images[np.arange(n)[:, None], np.clip(ys, 0, 27), np.clip(xs, 0, 27)]   # (n, 784)
        out += np.where(inside, weight * pixel, 0.0)
    return out.astype(X.dtype)
# --8<-- [end:distort]


# --8<-- [start:save]
def _spec(layer) -> dict:
    names = {n3.linear: "linear", n3.ReLU: "ReLU", n3.sigmoid: "sigmoid", n3.tanh: "tanh"}
    if isinstance(layer, n3.ConvPoolLayer):
        return {"type": "ConvPoolLayer", "filter_shape": list(layer.filter_shape), "poolsize": list(layer.poolsize),
                "image_shape": list(layer.image_shape), "activation_fn": names[layer.activation_fn]}
    spec = {"type": type(layer).__name__, "n_in": layer.n_in, "n_out": layer.n_out, "p_dropout": layer.p_dropout}
    if not isinstance(layer, n3.SoftmaxLayer):
        spec["activation_fn"] = names[layer.activation_fn]
    return spec


def save(net: n3.Network, path: str | Path) -> None:
    """Problem 8: the layers' kinds and shapes (JSON) and every weight and bias into one ``.npz``."""
    arrays = {f"param_{i}": p for i, p in enumerate(net.params)}
    spec = {"mini_batch_size": net.mini_batch_size, "layers": [_spec(layer) for layer in net.layers]}
    np.savez(path, spec=np.array(json.dumps(spec)), **arrays)


def load(path: str | Path) -> n3.Network:
    """A network saved by :func:`save`, computing exactly what it computed. The layers are built
    first (which draws from ``np.random``, so the global state is put back afterwards) and then
    given the saved parameters."""
    with np.load(path) as f:
        spec = json.loads(str(f["spec"]))
        params = [f[f"param_{i}"] for i in range(len(f.files) - 1)]
    state = np.random.get_state(), random.getstate()
    layers = []
    for s in spec["layers"]:
        kind = s.pop("type")
        if "activation_fn" in s:
            s["activation_fn"] = getattr(n3, s["activation_fn"])
        layers.append(getattr(n3, kind)(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()}))
    np.random.set_state(state[0])
    random.setstate(state[1])
    net = n3.Network(layers, spec["mini_batch_size"])
    if len(params) != len(net.params):
        raise ValueError(f"load: {path} holds {len(params)} parameters, its layers take {len(net.params)}")
    for mine, saved in zip(net.params, params, strict=True):
        if mine.shape != saved.shape:
            raise ValueError(f"load: {path}: a parameter of shape {saved.shape} for one of shape {mine.shape}")
        mine[...] = saved
    return net
# --8<-- [end:save]


# --8<-- [start:variants]
def conv_net(m: int, fc: int | None = 100, conv_layers: int = 1, activation=n3.sigmoid) -> n3.Network:
    """The book's convolutional networks, varied: one or two conv-pool layers (20 and 40 maps of
    5 x 5, max-pool 2 x 2) with ``activation``, then a fully connected layer of ``fc`` neurons
    (``None``: none, the exercise) and the softmax layer; mini-batches of ``m``."""
    layers: list = [n3.ConvPoolLayer(image_shape=(m, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                                     activation_fn=activation)]
    n_in = 20 * 12 * 12
    if conv_layers == 2:
        layers.append(n3.ConvPoolLayer(image_shape=(m, 20, 12, 12), filter_shape=(40, 20, 5, 5), poolsize=(2, 2),
                                       activation_fn=activation))
        n_in = 40 * 4 * 4
    if fc:
        layers.append(n3.FullyConnectedLayer(n_in=n_in, n_out=fc, activation_fn=activation))
        n_in = fc
    return n3.Network(layers + [n3.SoftmaxLayer(n_in=n_in, n_out=10)], m)
# --8<-- [end:variants]
