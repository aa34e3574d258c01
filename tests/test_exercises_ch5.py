"""Chapter 5's problems: the window where |w sigma'(w a + b)| >= 1 (formula against measurement,
its widest point), the identity neuron within its bound, and the speed of learning per hidden
layer for any activation."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_exercises_ch1 import small_digits

from scratchnet.book import network2, speed
from scratchnet.book.common import sigmoid
from scratchnet.book.exercises import ch5


@pytest.mark.parametrize(("w", "b"), [(4.5, 0.0), (6.9, 1.3), (-10.0, 0.0), (25.0, -5.0)])
def test_the_window_formula_is_the_measured_width(w, b):
    step = 8.0 / 2_000_000
    assert ch5.measured_window(w, b) == pytest.approx(ch5.window_width(w), abs=2 * step)
    assert ch5.window_width(3.99) == 0.0 and ch5.measured_window(3.99) == 0.0   # (1): needs |w| >= 4


def test_the_widest_window():
    w, width = ch5.widest_window()
    assert w == pytest.approx(6.9, abs=0.05) and width == pytest.approx(0.45, abs=0.005)   # the book's numbers
    assert all(ch5.window_width(v) <= width for v in np.linspace(4, 50, 4601))


@pytest.mark.parametrize("w1", [0.5, 0.1, 0.01])
def test_the_identity_neuron_is_within_its_bound(w1):
    w1, b, w2, c = ch5.identity_neuron(w1)
    x = np.linspace(0, 1, 10001)
    error = np.max(np.abs(w2 * sigmoid(w1 * x + b) - c - x))
    assert error <= w1**2 / 96 and error > w1**2 / 96 / 10              # the bound is the right size


def test_layer_speeds_for_any_activation():
    data = small_digits(60, 12, True)
    for cost in (network2.CrossEntropyCost, network2.QuadraticCost):
        random.seed(0)
        np.random.seed(0)
        net = network2.Network([784, 9, 8, 7, 10], cost=cost)
        np.testing.assert_allclose(ch5.layer_speeds(net, data), speed.layer_speeds(net, data), rtol=1e-10)
    for activation in ("tanh", "relu"):
        random.seed(1)
        np.random.seed(1)
        net = network2.Network([784, 9, 8, 7, 10], cost=network2.LogLikelihoodCost, activation=activation)
        grads = [net.backprop(x.astype(np.float64), y)[0] for x, y in data]
        expected = [np.linalg.norm(sum(g[l] for g in grads) / len(data)) for l in range(3)]
        np.testing.assert_allclose(ch5.layer_speeds(net, data), expected, rtol=1e-10)
