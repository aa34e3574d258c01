"""Chapter 1's exercises: perceptrons as the limit of sigmoid neurons, the binary layer, the steepest
step, the component form, online learning and a network with no hidden layer (on small data)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scratchnet.book import network
from scratchnet.book.common import sigmoid
from scratchnet.book.exercises import ch1


def perceptron_network(seed: int) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = [6, 5, 4, 3]
    weights = [rng.standard_normal((b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.standard_normal(b) for b in sizes[1:]]
    return weights, biases, rng.integers(0, 2, sizes[0]).astype(np.float64)


def smallest_weighted_input(weights, biases, x) -> float:
    """``min |w . a + b|`` over every perceptron of the network, for input ``x``."""
    a, smallest = x, np.inf
    for w, b in zip(weights, biases, strict=True):
        z = w @ a + b
        smallest = min(smallest, float(np.min(np.abs(z))))
        a = (z > 0).astype(np.float64)
    return smallest


@pytest.mark.parametrize("seed", range(5))
def test_scaling_a_perceptron_network_by_c_changes_nothing(seed):
    weights, biases, x = perceptron_network(seed)
    expected = ch1.feedforward(weights, biases, x)
    for c in (0.01, 0.5, 3.0, 1e4):
        assert np.array_equal(ch1.feedforward([c * w for w in weights], [c * b for b in biases], x), expected)


@pytest.mark.parametrize("seed", range(5))
def test_sigmoid_neurons_become_the_perceptrons_as_c_grows(seed):
    weights, biases, x = perceptron_network(seed)
    perceptrons = ch1.feedforward(weights, biases, x)
    margin = smallest_weighted_input(weights, biases, x)
    assert margin > 0
    gaps = [np.max(np.abs(ch1.feedforward(weights, biases, x, c) - perceptrons)) for c in (1, 10, 100, 1e4)]
    assert gaps[-1] < 1e-6 and all(b <= a for a, b in zip(gaps, gaps[1:], strict=False))
    # where w . x + b = 0 the sigmoid neuron outputs 1/2 for every c, the perceptron 0
    w, b = [np.array([[1.0, -1.0]])], [np.array([0.0])]
    assert ch1.feedforward(w, b, np.array([1.0, 1.0])) == 0.0
    assert all(ch1.feedforward(w, b, np.array([1.0, 1.0]), c) == 0.5 for c in (1, 1e3, 1e9))


def test_the_bitwise_layer_writes_every_digit_in_binary():
    W, b = ch1.bitwise_layer()
    assert W.shape == (4, 10) and b.shape == (4,)
    rng = np.random.default_rng(0)
    for digit in range(10):
        bits = np.array([int(c) for c in format(digit, "04b")])
        # the worst cases are corners: the correct output at 0.99 or 1, each other at 0 or 0.01
        corners = [np.array(c) for c in itertools.product((0.0, 0.01), repeat=9)]
        for correct in (0.99, 1.0):
            a = np.array([np.insert(c, digit, correct) for c in corners] +
                         [np.insert(rng.uniform(0, 0.01, 9), digit, rng.uniform(0.99, 1)) for _ in range(200)])
            out = ch1.bitwise_outputs(a)                                 # (cases, 4)
            assert np.all(out[:, bits == 1] >= sigmoid(9.0) - 1e-12)
            assert np.all(out[:, bits == 0] <= sigmoid(-9.0) + 1e-12)


def test_no_step_of_the_same_length_lowers_the_cost_more():
    """Exercise 4: among steps of length eps, -eps grad C / |grad C| minimises grad C . dv."""
    rng = np.random.default_rng(1)
    grad = rng.standard_normal(7)
    best = -grad / np.linalg.norm(grad)
    others = rng.standard_normal((5000, 7))
    others /= np.linalg.norm(others, axis=1, keepdims=True)
    assert np.all(others @ grad >= best @ grad) and best @ grad == pytest.approx(-np.linalg.norm(grad))


def test_the_matrix_form_is_the_component_form():
    """Exercise 7: a' = sigma(w a + b) is a'_j = sigma(sum_k w_jk a_k + b_j) = 1 / (1 + exp(-sum_k w_jk a_k - b_j))."""
    np.random.seed(3)
    net = network.Network([5, 4, 3])
    a = np.random.default_rng(3).random((5, 1))
    w, b = net.weights[0], net.biases[0]
    components = np.array([[1 / (1 + np.exp(-sum(w[j, k] * a[k, 0] for k in range(5)) - b[j, 0]))] for j in range(4)])
    np.testing.assert_allclose(sigmoid(w @ a + b), components, rtol=1e-14)


def small_digits(n: int, seed: int, one_hot: bool) -> list:
    """MNIST-shaped pairs: a bright block of 78 pixels per class on a sparse random background."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = (rng.integers(1, 256, (n, 784)) / 256).astype(np.float32)
    X[rng.random((n, 784)) < 0.9] = 0.0
    for i, c in enumerate(y):
        X[i, c * 78:(c + 1) * 78] = 0.9
    return [(x.reshape(784, 1), np.eye(10)[c].reshape(10, 1) if one_hot else int(c)) for x, c in zip(X, y, strict=True)]


def test_a_network_without_a_hidden_layer_learns():
    train, test = small_digits(300, 0, True), small_digits(100, 1, False)
    correct = ch1.no_hidden_layer(train, test, epochs=5, eta=3.0)
    assert len(correct) == 5 and correct[-1] >= 60 and correct[-1] > correct[0]   # chance is 10
    assert correct == ch1.no_hidden_layer(train, test, epochs=5, eta=3.0)   # seeded: the same run
    improved = ch1.no_hidden_layer(train, test, epochs=5, eta=0.5, improved=True)   # chapter 3's network2
    assert improved[-1] >= 60 and improved != correct


def test_online_and_mini_batch_runs_report_accuracy_and_time():
    train, test = small_digits(200, 2, True), small_digits(50, 3, False)
    result = ch1.online_against_mini_batches(train, test)
    assert sorted(result) == [1, 20]
    for correct, seconds in result.values():
        assert len(correct) == 1 and 0 <= correct[0] <= 50 and seconds > 0
