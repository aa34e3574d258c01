"""scratchnet.book vs torchnet.book: same seed, same per-epoch accuracies on 1,000 images."""

from __future__ import annotations

import random

import numpy as np
import pytest
from parity_harness import DEVICE

from scratchnet.book import network as s_network
from scratchnet.book import network2 as s_network2
from scratchnet.data.datasets import cache_root
from torchnet.book import network as t_network
from torchnet.book import network2 as t_network2


def synthetic(n: int, seed: int) -> tuple[list, list]:
    """MNIST-shaped data with learnable structure: each class lights its own block of pixels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = rng.random((n, 784)) * 0.3
    for i, c in enumerate(y):
        X[i, c * 78:(c + 1) * 78] += 0.7
    train = [(x.reshape(784, 1), np.eye(10)[c].reshape(10, 1)) for x, c in zip(X[: n // 2], y[: n // 2], strict=True)]
    test = [(x.reshape(784, 1), int(c)) for x, c in zip(X[n // 2:], y[n // 2:], strict=True)]
    return train, test


def real(n: int) -> tuple[list, list]:
    from scratchnet.book import mnist_loader

    training_data, _, test_data = mnist_loader.load_data_wrapper()
    return training_data[:n], test_data[:n]


def seeded(factory):
    random.seed(12345678)
    np.random.seed(12345678)
    return factory()


def run_network2(module, train, test, large: bool, cost: str = "CrossEntropyCost",
                 activation: str = "sigmoid", **options) -> list[int]:
    kwargs = {"device": DEVICE} if module is t_network2 else {}
    net = seeded(lambda: module.Network([784, 30, 10], cost=getattr(module, cost), activation=activation,
                                        **kwargs))
    if large:
        net.large_weight_initializer()
    random.seed(7)
    _, acc, _, _ = net.SGD(list(train), 3, 10, options.pop("eta", 0.5), lmbda=options.pop("lmbda", 5.0),
                           evaluation_data=test,
                           monitor_evaluation_accuracy=True, **options)
    return acc


@pytest.mark.parametrize("large", [False, True], ids=["default-init", "large-init"])
def test_network2_same_accuracies_synthetic(large: bool, capsys) -> None:
    train, test = synthetic(2000, seed=1)
    ours, theirs = run_network2(s_network2, train, test, large), run_network2(t_network2, train, test, large)
    assert ours == theirs, f"per-epoch accuracies: scratchnet {ours} vs torch {theirs}"
    assert ours[-1] > 0.5 * len(test)  # it learned something, so the comparison means something


@pytest.mark.parametrize("options", [
    dict(regularization="L1", lmbda=0.5), dict(mu=0.5, eta=0.1), dict(cost="QuadraticCost", eta=3.0),
    dict(cost="LogLikelihoodCost", activation="tanh", eta=0.1),
    dict(cost="LogLikelihoodCost", activation="relu", eta=0.05)],
    ids=["L1", "momentum", "quadratic", "softmax-tanh", "softmax-relu"])
def test_network2_chapter3_options_same_accuracies(options: dict, capsys) -> None:
    train, test = synthetic(1000, seed=3)
    ours = run_network2(s_network2, train, test, False, **dict(options))
    theirs = run_network2(t_network2, train, test, False, **dict(options))
    assert ours == theirs, f"per-epoch accuracies with {options}: scratchnet {ours} vs torch {theirs}"
    assert ours[-1] > 0.3 * len(test)


@pytest.mark.skipif(not (cache_root() / "mnist" / "mnist.npz").is_file(),
                    reason="MNIST not in the cache: run `scratchnet data fetch mnist`")
def test_network2_same_accuracies_real_mnist(capsys) -> None:
    train, test = real(1000)
    ours, theirs = run_network2(s_network2, train, test, True), run_network2(t_network2, train, test, True)
    assert ours == theirs, f"per-epoch accuracies: scratchnet {ours} vs torch {theirs}"


def test_network_chapter1_same_weights(capsys) -> None:
    train, test = synthetic(400, seed=2)
    ours = seeded(lambda: s_network.Network([784, 20, 10]))
    theirs = seeded(lambda: t_network.Network([784, 20, 10], device=DEVICE))
    random.seed(3)
    ours.SGD(list(train), 2, 10, 3.0)
    random.seed(3)
    theirs.SGD(list(train), 2, 10, 3.0)
    for w, wt in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(w, wt.detach().cpu().numpy(), rtol=1e-8, atol=1e-10)
    assert ours.evaluate(test) == theirs.evaluate(test)


@pytest.mark.parametrize("cost,activation", [("QuadraticCost", "sigmoid"), ("CrossEntropyCost", "sigmoid"),
                                             ("LogLikelihoodCost", "tanh"), ("LogLikelihoodCost", "relu")])
def test_network2_backprop_matches_autograd(cost: str, activation: str) -> None:
    """The book's per-sample ``backprop`` (BP1-BP4 by hand) against torch's autograd, float64."""
    train, _ = synthetic(4, seed=4)
    ours = seeded(lambda: s_network2.Network([784, 9, 8, 10], cost=getattr(s_network2, cost),
                                             activation=activation))
    theirs = seeded(lambda: t_network2.Network([784, 9, 8, 10], cost=getattr(t_network2, cost),
                                               activation=activation, device=DEVICE))
    for x, y in train:
        (b_ours, w_ours), (b_theirs, w_theirs) = ours.backprop(x, y), theirs.backprop(x, y)
        for l in range(3):
            np.testing.assert_allclose(b_ours[l], b_theirs[l], rtol=1e-8, atol=1e-12 * np.abs(b_theirs[l]).max(),
                                       err_msg=f"nabla_b[{l}] ({cost}, {activation})")
            np.testing.assert_allclose(w_ours[l], w_theirs[l], rtol=1e-8, atol=1e-12 * np.abs(w_theirs[l]).max(),
                                       err_msg=f"nabla_w[{l}] ({cost}, {activation})")
