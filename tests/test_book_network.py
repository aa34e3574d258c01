"""The book's APIs: formats, return values, chapter 3's options, and the book's recorded run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from datafiles import real_cache_has

from scratchnet.book import network, network2
from scratchnet.book.common import py2_shuffle, shuffled_order


def toy(n: int = 300, seed: int = 0, n_in: int = 20) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    X = rng.random((n, n_in)) * 0.2
    for i, c in enumerate(y):
        X[i, c * 5:(c + 1) * 5] += 0.8
    train = [(x.reshape(-1, 1), np.eye(4)[c].reshape(4, 1)) for x, c in zip(X[:200], y[:200], strict=True)]
    test = [(x.reshape(-1, 1), int(c)) for x, c in zip(X[200:], y[200:], strict=True)]
    return train, test


def test_py2_shuffle_follows_python2s_algorithm():
    """Python 2's shuffle: for i = n-1 .. 1, swap x[i] with x[int(random() * (i + 1))]."""
    random.seed(2024)
    r = [random.random() for _ in range(4)]
    expected = ["a", "b", "c", "d", "e"]
    j = int(r[0] * 5)
    expected[4], expected[j] = expected[j], expected[4]
    j = int(r[1] * 4)
    expected[3], expected[j] = expected[j], expected[3]
    j = int(r[2] * 3)
    expected[2], expected[j] = expected[j], expected[2]
    j = int(r[3] * 2)
    expected[1], expected[j] = expected[j], expected[1]
    random.seed(2024)
    x = ["a", "b", "c", "d", "e"]
    py2_shuffle(x)
    assert x == expected
    random.seed(2024)
    py3 = list(range(50))
    random.shuffle(py3)  # Python 3 draws with randbelow: another order, so not the book's runs
    random.seed(2024)
    py2 = list(range(50))
    py2_shuffle(py2)
    assert py2 != py3


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_vectorised_shuffle_is_py2_shuffle_and_leaves_random_where_it_would(n: int):
    random.seed(n)
    random.gauss(0.0, 1.0)  # leaves a cached second normal in the state: it must survive
    expected = list(range(n))
    py2_shuffle(expected)
    after = [random.random(), random.gauss(0.0, 1.0)]
    random.seed(n)
    random.gauss(0.0, 1.0)
    got = shuffled_order(np.arange(n))
    assert got.tolist() == expected
    assert [random.random(), random.gauss(0.0, 1.0)] == after


def test_network_draws_biases_before_weights():
    np.random.seed(5)
    net = network.Network([3, 2, 1])
    np.random.seed(5)
    b1, b2 = np.random.randn(2, 1), np.random.randn(1, 1)
    w1 = np.random.randn(2, 3)
    np.testing.assert_array_equal(net.biases[0], b1)
    np.testing.assert_array_equal(net.biases[1], b2)
    np.testing.assert_array_equal(net.weights[0], w1)


def test_matrix_update_equals_the_books_per_sample_backprop():
    train, _ = toy()
    np.random.seed(1)
    net = network.Network([20, 7, 4])
    batch = train[:10]
    nabla_b = [np.zeros(b.shape) for b in net.biases]
    nabla_w = [np.zeros(w.shape) for w in net.weights]
    for x, y in batch:
        db, dw = net.backprop(x, y)
        nabla_b = [a + b for a, b in zip(nabla_b, db, strict=True)]
        nabla_w = [a + b for a, b in zip(nabla_w, dw, strict=True)]
    expected_w = [w - (3.0 / 10) * nw for w, nw in zip(net.weights, nabla_w, strict=True)]
    expected_b = [b - (3.0 / 10) * nb for b, nb in zip(net.biases, nabla_b, strict=True)]
    net.update_mini_batch(batch, 3.0)
    for got, exp in zip(net.weights + net.biases, expected_w + expected_b, strict=True):
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-14)


def test_network_sgd_prints_the_books_lines(capsys):
    train, test = toy()
    np.random.seed(2)
    random.seed(2)
    net = network.Network([20, 10, 4])
    net.SGD(train, 2, 10, 3.0, test_data=test)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Epoch 0: ") and out[1].endswith(" / 100")
    assert net.evaluate(test) > 60


def test_network2_returns_four_lists_and_shuffles_in_place(capsys):
    train, test = toy()
    before = [id(t) for t in train]
    np.random.seed(3)
    random.seed(3)
    net = network2.Network([20, 10, 4])
    ec, ea, tc, ta = net.SGD(train, 3, 10, 0.5, lmbda=0.1, evaluation_data=test, monitor_evaluation_cost=True,
                             monitor_evaluation_accuracy=True, monitor_training_cost=True,
                             monitor_training_accuracy=True)
    assert [len(v) for v in (ec, ea, tc, ta)] == [3, 3, 3, 3]
    assert sorted(before) == sorted(id(t) for t in train) and before != [id(t) for t in train]
    assert ta[-1] == net.accuracy(train, convert=True) and ea[-1] == net.accuracy(test)
    assert abs(tc[-1] - net.total_cost(train, 0.1)) < 1e-12
    assert "Accuracy on evaluation data:" in capsys.readouterr().out


def test_network2_save_and_load(tmp_path: Path):
    np.random.seed(4)
    net = network2.Network([20, 5, 4], cost=network2.QuadraticCost)
    net.save(str(tmp_path / "net.json"))
    assert json.loads((tmp_path / "net.json").read_text())["cost"] == "QuadraticCost"
    again = network2.load(str(tmp_path / "net.json"))
    assert again.cost is network2.QuadraticCost
    x = np.random.default_rng(0).random((20, 1))
    np.testing.assert_allclose(again.feedforward(x), net.feedforward(x), rtol=1e-14)


@pytest.mark.parametrize("kwargs", [dict(regularization="L1"), dict(mu=0.5), dict(early_stopping_n=1),
                                    dict(lr_schedule_n=1)])
def test_network2_chapter3_options_change_training(kwargs, capsys):
    train, test = toy()
    results = []
    for extra in ({}, kwargs):
        np.random.seed(6)
        random.seed(6)
        net = network2.Network([20, 10, 4])
        _, acc, _, _ = net.SGD(list(train), 6, 10, 0.5, lmbda=1.0, evaluation_data=test,
                               monitor_evaluation_accuracy=True, **extra)
        results.append((acc, [w.copy() for w in net.weights]))
    (acc0, w0), (acc1, w1) = results
    assert any(not np.array_equal(a, b) for a, b in zip(w0, w1, strict=True))
    if "early_stopping_n" in kwargs or "lr_schedule_n" in kwargs:
        out = capsys.readouterr().out
        assert len(acc1) < 6 or "Learning rate halved" in out


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_network2_other_activations_and_softmax_learn(activation, capsys):
    train, test = toy()
    np.random.seed(7)
    random.seed(7)
    net = network2.Network([20, 10, 4], cost=network2.LogLikelihoodCost, activation=activation)
    _, acc, _, _ = net.SGD(train, 5, 10, 0.1, evaluation_data=test, monitor_evaluation_accuracy=True)
    assert acc[-1] > 60
    np.testing.assert_allclose(net.feedforward(test[0][0]).sum(), 1.0, rtol=1e-12)  # softmax output


def test_bad_input_names_the_shapes():
    np.random.seed(0)
    net = network2.Network([20, 5, 4])
    with pytest.raises(ValueError, match=r"training_data: each x must be a \(20, 1\) column .* got \(784, 1\)"):
        net.SGD([(np.zeros((784, 1)), np.zeros((4, 1)))], 1, 1, 0.1)
    with pytest.raises(ValueError, match=r"each y must be a \(4, 1\) one-hot column, got \(\)"):
        net.SGD([(np.zeros((20, 1)), 3)], 1, 1, 0.1)
    with pytest.raises(ValueError, match="early stopping .* evaluation_data"):
        net.SGD([(np.zeros((20, 1)), np.zeros((4, 1)))], 1, 1, 0.1, early_stopping_n=2)


# Test accuracies recorded in the book's fig/regularized_full.json that DESIGN.md quotes:
# epochs 1-5 and 29-30.
BOOK_REGULARIZED_FULL = {0: 9212, 1: 9341, 2: 9375, 3: 9424, 4: 9532, 28: 9649, 29: 9561}


@pytest.mark.slow
@pytest.mark.skipif(not real_cache_has("mnist"), reason="MNIST not in the cache: run `scratchnet data fetch mnist`")
def test_reproduces_the_books_regularized_full_run(capsys):
    """DESIGN.md's example: the book's seeds, 30 epochs, lmbda = 5.0 (about 17 s on 2 cores)."""
    from scratchnet.book import mnist_loader

    training_data, _, test_data = mnist_loader.load_data_wrapper()
    random.seed(12345678)
    np.random.seed(12345678)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    _, accuracies, _, _ = net.SGD(training_data, 30, 10, 0.5, evaluation_data=test_data, lmbda=5.0,
                                  monitor_evaluation_accuracy=True)
    with capsys.disabled():
        print(f"\nregularized_full test accuracies: {accuracies}")
    assert {e: accuracies[e] for e in BOOK_REGULARIZED_FULL} == BOOK_REGULARIZED_FULL
