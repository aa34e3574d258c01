"""``mnist_loader``'s lists remember their matrices (``scratchnet.book.pairs``): SGD on them is the
same run as on a plain list, without stacking, and any other change to a list makes it stack again."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from scratchnet.book import common, network, network2
from scratchnet.book.pairs import BookPairs, book_pairs


def data(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = (rng.integers(0, 256, (n, 12)) / 256).astype(np.float32)
    X[rng.random(X.shape) < 0.5] = 0.0
    return X, rng.integers(0, 4, n)


def plain(X: np.ndarray, y: np.ndarray) -> list:
    """The book's own construction, as mnist_loader.load_data_wrapper built it before."""
    return [(x.reshape(12, 1), np.eye(4)[v].reshape(4, 1)) for x, v in zip(X, y, strict=True)]


def same_lists(a: list, b: list) -> None:
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def train(module, training_data: list, calls: int, **kwargs) -> list:
    random.seed(3)
    np.random.seed(3)
    net = module.Network([12, 5, 4])
    out = [net.SGD(training_data, 1, 10, 0.5, **kwargs) for _ in range(calls)]
    return [net.weights, net.biases, out]


@pytest.mark.parametrize(("module", "kwargs"), [
    (network, {}), (network2, {}), (network2, {"monitor_training_cost": True, "monitor_training_accuracy": True})],
    ids=["network", "network2", "network2-monitored"])
def test_sgd_on_book_pairs_is_the_run_on_a_plain_list(module, kwargs, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = data()
    expected_list = plain(X, y)
    expected = train(module, expected_list, calls=3, **kwargs)
    pairs = book_pairs(X, y, n_classes=4)
    same_lists(pairs, plain(X, y))
    if not kwargs:  # no stacking at all: the matrices are used as they are
        monkeypatch.setattr(common, "_stack", lambda *a: pytest.fail("a BookPairs list was stacked"))
    got = train(module, pairs, calls=3, **kwargs)
    for w_got, w_expected in zip(got[0] + got[1], expected[0] + expected[1], strict=True):
        np.testing.assert_array_equal(w_got, w_expected)  # bit for bit: the same rows in the same order
    assert got[2] == expected[2]
    same_lists(pairs, expected_list)  # left in the order the book's shuffles leave it
    assert pairs.rows() is not None and [pairs.X[r, 0] for r in pairs.rows()[2][:5]] == \
        [float(x[0, 0]) for x, _ in pairs[:5]]


@pytest.mark.parametrize("change", [
    lambda d: d.append(d[0]), lambda d: d.__setitem__(0, d[1]), lambda d: random.shuffle(d), lambda d: d.reverse(),
    lambda d: d.sort(key=lambda p: float(p[0].sum())), lambda d: d.pop(), lambda d: d.__delitem__(slice(0, 3)),
    lambda d: d.extend(d[:2]), lambda d: d.insert(0, d[5]), lambda d: d.__iadd__(d[:1]),
], ids=["append", "setitem", "random.shuffle", "reverse", "sort", "pop", "delitem", "extend", "insert", "iadd"])
def test_any_other_change_makes_the_list_stack_again(change) -> None:
    X, y = data()
    pairs, reference = book_pairs(X, y, n_classes=4), plain(X, y)
    random.seed(1)
    change(pairs)
    random.seed(1)
    change(reference)
    assert pairs.rows() is None
    same_lists(pairs, reference)
    expected, got = train(network, reference, calls=2), train(network, pairs, calls=2)
    for a, b in zip(got[0] + got[1], expected[0] + expected[1], strict=True):
        np.testing.assert_array_equal(a, b)
    same_lists(pairs, reference)


def test_stack_gives_the_rows_in_the_lists_order() -> None:
    X, y = data()
    pairs = book_pairs(X, y, n_classes=4)
    Xs, Ys = common.stack(pairs, "d", 12, 4)
    assert Xs is pairs.X  # in the matrices' order: no copy
    order = np.random.default_rng(0).permutation(len(X))
    pairs.follow(order)
    Xs, Ys = common.stack(pairs, "d", 12, 4)
    np.testing.assert_array_equal(Xs, X[order])
    np.testing.assert_array_equal(Ys, np.eye(4)[y[order]])
    labels = book_pairs(X, y, n_classes=None)
    assert all(isinstance(v, int) for _, v in labels[:3])
    np.testing.assert_array_equal(common.stack(labels, "t", 12, None)[1], y)
    with pytest.raises(ValueError, match=r"each x must be a \(13, 1\) column for a network with 13 inputs"):
        common.stack(pairs, "training_data", 13, 4)  # a network of another shape: the usual message


def test_in_place_writes_reach_the_matrix_and_pickles_are_plain_lists() -> None:
    X, y = data()
    pairs, before = book_pairs(X, y, n_classes=4), X.copy()
    pairs[7][0][3, 0] = 0.3
    assert pairs.X[7, 3] == np.float32(0.3)  # the tuple is a view of the list's matrix
    np.testing.assert_array_equal(X, before)  # which is a copy of the caller's
    assert pairs.rows() is not None
    back = pickle.loads(pickle.dumps(pairs))
    assert type(back) is list and len(back) == len(pairs)
    assert type(pairs[:10]) is list


def test_bad_matrices_are_refused() -> None:
    with pytest.raises(ValueError, match=r"BookPairs: X must hold finite floats, got dtype float32 with a non-finite"):
        BookPairs(np.full((2, 3), np.nan, np.float32), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"X must be \(n, n_in\) and Y \(n, n_out\) or \(n,\) labels, got X \(2, 3\), "
                                         r"Y \(3, 4\)"):
        BookPairs(np.zeros((2, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"book_pairs: labels must lie in \[0, 4\), got 0..4"):
        book_pairs(np.zeros((2, 3)), [0, 4], n_classes=4)
