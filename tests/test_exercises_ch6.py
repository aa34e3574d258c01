"""Chapter 6's exercise and problems on network3: the variants train, train() is network3's SGD one
epoch at a time with a rate per epoch, early stopping, distorted images and diagnostics; accuracy on
any data; saving and loading; ReLU networks under a rescaling of their weights."""

from __future__ import annotations

import random

import numpy as np
import pytest

from scratchnet.book import network3 as n3
from scratchnet.book.exercises import ch6
from scratchnet.book.experiments import _one_thread
from scratchnet.nn import Linear, ReLU, Sequential, Softmax


def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """network3-shaped data: X (n, 784) float64, y (n,) int64; a bright block per class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = np.where(rng.random((n, 784)) < 0.9, 0.0, rng.integers(1, 256, (n, 784)) / 256)
    for i, c in enumerate(y):
        X[i, c * 78:(c + 1) * 78] = 0.9
    return X, y


def seeded(make, seed: int = 3):
    random.seed(seed)
    np.random.seed(seed)
    return make()


def params(net) -> list[np.ndarray]:
    return [p.copy() for p in net.params]


def test_the_book_variants_train():
    train, validation, test = digits(60, 0), digits(20, 1), digits(20, 2)
    for fc, layers, act in ((None, 1, n3.sigmoid), (100, 1, n3.sigmoid), (100, 2, n3.tanh)):
        net = seeded(lambda fc=fc, layers=layers, act=act: ch6.conv_net(10, fc, layers, act))
        kinds = [type(layer).__name__ for layer in net.layers]
        assert kinds == ["ConvPoolLayer"] * layers + (["FullyConnectedLayer"] if fc else []) + ["SoftmaxLayer"]
        assert all(layer.activation_fn is act for layer in net.layers[:-1])
        before = params(net)
        history = ch6.train(net, train, 2, 10, 0.1, validation, test)
        assert len(history.validation) == 2 and all(0 <= v <= 1 for v in history.validation + history.test)
        assert all(not np.array_equal(a, b) for a, b in zip(before, net.params, strict=True))


def test_train_is_sgd_one_epoch_at_a_time():
    train, validation, test = digits(40, 3), digits(20, 4), digits(20, 5)
    etas = [0.2, 0.1, 0.05]
    ours = seeded(lambda: ch6.conv_net(10, 20))
    history = ch6.train(ours, train, 3, 10, 0.0, validation, test, lmbda=0.1, eta_at=lambda epoch: etas[epoch])
    assert history.etas == etas
    book = seeded(lambda: ch6.conv_net(10, 20))
    with _one_thread():                                                  # as train does: faster, same numbers
        for eta in etas:
            book.SGD(train, 1, 10, eta, validation, test, lmbda=0.1)
    for a, b in zip(ours.params, book.params, strict=True):
        np.testing.assert_array_equal(a, b)
    constant = seeded(lambda: ch6.conv_net(10, 20))
    ch6.train(constant, train, 3, 10, 0.1, validation, test)
    at_once = seeded(lambda: ch6.conv_net(10, 20))
    with _one_thread():
        at_once.SGD(train, 3, 10, 0.1, validation, test)                  # one call, three epochs
    for a, b in zip(constant.params, at_once.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_stops_when_the_rule_fires():
    train, validation, test = digits(40, 6), digits(20, 7), digits(20, 8)
    net = seeded(lambda: ch6.conv_net(10, 20))
    history = ch6.train(net, train, 10, 10, 0.1, validation, test, stop=lambda acc: len(acc) >= 2)
    assert history.stopped and len(history.validation) == 2
    assert history.best() == (max(history.validation), history.test[int(np.argmax(history.validation))]) or \
        history.validation.count(max(history.validation)) > 1


def test_accuracy_counts_every_sample():
    data = digits(37, 9)                                                  # not a multiple of 10
    net = seeded(lambda: ch6.conv_net(10, 20))
    ch6.train(net, digits(40, 10), 1, 10, 0.1, digits(20, 11), digits(20, 12))
    predicted = []
    for x in data[0]:
        net._forward(x.reshape(1, -1), training=False)
        predicted.append(int(net.layers[-1]._a.argmax()))
    assert ch6.accuracy(net, data) == pytest.approx(np.mean(np.array(predicted) == data[1]))
    assert ch6.accuracy(net, data, rows=7) == ch6.accuracy(net, data)


def test_diagnostics_are_the_accuracy_and_cost():
    train, validation, test = digits(40, 13), digits(20, 14), digits(20, 15)
    net = seeded(lambda: ch6.conv_net(10, 20))
    history = ch6.train(net, train, 2, 10, 0.1, validation, test, diagnostics=30)
    assert len(history.training) == len(history.training_cost) == len(history.validation_cost) == 2
    assert history.training[-1] == ch6.accuracy(net, (train[0][:30], train[1][:30]))
    net._forward(validation[0], training=False)
    a = net.layers[-1]._a
    assert history.validation_cost[-1] == pytest.approx(-np.mean(np.log(a[np.arange(20), validation[1]])))


def test_distort_moves_rotates_and_keeps_the_pixels():
    rng = np.random.default_rng(0)
    X = digits(8, 16)[0]
    np.testing.assert_allclose(ch6.distort(X, rng, degrees=0, shear=0, shift=0), X, atol=1e-12)
    image = np.zeros((28, 28))
    image[10, 20] = 1.0                                                   # one lit pixel, row 10, column 20
    X1 = image.reshape(1, 784)
    out = ch6.distort(X1, np.random.default_rng(1), degrees=0, shear=0, shift=0)
    assert out.reshape(28, 28)[10, 20] == pytest.approx(1.0)

    class Fixed:                                                         # a generator that draws given values
        def __init__(self, theta, s, t):
            self.values = [np.array([theta]), np.array([s]), np.array([t])]

        def uniform(self, lo, hi, size=None):
            return self.values.pop(0)

    moved = ch6.distort(X1, Fixed(0.0, 0.0, [2.0, -3.0]), 90, 1, 5).reshape(28, 28)
    assert moved[7, 22] == pytest.approx(1.0) and moved.sum() == pytest.approx(1.0)   # right 2, up 3
    turned = ch6.distort(X1, Fixed(90.0, 0.0, [0.0, 0.0]), 90, 1, 5).reshape(28, 28)
    # 90 degrees about the centre (13.5, 13.5): (x, y) = (20, 10) -> (13.5 - (10 - 13.5), 13.5 + (20 - 13.5)) = (17, 20)
    assert turned[20, 17] == pytest.approx(1.0, abs=1e-9)
    Y = ch6.distort(X, rng)
    assert Y.shape == X.shape and Y.min() >= 0 and Y.max() <= 1 and not np.allclose(Y, X)


def test_train_with_distortions_sees_new_images():
    train, validation, test = digits(40, 17), digits(20, 18), digits(20, 19)
    seen = []

    def augment(X, rng):
        seen.append(ch6.distort(X, rng))
        return seen[-1]

    net = seeded(lambda: ch6.conv_net(10, 20))
    ch6.train(net, train, 2, 10, 0.1, validation, test, augment=augment, seed=5)
    assert len(seen) == 2 and not np.allclose(seen[0], seen[1])
    np.testing.assert_array_equal(seen[0], ch6.distort(train[0], np.random.default_rng(5)))


def test_save_and_load_give_the_same_network(tmp_path):
    net = seeded(lambda: n3.Network([
        n3.ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(4, 1, 5, 5), poolsize=(2, 2),
                         activation_fn=n3.ReLU),
        n3.FullyConnectedLayer(n_in=4 * 12 * 12, n_out=16, activation_fn=n3.tanh, p_dropout=0.2),
        n3.SoftmaxLayer(n_in=16, n_out=10, p_dropout=0.1)], 10))
    ch6.train(net, digits(40, 20), 1, 10, 0.1, digits(20, 21), digits(20, 22))
    ch6.save(net, tmp_path / "net.npz")
    state = np.random.get_state()[1].copy()
    again = ch6.load(tmp_path / "net.npz")
    np.testing.assert_array_equal(np.random.get_state()[1], state)         # loading draws nothing for the caller
    assert [type(a) for a in again.layers] == [type(b) for b in net.layers]
    assert again.layers[1].p_dropout == 0.2 and again.layers[0].activation_fn is n3.ReLU
    X = digits(20, 23)[0]
    net._forward(X, training=False)
    expected = net.layers[-1]._a.copy()
    again._forward(X, training=False)
    np.testing.assert_array_equal(again.layers[-1]._a, expected)


def test_scaling_a_relu_network():
    """Problem 10: weights times c > 0, biases zero: ReLU outputs times c^(L-1); a softmax on top
    sharpens (z times c^(L-1)) but keeps its argmax."""
    rng = np.random.default_rng(0)
    layers = [Linear(6, 8, dtype=np.float64, rng=rng), ReLU(), Linear(8, 7, dtype=np.float64, rng=rng), ReLU(),
              Linear(7, 5, dtype=np.float64, rng=rng), ReLU()]
    for layer in layers[::2]:
        layer.bias.data[:] = 0.0
    X = rng.standard_normal((30, 6))
    net = Sequential(*layers)
    before = net(X).copy()
    c = 1.7
    for layer in layers[::2]:
        layer.weight.data *= c
    np.testing.assert_allclose(net(X), c**3 * before, rtol=1e-12)          # L = 4 layers of neurons: c^(L-1)
    z = Sequential(*layers[:-1])(X)
    soft, sharp = Softmax()(z / c**3), Softmax()(z)
    assert np.array_equal(soft.argmax(1), sharp.argmax(1)) and np.all(sharp.max(1) >= soft.max(1) - 1e-15)


def test_the_sigmoid_initialisation_halves_a_relu_signal_per_layer():
    """Problem 10: with N(0, 1/n_in) weights a ReLU layer halves the mean square of its input (it
    zeroes half of a symmetric z); N(0, 2/n_in) keeps it."""
    rng = np.random.default_rng(1)
    n, depth = 400, 8
    X = rng.standard_normal((200, n))
    for variance, expected in ((1.0, 0.5 ** depth), (2.0, 1.0)):
        a = X
        for _ in range(depth):
            a = np.maximum(a @ rng.normal(0.0, np.sqrt(variance / n), (n, n)), 0.0)
        ratio = np.mean(a**2) / np.mean(X**2)
        # a finite width's per-layer fluctuations compound over 8 layers (0.0046 against 0.0039
        # here); the two initialisations are 256 times apart
        assert ratio == pytest.approx(expected, rel=0.25), (variance, ratio)
