"""Chapter 2's exercises: backpropagation through other activations (against finite differences),
the diagonal-matrix form, and the three ways to run an epoch (per sample, matrix form, fused)."""

from __future__ import annotations

import random

import numpy as np

from scratchnet.book import network
from scratchnet.book.common import sigmoid, sigmoid_prime
from scratchnet.book.exercises import ch2


def small_network(seed: int, sizes=(4, 5, 3, 2)):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.standard_normal(b) for b in sizes[1:]]
    return weights, biases, rng.standard_normal(sizes[0]), rng.random(sizes[-1])


def cost(weights, biases, x, y, neurons) -> float:
    a = x
    for w, b, layer in zip(weights, biases, neurons, strict=True):
        a = np.array([f(z) for (f, _), z in zip(layer, w @ a + b, strict=True)])
    return 0.5 * float(np.sum((a - y) ** 2))


def finite_differences(weights, biases, x, y, neurons, h=1e-6):
    """Central differences of the cost with respect to every weight and bias."""
    grads = []
    for p in weights + biases:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + h
            up = cost(weights, biases, x, y, neurons)
            p[i] = keep - h
            g[i] = (up - cost(weights, biases, x, y, neurons)) / (2 * h)
            p[i] = keep
        grads.append(g)
    return grads


def assert_gradients(weights, biases, x, y, neurons):
    nabla_b, nabla_w = ch2.backprop_any(weights, biases, x, y, neurons)
    for got, expected in zip(nabla_w + nabla_b, finite_differences(weights, biases, x, y, neurons), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_backprop_with_one_modified_neuron_matches_finite_differences():
    weights, biases, x, y = small_network(0)
    softplus = (lambda z: np.log1p(np.exp(z)), sigmoid)
    for layer, j in ((0, 2), (1, 0), (2, 1)):                          # the odd one in each layer in turn
        neurons = [[ch2.SIGMOID] * len(b) for b in biases]
        neurons[layer][j] = softplus if layer < 2 else (np.tanh, lambda z: 1 - np.tanh(z) ** 2)
        assert_gradients(weights, biases, x, y, neurons)


def test_backprop_with_linear_neurons_is_the_transposes_alone():
    weights, biases, x, y = small_network(1)
    neurons = [[ch2.LINEAR] * len(b) for b in biases]
    assert_gradients(weights, biases, x, y, neurons)
    # with f(z) = z: delta^L = a^L - y and delta^l = (w^{l+1})^T delta^{l+1}, no derivative factor
    a = [x]
    for w, b in zip(weights, biases, strict=True):
        a.append(w @ a[-1] + b)
    delta = a[-1] - y
    nabla_b, nabla_w = ch2.backprop_any(weights, biases, x, y, neurons)
    for l in range(len(weights) - 1, -1, -1):
        np.testing.assert_allclose(nabla_b[l], delta, rtol=1e-12)
        np.testing.assert_allclose(nabla_w[l], np.outer(delta, a[l]), rtol=1e-12)
        delta = weights[l].T @ delta


def test_the_diagonal_form_is_the_hadamard_form():
    weights, biases, x, y = small_network(2)
    zs, a = [], x
    for w, b in zip(weights, biases, strict=True):
        zs.append(w @ a + b)
        a = sigmoid(zs[-1])
    deltas = ch2.errors_with_diagonals(weights, zs, a - y)
    hadamard = [(a - y) * sigmoid_prime(zs[-1])]
    for l in range(len(zs) - 2, -1, -1):
        hadamard.insert(0, (weights[l + 1].T @ hadamard[0]) * sigmoid_prime(zs[l]))
    for got, expected in zip(deltas, hadamard, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-13)
    nabla_b, _ = ch2.backprop_any(weights, biases, x, y, [[ch2.SIGMOID] * len(b) for b in biases])
    for got, expected in zip(deltas, nabla_b, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_three_ways_to_run_an_epoch_agree():
    rng = np.random.default_rng(4)
    data = [(rng.random((20, 1)), np.eye(4)[rng.integers(4)].reshape(4, 1)) for _ in range(60)]
    random.seed(4)
    np.random.seed(4)
    net = network.Network([20, 8, 4])
    start = [w.copy() for w in net.weights]
    result = ch2.epoch_timings(net, data, mini_batch_size=10, eta=3.0)
    assert sorted(result) == ["fused", "matrix form", "per-sample"]
    per_sample = result["per-sample"][1]
    for name in ("matrix form", "fused"):
        for got, expected in zip(result[name][1], per_sample, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13, err_msg=name)
    assert not np.array_equal(per_sample[0], start[0])
