"""network3's book behaviour on small synthetic images: printed lines, best-epoch reporting, ensemble."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.book import network3 as n3


def blocks(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images whose class (0-3) lights one quadrant."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    X = rng.random((n, 8, 8)) * 0.3
    for i, c in enumerate(y):
        X[i, (c // 2) * 4:(c // 2) * 4 + 4, (c % 2) * 4:(c % 2) * 4 + 4] += 0.7
    return X.reshape(n, 64), y


def small_net(m: int = 5) -> n3.Network:
    return n3.Network([n3.ConvPoolLayer(filter_shape=(4, 1, 3, 3), image_shape=(m, 1, 8, 8), poolsize=(2, 2),
                                        activation_fn=n3.ReLU),
                       n3.FullyConnectedLayer(n_in=4 * 3 * 3, n_out=16, activation_fn=n3.ReLU, p_dropout=0.2),
                       n3.SoftmaxLayer(n_in=16, n_out=4)], m)


def test_sgd_learns_and_prints_the_books_lines(capsys):
    np.random.seed(1)
    net = small_net()
    best_val, test_acc = net.SGD(blocks(200, 0), 4, 5, 0.1, blocks(50, 1), blocks(50, 2))
    out = capsys.readouterr().out
    assert "Training mini-batch number 0" in out and "Epoch 3: validation accuracy" in out
    assert "This is the best validation accuracy to date." in out and "Finished training network." in out
    assert f"Corresponding test accuracy of {test_acc:.2%}" in out
    assert best_val > 0.8


def test_ensemble_vote_of_trained_networks(capsys):
    nets = []
    for seed in range(3):
        np.random.seed(seed)
        net = small_net()
        net.SGD(blocks(200, 0), 3, 5, 0.1, blocks(50, 1), None)
        nets.append(net)
    assert n3.ensemble_vote(nets, blocks(50, 3)) > 0.8


def test_configuration_errors_are_named():
    with pytest.raises(ValueError, match=r"filter_shape \(4, 2, 3, 3\) takes 2 input maps but image_shape "
                                         r"\(5, 1, 8, 8\) has 1"):
        n3.ConvPoolLayer(filter_shape=(4, 2, 3, 3), image_shape=(5, 1, 8, 8))
    with pytest.raises(ValueError, match="the last layer must be a SoftmaxLayer"):
        n3.Network([n3.FullyConnectedLayer(4, 2)], 5)
    layer = n3.FullyConnectedLayer(10, 2)
    with pytest.raises(ValueError, match=r"FullyConnectedLayer\(10, 2\): got 9 inputs per sample"):
        layer.forward(np.zeros((3, 9)), training=False)
