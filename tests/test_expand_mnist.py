"""expand_mnist: the four one-pixel shifts, the book's order and shuffle, and the verified cache."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from scratchnet.book import expand_mnist as E
from scratchnet.book import network3
from scratchnet.book.common import py2_shuffle
from scratchnet.book.mnist_loader import load_data


def books_loop(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The book's expand_mnist.py loop, before its shuffle, transcribed (28 x 28 images)."""
    pairs = []
    for x, label in zip(X, y, strict=True):
        pairs.append((x, label))
        image = np.reshape(x, (-1, 28))
        for d, axis, index_position, index in [(1, 0, "first", 0), (-1, 0, "first", 27),
                                               (1, 1, "last", 0), (-1, 1, "last", 27)]:
            new_img = np.roll(image, d, axis)
            if index_position == "first":
                new_img[index, :] = np.zeros(28)
            else:
                new_img[:, index] = np.zeros(28)
            pairs.append((np.reshape(new_img, 784), label))
    return np.array([x for x, _ in pairs]), np.array([label for _, label in pairs])


def test_shifts_are_exact_and_in_the_books_order():
    """A 3x3 image: original, moved down, up, right, left; zeros where it moved away from."""
    X = np.arange(1, 10, dtype=np.float64).reshape(1, 9)
    X5, y5 = E.expand(X, np.array([7]))
    expected = [[[1, 2, 3], [4, 5, 6], [7, 8, 9]],
                [[0, 0, 0], [1, 2, 3], [4, 5, 6]],   # down: np.roll(image, 1, 0), row 0 zeroed
                [[4, 5, 6], [7, 8, 9], [0, 0, 0]],   # up: np.roll(image, -1, 0), row 2 zeroed
                [[0, 1, 2], [0, 4, 5], [0, 7, 8]],   # right: np.roll(image, 1, 1), column 0 zeroed
                [[2, 3, 0], [5, 6, 0], [8, 9, 0]]]   # left: np.roll(image, -1, 1), column 2 zeroed
    np.testing.assert_array_equal(X5.reshape(5, 3, 3), expected)
    np.testing.assert_array_equal(y5, [7] * 5)
    assert [name for name, _, _ in E.SHIFTS] == ["down", "up", "right", "left"]


def test_expand_equals_the_books_loop_on_mnist_shaped_images():
    rng = np.random.default_rng(0)
    X = (rng.integers(0, 256, (7, 784)) / 256).astype(np.float32)
    X[:, :28] = 0.5  # a lit first row and column, so the zeroed edges are seen
    X[:, ::28] = 0.75
    y = rng.integers(0, 10, 7)
    X5, y5 = E.expand(X, y)
    bx, by = books_loop(X, y)
    assert X5.shape == (35, 784) and X5.dtype == np.float32
    np.testing.assert_array_equal(X5, bx)
    np.testing.assert_array_equal(y5, by)


def test_shuffle_is_python2s_from_the_seed_and_leaves_random_alone():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    random.seed(5)
    before = random.getstate()
    Xs, ys = E.shuffle(X, y, seed=11)
    assert random.getstate() == before
    order = list(range(20))
    py2_shuffle(order, random.Random(11).random)
    np.testing.assert_array_equal(ys, order)
    np.testing.assert_array_equal(Xs, X[order])


def test_expand_refuses_images_that_are_not_square():
    with pytest.raises(ValueError, match=r"flat squares \(N, side \* side\), got \(2, 10\)"):
        E.expand(np.zeros((2, 10)), np.zeros(2))


def test_load_data_shared_gives_the_expanded_set_and_caches_it(fake_mnist, data_home):
    """The book's call, on a 50-image MNIST: 250 training images, then read back from the cache."""
    train, validation, test = load_data()
    expanded, v, t = network3.load_data_shared("../data/mnist_expanded.pkl.gz")
    X5, y5 = E.shuffle(*E.expand(*train))
    assert expanded[0].shape == (250, 784) and expanded[0].dtype == np.float64
    np.testing.assert_array_equal(expanded[0], X5)
    np.testing.assert_array_equal(expanded[1], y5)
    np.testing.assert_array_equal(v[0], validation[0])
    np.testing.assert_array_equal(t[1], test[1])
    manifest = json.loads((data_home / "mnist" / E.MANIFEST).read_text())
    assert manifest["images"] == 250 and manifest["seed"] == E.SEED
    again = E.load_expanded(train)                 # the cache, verified: no rebuild
    np.testing.assert_array_equal(again[0], X5)
    assert not list((data_home / "mnist").glob("*.corrupt"))
    np.testing.assert_array_equal(network3.load_data_shared()[0][0], train[0])


def test_a_corrupted_cache_is_set_aside_and_rebuilt_with_a_message(fake_mnist, data_home, capsys):
    train = load_data()[0]
    first = E.load_expanded(train)
    npz = data_home / "mnist" / E.FILE
    raw = bytearray(npz.read_bytes())
    raw[-100] ^= 0xFF                              # one flipped byte inside the pixel data
    npz.write_bytes(bytes(raw))
    capsys.readouterr()
    with pytest.warns(UserWarning, match=r"mnist_expanded\.npz failed its checksum \(SHA-256 expected [0-9a-f]{64}, "
                                         r"actual [0-9a-f]{64}\); set aside at .*\.corrupt and rebuilt"):
        rebuilt = E.load_expanded(train)
    assert "Expanding the MNIST training set" in capsys.readouterr().out
    np.testing.assert_array_equal(rebuilt[0], first[0])
    assert (data_home / "mnist" / (E.FILE + ".corrupt")).is_file()


def test_a_cache_made_from_other_images_is_rebuilt(fake_mnist, data_home):
    train = load_data()[0]
    E.load_expanded(train)
    other = (train[0][:10], train[1][:10])
    with pytest.warns(UserWarning, match="expanded from other training data or another seed"):
        X, _ = E.load_expanded(other)
    assert X.shape == (50, 784)
    with pytest.warns(UserWarning, match="other training data or another seed"):
        E.load_expanded(other, seed=1)


def test_bad_input_gets_clear_errors(fake_mnist):
    with pytest.raises(ValueError, match="'../data/mnist_other.pkl.gz' is neither of the book's files"):
        network3.load_data_shared("../data/mnist_other.pkl.gz")
    with pytest.raises(ValueError, match="pixels are not all of the form k/256"):
        E.load_expanded((np.full((2, 784), 0.3), np.zeros(2, np.int64)))
