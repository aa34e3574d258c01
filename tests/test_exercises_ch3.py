"""Chapter 3's exercises: the identities and derivatives (checked numerically), the spread of z,
softmax with a temperature, momentum outside [0, 1), stopping rules (against network2's own early
stopping), the L1 sweep and the weight decay of the first epochs (on small data)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_exercises_ch1 import small_digits

from scratchnet.book import network2
from scratchnet.book.common import sigmoid, sigmoid_prime
from scratchnet.book.exercises import ch3


def test_small_identities_of_chapter_3():
    z = np.linspace(-30, 30, 601)
    h = 1e-6
    np.testing.assert_allclose((sigmoid(z + h) - sigmoid(z - h)) / (2 * h), sigmoid(z) * (1 - sigmoid(z)),
                               atol=1e-9)                                        # exercise 1
    np.testing.assert_allclose(sigmoid(z), (1 + np.tanh(z / 2)) / 2, atol=1e-15)  # exercise 13
    assert sigmoid(np.array([1.0, 1.0, 1.0])).sum() == pytest.approx(3 * 0.7310585786300049)  # exercise 4: 2.19
    assert sigmoid(np.array([-2.0, -2.0, -2.0])).sum() == pytest.approx(0.357608, abs=1e-6)   # and 0.36


def test_the_cross_entropy_is_smallest_where_a_equals_y():
    a = np.linspace(1e-4, 1 - 1e-4, 99991)
    for y in (0.1, 0.37, 0.5, 0.93):
        C = -(y * np.log(a) + (1 - y) * np.log(1 - a))
        k = int(np.argmin(C))
        assert abs(a[k] - y) < 2e-5 and C[k] == pytest.approx(-(y * np.log(y) + (1 - y) * np.log(1 - y)), abs=1e-8)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_softmax_derivatives():
    rng = np.random.default_rng(0)
    z, h = rng.standard_normal(6), 1e-6
    J = np.array([(softmax(z + h * e) - softmax(z - h * e)) / (2 * h) for e in np.eye(6)]).T   # J[j, k] = da_j/dz_k
    a = softmax(z)
    np.testing.assert_allclose(J, np.diag(a) - np.outer(a, a), atol=1e-9)     # a_j (delta_jk - a_k)
    assert np.all(np.diag(J) > 0) and np.all(J[~np.eye(6, dtype=bool)] < 0)  # exercise 5
    assert np.allclose(softmax(np.log(a) + 3.7), a)                          # problem 4: z = ln a + C
    # problems 5 and 7: with C = -ln a_y and z = w a_prev + b,
    # dC/dz_j = a_j - y_j, dC/db = a - y, dC/dw = (a - y) a_prev^T
    y, a_prev = np.eye(6)[2], rng.random(4)
    w, b = rng.standard_normal((6, 4)), rng.standard_normal(6)
    C = lambda w, b: -np.log(softmax(w @ a_prev + b)[2])
    grad_b = np.array([(C(w, b + h * e) - C(w, b - h * e)) / (2 * h) for e in np.eye(6)])
    a = softmax(w @ a_prev + b)
    np.testing.assert_allclose(grad_b, a - y, atol=1e-9)
    E = np.zeros_like(w)
    E[4, 1] = h
    assert (C(w + E, b) - C(w - E, b)) / (2 * h) == pytest.approx(a_prev[1] * (a[4] - y[4]), abs=1e-9)
    np.testing.assert_allclose(network2.LogLikelihoodCost.delta(None, a, y), a - y)


def test_softmax_with_large_c_is_a_max():
    z = np.array([0.3, 1.2, -0.5, 1.2, 0.9])
    for c in (0.5, 1.0, 7.0):
        assert ch3.softmax_c(z, c).sum() == pytest.approx(1.0) and np.all(ch3.softmax_c(z, c) > 0)
    np.testing.assert_allclose(ch3.softmax_c(z, 1.0), softmax(z), rtol=1e-14)
    np.testing.assert_allclose(ch3.softmax_c(z, 1e4), [0, 0.5, 0, 0.5, 0], atol=1e-12)   # two maxima share
    assert ch3.softmax_c(z, 1e4)[1] > ch3.softmax_c(z, 3.0)[1] > ch3.softmax_c(z, 1.0)[1]


def test_the_weighted_input_spreads_by_sqrt_three_halves():
    # 20000 samples: the standard error of a sample std is about sigma / sqrt(2 n) = 0.0061
    assert ch3.weighted_input_std(samples=20000) == pytest.approx(np.sqrt(1.5), abs=0.02)
    assert ch3.weighted_input_std(n_in=400, samples=20000, seed=1) == pytest.approx(np.sqrt(1.5), abs=0.02)


def test_momentum_outside_zero_one():
    grows = ch3.momentum_on_a_bowl(1.1, 0.01, 300)
    assert abs(grows[-1]) > 100 and abs(ch3.momentum_on_a_bowl(1.1, 1e-6, 300)[-1]) > 1
    settles = ch3.momentum_on_a_bowl(0.5, 0.01, 300)
    plain = ch3.momentum_on_a_bowl(0.0, 0.01, 300)
    backwards = ch3.momentum_on_a_bowl(-0.5, 0.01, 300)
    assert abs(settles[-1]) < abs(plain[-1]) < abs(backwards[-1]) < 1     # mu < 0 is slower than no momentum
    v = np.diff(ch3.momentum_on_a_bowl(-0.9, 0.5, 20))
    assert np.all(v[1:] * v[:-1] < 0)                                      # and its steps alternate


def test_the_cross_entropy_derivative_breaks_where_delta_does_not():
    z, y = 40.0, 0.0
    a = sigmoid(np.array(z))
    assert a == 1.0                                                        # sigma(40) rounds to 1
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_derivative = (a - y) / (a * (1 - a))                          # dC/da: a division by 0
        assert not np.isfinite(cost_derivative * sigmoid_prime(np.array(z)))
    assert network2.CrossEntropyCost.delta(z, a, y) == 1.0                 # delta = a - y needs no division


@pytest.mark.parametrize("n", [1, 2, 3])
def test_the_rule_stops_where_network2_stops(n, capsys):
    train, test = small_digits(120, 5, True), small_digits(60, 6, False)
    random.seed(n)
    np.random.seed(n)
    net = network2.Network([784, 10, 10])
    _, acc, _, _ = net.SGD(train, 40, 10, 3.0, evaluation_data=test, monitor_evaluation_accuracy=True,
                           early_stopping_n=n)
    stopped = "Early stopping" in capsys.readouterr().out
    rule = ch3.no_improvement_in(n)
    assert stopped and rule(acc) and ch3.stopping_epoch(acc, rule) == len(acc)
    assert not any(rule(acc[:k]) for k in range(len(acc)))


def test_gain_below_stops_no_later_than_the_books_rule():
    runs = [[10, 20, 20, 25, 24, 25, 23, 30, 31, 32, 32, 32, 32, 32], [5, 4, 6, 6, 7, 7, 7, 8, 9] + [9] * 10,
            list(range(100, 130))]
    for acc in runs:
        for n in (1, 2, 3):
            assert ch3.stopping_epoch(acc, ch3.gain_below(1, n)) == ch3.stopping_epoch(acc, ch3.no_improvement_in(n))
            assert ch3.stopping_epoch(acc, ch3.gain_below(3, n)) <= ch3.stopping_epoch(acc, ch3.no_improvement_in(n))
    # gains of 1 image a epoch: the book's rule never stops, a gain of at least 3 over 2 epochs is asked for
    assert ch3.stopping_epoch(runs[2], ch3.no_improvement_in(2)) == 30
    assert ch3.stopping_epoch(runs[2], ch3.gain_below(3, 2)) == 3


def test_train_until_stops_when_the_rule_fires():
    train, test = small_digits(100, 7, True), small_digits(40, 8, False)
    net = ch3.seeded_network([784, 10, 10])
    acc = ch3.train_until(net, list(train), test, lambda acc: len(acc) == 3, 10, 10, 0.5)
    assert len(acc) == 3
    # one SGD call per epoch trains as one call for all of them does (SGD shuffles the list in place)
    again = ch3.seeded_network([784, 10, 10])
    again.SGD(list(train), 3, 10, 0.5)
    for a, b in zip(net.weights + net.biases, again.weights + again.biases, strict=True):
        np.testing.assert_array_equal(a, b)


def test_l1_sweep_trains_each_lambda_from_one_start():
    train, validation = small_digits(100, 9, True), small_digits(40, 10, False)
    sweep = ch3.l1_sweep(train, validation, (0.0, 5.0), epochs=2, hidden=10)
    assert sorted(sweep) == [0.0, 5.0] and all(len(v) == 2 for v in sweep.values())
    net = ch3.seeded_network([784, 10, 10])
    acc = ch3.train_until(net, list(train), validation, lambda acc: False, 2, 10, 0.5, 5.0, regularization="L1")
    assert acc == sweep[5.0]


def test_weight_decay_shrinks_large_initial_weights():
    """Problem 9: with N(0, 1) weights and lmbda large the first epochs are decay: each multiplies
    the weights by about (1 - eta lmbda / n)^(n / m) = exp(-eta lmbda / m)."""
    train = small_digits(200, 11, True)
    before = list(train)
    rms = ch3.weight_decay_epochs(train, 3, eta=0.5, lmbda=5.0)
    assert all(a is b for a, b in zip(train, before, strict=True))    # the caller's list keeps its order
    assert rms[0] == pytest.approx(1.0, abs=0.01)
    ratios = np.array(rms[1:]) / np.array(rms[:-1])
    np.testing.assert_allclose(ratios, (1 - 0.5 * 5.0 / 200) ** (200 / 10), rtol=0.02)
