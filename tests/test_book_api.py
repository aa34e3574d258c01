"""The book's APIs around the networks: loader formats, chapter 5's speeds, the experiments,
torchnet.book's API, save/load across libraries, and the errors bad input gets."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from datafiles import real_cache_has

from scratchnet.book import experiments, network2, speed
from scratchnet.kernels import fused_mlp as F
from torchnet.book import network2 as t_network2


def mnist_like(n: int, seed: int, one_hot: bool) -> list:
    """MNIST-shaped ``(x, y)`` pairs: float32 pixels k/256, most of them 0, a block per class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = (rng.integers(1, 256, (n, 784)) / 256).astype(np.float32)
    X[rng.random((n, 784)) < 0.8] = 0.0
    for i, c in enumerate(y):
        X[i, c * 78:(c + 1) * 78] = 0.9
    return [(x.reshape(784, 1), np.eye(10)[c].reshape(10, 1) if one_hot else int(c)) for x, c in zip(X, y, strict=True)]


def seeded_net(sizes, module=network2, **kwargs):
    random.seed(1)
    np.random.seed(1)
    return module.Network(sizes, **kwargs)


def test_sgd_without_monitoring_returns_four_empty_lists(capsys):
    net = seeded_net([784, 12, 10])
    assert net.SGD(mnist_like(60, 0, True), 2, 10, 0.5) == ([], [], [], [])
    assert capsys.readouterr().out.count("training complete") == 2


def test_network2_update_is_the_books_per_sample_backprop_with_l2():
    """update_mini_batch = w(1 - eta lmbda/n) - (eta/m) sum_x backprop(x, y), for every parameter."""
    batch = mnist_like(10, 1, True)
    net = seeded_net([784, 12, 10])
    nabla_b = [np.zeros(b.shape) for b in net.biases]
    nabla_w = [np.zeros(w.shape) for w in net.weights]
    for x, y in batch:
        db, dw = net.backprop(x.astype(np.float64), y)
        nabla_b = [a + b for a, b in zip(nabla_b, db, strict=True)]
        nabla_w = [a + b for a, b in zip(nabla_w, dw, strict=True)]
    eta, lmbda, n = 0.5, 5.0, 1000
    expected = [(1 - eta * (lmbda / n)) * w - (eta / 10) * nw for w, nw in zip(net.weights, nabla_w, strict=True)]
    expected += [b - (eta / 10) * nb for b, nb in zip(net.biases, nabla_b, strict=True)]
    net.update_mini_batch(batch, eta, lmbda, n)
    for l, (got, exp) in enumerate(zip(net.weights + net.biases, expected, strict=True)):
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-14, err_msg=f"parameter {l}")


def test_layer_speeds_are_the_norms_of_the_mean_per_sample_bias_gradient():
    data = mnist_like(40, 2, True)
    net = seeded_net([784, 8, 7, 6, 10])
    grads = [net.backprop(x.astype(np.float64), y)[0] for x, y in data]
    expected = [np.linalg.norm(sum(g[l] for g in grads) / len(data)) for l in range(3)]
    np.testing.assert_allclose(speed.layer_speeds(net, data), expected, rtol=1e-10)
    history = speed.training_speeds(net, data, 2, 10, 0.1)
    assert len(history) == 3 and all(len(h) == 3 for h in history)


def test_save_in_scratchnet_load_in_torchnet_and_back(tmp_path: Path):
    net = seeded_net([784, 9, 10], cost=network2.LogLikelihoodCost, activation="tanh")
    net.save(str(tmp_path / "net.json"))
    theirs = t_network2.load(str(tmp_path / "net.json"), device="cpu")
    assert theirs.cost is network2.LogLikelihoodCost and theirs.activation == "tanh"
    x = mnist_like(1, 3, False)[0][0]
    np.testing.assert_allclose(theirs.feedforward(x).numpy(), net.feedforward(x), rtol=1e-12)
    theirs.save(str(tmp_path / "again.json"))
    again = network2.load(str(tmp_path / "again.json"))
    for a, b in zip(again.weights + again.biases, net.weights + net.biases, strict=True):
        np.testing.assert_array_equal(a, b)


def test_torchnet_api_shapes_and_return_values(capsys):
    net = seeded_net([784, 9, 10], module=t_network2, device="cpu")
    train, test = mnist_like(50, 4, True), mnist_like(20, 5, False)
    ec, ea, tc, ta = net.SGD(train, 2, 10, 0.5, lmbda=1.0, evaluation_data=test, monitor_evaluation_cost=True,
                             monitor_evaluation_accuracy=True, monitor_training_cost=True,
                             monitor_training_accuracy=True)
    assert [len(v) for v in (ec, ea, tc, ta)] == [2, 2, 2, 2]
    assert ea[-1] == net.accuracy(test) and ta[-1] == net.accuracy(train, convert=True)
    assert abs(tc[-1] - net.total_cost(train, 1.0)) < 1e-12
    out = net.feedforward(test[0][0])
    assert isinstance(out, torch.Tensor) and out.shape == (10, 1) and out.dtype == torch.float64
    nabla_b, nabla_w = net.backprop(*train[0])
    assert [b.shape for b in nabla_b] == [(9, 1), (10, 1)] and [w.shape for w in nabla_w] == [(9, 784), (10, 9)]


@pytest.mark.parametrize("chapter", ["ch1", "ch3", "ch5"])
def test_run_chapter_quick_prints_the_books_figures_beside_ours(chapter: str):
    data = (mnist_like(200, 6, True), mnist_like(50, 7, False), mnist_like(50, 8, False))
    lines: list[str] = []
    result = experiments.run_chapter(chapter, quick=True, out=lines.append, data=data)
    text = "\n".join(lines)
    if chapter == "ch1":
        assert len(result["test_correct"]) == 3 and "9129" in text and "9348" in text
    elif chapter == "ch3":
        assert len(result["regularized_full"]) == 5 and "9532" in text and "98.04%" in text
    else:
        assert [len(result[h][0]) for h in (2, 3, 4)] == [2, 3, 4]
        assert "0.012  0.060  0.283" in text and "0.003  0.017  0.070  0.285" in text


def test_run_chapter_on_torch_backend():
    data = (mnist_like(100, 9, True), mnist_like(30, 10, False), mnist_like(30, 11, False))
    result = experiments.run_chapter("ch1", quick=True, backend="torch", out=lambda s: None, data=data)
    ours = experiments.run_chapter("ch1", quick=True, backend="scratch", out=lambda s: None, data=data)
    assert result == ours  # same seed, same draws, float64 on both: the same accuracies


def shared_like(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``mnist_like`` as network3's ``load_data_shared`` gives it: ``(X (n, 784) float64, y (n,))``."""
    pairs = mnist_like(n, seed, False)
    return np.concatenate([x.T for x, _ in pairs]).astype(np.float64), np.array([y for _, y in pairs])


def test_run_chapter_ch6_quick_prints_every_row_beside_the_books_figure():
    data = [shared_like(40, 12), shared_like(20, 13), shared_like(20, 14)]
    lines: list[str] = []
    result = experiments.run_chapter("ch6", quick=True, out=lines.append, data=data)
    theirs = experiments.run_chapter("ch6", quick=True, backend="torch", out=lambda s: None, data=data)
    assert theirs["test_accuracy"] == result["test_accuracy"]  # same seeds, draws and masks, float64
    text = "\n".join(lines)
    assert "NOT comparable with the book's" in text and "first 40 training images (200 expanded)" in text
    keys = [key for key, *_ in experiments.CH6_ROWS] + ["ensemble"]
    assert list(result["test_accuracy"]) == keys and len(result["ensemble_members"]) == 3
    for key, *_, label in experiments.CH6_ROWS:
        line = next(line for line in lines if line.startswith(label))
        assert f"{result['test_accuracy'][key]:.2%}" in line and f"{experiments.BOOK_CH6[key]:.2%}" in line
    for figure in ("97.80%", "98.78%", "99.06%", "99.23%", "99.37%", "99.43%", "99.60%", "99.67%",
                   "99.46%", "99.48%"):
        assert figure in text
    assert all(0.0 <= a <= 1.0 for a in result["test_accuracy"].values())


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="run_chapter: chapter must be one of"):
        experiments.run_chapter("ch2", quick=True)
    with pytest.raises(ValueError, match="run_chapter: backend must be 'scratch' or 'torch', got 'jax'"):
        experiments.run_chapter("ch1", quick=True, backend="jax")
    with pytest.raises(ValueError, match="run_chapter: backend must be 'scratch' or 'torch', got 'jax'"):
        experiments.run_chapter("ch6", quick=True, backend="jax")
    with pytest.raises(ValueError, match="Network: activation must be one of .* got 'gelu'"):
        network2.Network([4, 3, 2], activation="gelu")
    with pytest.raises(TypeError, match="Network: cost must be QuadraticCost, CrossEntropyCost or"):
        network2.Network([4, 3, 2], cost=object)
    with pytest.raises(ValueError, match=r"Network: sizes must list at least two .* got \[4\]"):
        network2.Network([4])
    net = seeded_net([4, 3, 2])
    good = (np.zeros((4, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="SGD: regularization must be 'L1' or 'L2', got 'L3'"):
        net.SGD([good], 1, 1, 0.1, regularization="L3")
    with pytest.raises(ValueError, match=r"training_data: every x must be a \(4, 1\) column"):
        net.SGD([good, (np.zeros((5, 1)), np.zeros((2, 1)))], 1, 1, 0.1)
    with pytest.raises(ValueError, match="training_data is empty"):
        net.SGD([], 1, 1, 0.1)
    with pytest.raises(ValueError, match=r"data: each y must be an int label, got shape \(2, 1\)"):
        net.accuracy([good])
    with pytest.raises(ValueError, match=r"training_data: x number 1 holds nan at row 2; inputs must be finite"):
        bad_x = np.zeros((4, 1))
        bad_x[2] = np.nan
        net.SGD([good, (bad_x, np.zeros((2, 1)))], 1, 1, 0.1)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\) .* got 2 at position 1"):
        net.accuracy([(np.zeros((4, 1)), 0), (np.zeros((4, 1)), 2)])
    for module in (network2, t_network2):
        with pytest.raises(ValueError, match="SGD: mini_batch_size must be a positive int, got 0"):
            seeded_net([4, 3, 2], module=module).SGD([good], 1, 0, 0.1)
    with pytest.raises(ValueError, match="SGD: eta must be finite, got inf"):
        net.SGD([good], 1, 1, float("inf"))
    with pytest.raises(ValueError, match="SGD: epochs must be an int >= 0, got 1.5"):
        net.SGD([good], 1.5, 1, 0.1)
    with pytest.raises(ValueError, match="train_epoch: eta, lmbda and mu must be finite, got 0.1, nan"):
        F.train_epoch(np.zeros((1, 4)), np.zeros((1, 2)), np.arange(1), 1, 0.1, float("nan"), 1, net.weights,
                      net.biases)
    with pytest.raises(ValueError, match=r"train_epoch: X must be \(N, 4\) for layer sizes \[4, 3, 2\], got \(2, 5\)"):
        F.train_epoch(np.zeros((2, 5)), np.zeros((2, 2)), np.arange(2), 1, 0.1, 0.0, 2, net.weights, net.biases)
    with pytest.raises(ValueError, match=r"predict: layer 1 needs weights \(2, 3\) and 2 biases, got \(3, 3\)"):
        F.predict(np.zeros((2, 4)), [net.weights[0], np.zeros((3, 3))], net.biases, F.SIGMOID, F.SIGMOID)


@pytest.mark.skipif(not real_cache_has("mnist"), reason="MNIST not in the cache: run `scratchnet data fetch mnist`")
def test_mnist_loader_formats_are_the_books():
    from scratchnet.book import mnist_loader
    from scratchnet.data import load

    (X, y), (Xv, yv), (Xt, yt) = mnist_loader.load_data()
    assert X.shape == (50000, 784) and Xv.shape == Xt.shape == (10000, 784)
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, load("mnist")["train"][0].reshape(50000, 784))  # the pickle's values
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    assert isinstance(training_data, list) and len(training_data) == 50000
    x0, y0 = training_data[0]
    assert x0.shape == (784, 1) and y0.shape == (10, 1) and y0.sum() == 1.0 and int(y0.argmax()) == y[0]
    assert isinstance(validation_data[0][1], int) and isinstance(test_data[0][1], int) and test_data[0][1] == yt[0]
