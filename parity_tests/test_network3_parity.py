"""network3 (chapter 6) against torch autograd: one epoch of the book's SGD, parameter by parameter."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from helpers import assert_close, to_torch

from scratchnet.book import network3 as n3

TORCH_ACT = {n3.ReLU: torch.relu, n3.sigmoid: torch.sigmoid, n3.tanh: torch.tanh, n3.linear: lambda z: z}


def torch_epoch(net: n3.Network, X: np.ndarray, y: np.ndarray, m: int, eta: float, lmbda: float) -> list:
    """The same epoch with autograd: mean NLL + L2 / num_batches, plain SGD, batches in order."""
    params = [to_torch(p.copy(), requires_grad=True) for p in net.params]
    nb = len(X) // m
    for j in range(nb):
        a = to_torch(X[j * m:(j + 1) * m])
        it = iter(params)
        weights = []
        for layer in net.layers:
            w, b = next(it), next(it)
            weights.append(w)
            if isinstance(layer, n3.ConvPoolLayer):
                x = a.reshape(m, *layer.image_shape[1:])
                z = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(x, w), layer.poolsize[0])
                a = TORCH_ACT[layer.activation_fn](z + b[None, :, None, None]).reshape(m, -1)
            elif isinstance(layer, n3.SoftmaxLayer):
                a = torch.softmax(a @ w + b, 1)
            else:
                a = TORCH_ACT[layer.activation_fn](a @ w + b)
        yt = to_torch(y[j * m:(j + 1) * m])
        cost = -torch.log(a[torch.arange(m), yt]).mean() + 0.5 * lmbda * sum((w ** 2).sum() for w in weights) / nb
        grads = torch.autograd.grad(cost, params)
        with torch.no_grad():
            params = [(p - eta * g).requires_grad_(True) for p, g in zip(params, grads, strict=True)]
    return params


@pytest.mark.parametrize("act", [n3.ReLU, n3.sigmoid, n3.tanh])
def test_one_epoch_matches_autograd(act) -> None:
    np.random.seed(3)
    m = 4
    net = n3.Network([n3.ConvPoolLayer(filter_shape=(3, 1, 3, 3), image_shape=(m, 1, 8, 8), poolsize=(2, 2),
                                       activation_fn=act),
                      n3.FullyConnectedLayer(n_in=3 * 3 * 3, n_out=7, activation_fn=act),
                      n3.SoftmaxLayer(n_in=7, n_out=5)], m)
    net.layers[-1].w[...] = np.random.normal(0, 0.3, net.layers[-1].w.shape)  # break the zero start's symmetry
    rng = np.random.default_rng(0)
    X, y = rng.random((12, 64)), rng.integers(0, 5, 12)
    expected = torch_epoch(net, X, y, m, eta=0.1, lmbda=0.5)
    with contextlib.redirect_stdout(io.StringIO()):
        net.SGD((X, y), 1, m, 0.1, (X, y), None, lmbda=0.5)
    for i, (p, t) in enumerate(zip(net.params, expected, strict=True)):
        assert_close(f"network3 parameter {i} after one epoch", p, t, np.float64, "grad", k_terms=m)


def test_dropout_scales_weights_at_inference() -> None:
    np.random.seed(0)
    layer = n3.FullyConnectedLayer(6, 3, activation_fn=n3.linear, p_dropout=0.5)
    x = np.ones((2, 6))
    assert_close("inference output", layer.forward(x, training=False), 0.5 * x @ layer.w + layer.b,
                 np.float64, "forward", k_terms=6)
    out = layer.forward(x, training=True)
    assert_close("training output", out, layer._mask @ layer.w + layer.b, np.float64, "forward", k_terms=6)
    assert set(np.unique(layer._mask)) <= {0, 1}
