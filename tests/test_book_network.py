"""The book's APIs: formats, return values, chapter 3's options, and the book's recorded run."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from datafiles import needs_data

from scratchnet import kernels
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


def test_update_mini_batch_is_the_books_sum_of_per_sample_backprops():
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


@pytest.mark.parametrize("kwargs", [dict(regularization="L1"), dict(mu=0.5)])
def test_network2_chapter3_options_change_training(kwargs):
    train, test = toy()
    results = []
    for extra in ({}, kwargs):
        np.random.seed(6)
        random.seed(6)
        net = network2.Network([20, 10, 4])
        net.SGD(list(train), 6, 10, 0.5, lmbda=1.0, evaluation_data=test, monitor_evaluation_accuracy=True, **extra)
        results.append([w.copy() for w in net.weights])
    assert any(not np.array_equal(a, b) for a, b in zip(*results, strict=True))


# Chapter 3's rules, run against scripted evaluation accuracies. The book: early stopping ends
# training after n epochs without a better classification accuracy ("no-improvement-in-n");
# the schedule halves eta each time that rule fires and stops once eta is down to eta0/128.
# A tie is no improvement; after a halving the count of epochs starts again.

ETA = 0.8  # halving a float is exact, so the expected etas ETA / 2**k compare with ==


@dataclass
class ScriptedRun:
    """What ``SGD`` did with scripted accuracies: the eta of each epoch trained, the accuracies
    it returned, what it printed, and the network's weights and biases afterwards."""

    etas: list[float]
    accuracies: list[int]
    printed: str
    params: list[np.ndarray]


def scripted_sgd(accuracies: list[int], epochs: int, capsys: pytest.CaptureFixture, **options) -> ScriptedRun:
    """``network2.SGD`` on the toy data with ``evaluation_data``'s accuracy after epoch j forced
    to ``accuracies[j]`` (through ``_output``, the hook SGD computes it with), training for real
    and recording the eta each epoch is trained with (through ``_epoch``)."""
    train, test = toy()
    labels = np.array([y for _, y in test])
    np.random.seed(8)
    random.seed(8)
    net = network2.Network([20, 10, 4])
    script = iter(accuracies)
    real_output, real_epoch = net._output, net._epoch
    etas: list[float] = []

    def output(X: np.ndarray) -> np.ndarray:
        if len(X) != len(test):
            return real_output(X)
        k = next(script)                                   # the first k right, the rest wrong
        predicted = np.where(np.arange(len(X)) < k, labels, (labels + 1) % 4)
        return np.eye(4)[predicted]

    def epoch(X, Y, order, mini_batch_size, eta, *rest):
        etas.append(eta)
        return real_epoch(X, Y, order, mini_batch_size, eta, *rest)

    net._output, net._epoch = output, epoch
    capsys.readouterr()
    _, acc, _, _ = net.SGD(train, epochs, 10, ETA, lmbda=1.0, evaluation_data=test,
                           monitor_evaluation_accuracy=True, **options)
    return ScriptedRun(etas, acc, capsys.readouterr().out, [p.copy() for p in net.weights + net.biases])


def trained_with(etas: list[float]) -> list[np.ndarray]:
    """Weights and biases of the same network trained one ``SGD`` call per epoch at these etas
    (no schedule, no early stopping): what the scripted run's updates must have been."""
    train, _ = toy()
    np.random.seed(8)
    random.seed(8)
    net = network2.Network([20, 10, 4])
    for eta in etas:
        net.SGD(train, 1, 10, eta, lmbda=1.0)
    return net.weights + net.biases


def assert_trained_with(run: ScriptedRun, etas: list[float], accuracies: list[int]) -> None:
    """The run trained exactly ``len(etas)`` epochs at these etas and returned these accuracies."""
    assert run.etas == etas
    assert run.accuracies == accuracies[:len(etas)]
    for got, expected in zip(run.params, trained_with(etas), strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(("n", "accuracies", "epochs_run"), [
    # best 5 at epoch 0; 5 again at epoch 1 is a tie, not an improvement -> stop after epoch 1
    (1, [5, 5, 9, 9, 9], 2),
    # best 5, then 4 (1), 6 best, 6 (1), 7 best, 7 (1), 7 (2) -> stop after epoch 6
    (2, [5, 4, 6, 6, 7, 7, 7, 8, 9], 7),
    # best 10, 20 best, 20 (1), 25 best, 24 (1), 25 (2), 23 (3) -> stop after epoch 6
    (3, [10, 20, 20, 25, 24, 25, 23, 30, 31, 32], 7),
])
def test_early_stopping_stops_after_n_epochs_without_a_better_accuracy(n, accuracies, epochs_run, capsys):
    run = scripted_sgd(accuracies, 30, capsys, early_stopping_n=n)
    assert_trained_with(run, [ETA] * epochs_run, accuracies)
    assert run.printed.count(f"Early stopping: no improvement in {n} epochs") == 1
    assert "Learning rate halved" not in run.printed


def test_without_the_rules_or_while_improving_every_epoch_is_run(capsys):
    rising = [10, 11, 12, 13, 14, 15]
    assert_trained_with(scripted_sgd(rising, 6, capsys, early_stopping_n=1, lr_schedule_n=1), [ETA] * 6, rising)
    flat = [10] * 6
    run = scripted_sgd(flat, 6, capsys)
    assert_trained_with(run, [ETA] * 6, flat)
    assert "Early stopping" not in run.printed and "halved" not in run.printed
    # epochs runs out before the schedule ends: halved once (after epoch 2), no stop line
    run = scripted_sgd(flat, 5, capsys, lr_schedule_n=2)
    assert_trained_with(run, [ETA] * 3 + [ETA / 2] * 2, flat)
    assert "stopping" not in run.printed


@pytest.mark.parametrize(("n", "etas"), [
    # best at epoch 0, then never better: halve after epochs 1, 2, ..., 7; the 7th halving
    # reaches ETA/128: stop (ETA/128 is never trained with)
    (1, [ETA, ETA, ETA / 2, ETA / 4, ETA / 8, ETA / 16, ETA / 32, ETA / 64]),
    # halve after epochs 2, 4, 6, 8, 10, 12, 14 (two epochs without improvement each time)
    (2, [ETA] * 3 + [ETA / 2] * 2 + [ETA / 4] * 2 + [ETA / 8] * 2 + [ETA / 16] * 2 + [ETA / 32] * 2
     + [ETA / 64] * 2),
])
def test_schedule_halves_eta_after_n_epochs_without_improvement_and_stops_at_eta0_over_128(n, etas, capsys):
    flat = [50] + [40] * 40
    run = scripted_sgd(flat, 40, capsys, lr_schedule_n=n)
    assert_trained_with(run, etas, flat)
    halvings = [line for line in run.printed.splitlines() if line.startswith("Learning rate halved to ")]
    assert halvings == [f"Learning rate halved to {ETA / 2 ** k}" for k in range(1, 8)]
    assert run.printed.count("Learning rate is down to 1/128 of its first value: stopping") == 1


def test_schedule_counts_again_after_an_improvement_or_a_halving(capsys):
    # 50 best | 40 (1) | 60 best | 40 (1) | 40 (2): halve | 70 best | 40 (1) | 40 (2): halve |
    # then two epochs per halving: after epochs 9, 11, 13, 15, 17 (the 7th: ETA/128, stop)
    accuracies = [50, 40, 60, 40, 40, 70, 40, 40] + [40] * 30
    etas = [ETA] * 5 + [ETA / 2] * 3 + [ETA / 4] * 2 + [ETA / 8] * 2 + [ETA / 16] * 2 + [ETA / 32] * 2 \
        + [ETA / 64] * 2
    assert_trained_with(scripted_sgd(accuracies, 40, capsys, lr_schedule_n=2), etas, accuracies)


def test_early_stopping_and_schedule_together_keep_their_own_counts(capsys):
    # flat after epoch 0: halve after epochs 2 and 4; epoch 5 is the 5th without improvement: stop
    flat = [50] + [40] * 20
    run = scripted_sgd(flat, 20, capsys, early_stopping_n=5, lr_schedule_n=2)
    assert_trained_with(run, [ETA] * 3 + [ETA / 2] * 2 + [ETA / 4], flat)
    assert "Early stopping: no improvement in 5 epochs" in run.printed and "1/128" not in run.printed


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


# Test accuracies recorded in the book's fig/regularized_full.json that notes/architecture.md quotes:
# epochs 1-5 and 29-30.
BOOK_REGULARIZED_FULL = {0: 9212, 1: 9341, 2: 9375, 3: 9424, 4: 9532, 28: 9649, 29: 9561}


@pytest.mark.slow
@needs_data("mnist")
@pytest.mark.parametrize("tier", ["fast", "reference"])
def test_reproduces_the_books_regularized_full_run(capsys, tier):
    """notes/architecture.md's example: the book's seeds, lmbda = 5.0, on either kernel tier (the fused epoch,
    or the matrix form on scratchnet.nn). The fast tier runs all 30 epochs (about 10 s on 2 cores); the reference
    tier the first five (its 30 took 90 s of a 19-minute ``make test``; the two tiers are held equal step by step
    in tests/test_tiers.py and tests/test_matrix_form.py)."""
    from scratchnet.book import mnist_loader

    training_data, _, test_data = mnist_loader.load_data_wrapper()
    random.seed(12345678)
    np.random.seed(12345678)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    epochs = 30 if tier == "fast" else 5
    with kernels.use(tier):
        _, accuracies, _, _ = net.SGD(training_data, epochs, 10, 0.5, evaluation_data=test_data, lmbda=5.0,
                                      monitor_evaluation_accuracy=True)
    with capsys.disabled():
        print(f"\nregularized_full test accuracies ({tier} tier): {accuracies}")
    expected = {e: acc for e, acc in BOOK_REGULARIZED_FULL.items() if e < epochs}
    assert len(accuracies) == epochs and {e: accuracies[e] for e in expected} == expected
