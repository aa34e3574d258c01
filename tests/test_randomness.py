"""Randomness tested on the thing itself: scratchnet's Dropout, network3's dropout layer, the
book's Python-2 shuffle, and the augmentations (random crop, horizontal flip).

Every statistical check runs on a fixed seed, so it is deterministic; its bound is a few
standard errors (``Z`` of them) wide, and a wrong rate (p instead of 1 - p, 0.3 instead of 0.5,
a missing crop offset) misses it by dozens of standard errors.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, MutableSequence
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest

from scratchnet.book import expand_mnist, network, network2
from scratchnet.book import network3 as n3
from scratchnet.book.common import py2_shuffle, shuffled_order
from scratchnet.data.transforms import cifar_augment, random_crop, random_hflip
from scratchnet.nn import Dropout
from scratchnet.train import ScratchBackend, TrainConfig, Trainer

Z = 5.0  # standard errors allowed on each side of an expected rate


def assert_rate(count: int, n: int, p: float, what: str) -> None:
    """``count`` successes in ``n`` Bernoulli(p) trials lie within ``Z`` standard errors of ``n p``.

    For p = 0 or 1 the count must be exact (the standard error is 0).
    """
    se = np.sqrt(n * p * (1 - p))
    assert abs(count - n * p) <= Z * se, (
        f"{what}: {count} of {n} ({count / n:.5f}); expected {p:.5f} +- {Z} x {se / n:.2e}")


def assert_chi2(counts: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Pearson's statistic of ``counts`` against ``expected`` lies within ``Z`` standard deviations
    of its mean (k - 1 for k categories; variance 2 (k - 1)), i.e. neither too far from the
    expected counts (a biased draw) nor too close to them (a draw that is not random)."""
    k = counts.size
    stat = float((((counts - expected) ** 2) / expected).sum())
    assert abs(stat - (k - 1)) <= Z * np.sqrt(2 * (k - 1)), (
        f"{what}: chi-square {stat:.1f} for {k - 1} degrees of freedom (expected {k - 1} +- "
        f"{Z * np.sqrt(2 * (k - 1)):.1f}); counts {counts.ravel()[:12]}...")


# ============================================================================ Dropout

def dropout_mask(p: float, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """The kept positions (bool) of one training forward of ``Dropout(p)`` on ones of ``shape``."""
    d = Dropout(p, rng=np.random.default_rng(seed))
    d.train()
    return d(np.ones(shape)) != 0


@pytest.mark.parametrize("p", [0.0, 0.05, 0.2, 0.5, 0.7, 0.95, 0.999])
def test_dropout_keeps_each_value_with_probability_1_minus_p(p: float):
    keep = dropout_mask(p, (1000, 1000), seed=int(p * 1000))
    assert_rate(int(keep.sum()), keep.size, 1 - p, f"kept fraction for p={p}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_scales_the_kept_values_by_1_over_1_minus_p_and_backward_uses_the_same_mask(p: float, dtype):
    rng = np.random.default_rng(1)
    X = (rng.random((400, 500)) + 0.5).astype(dtype)            # no zeros: a zero output means dropped
    d = Dropout(p, rng=np.random.default_rng(2))
    d.train()
    Y = d(X)
    assert Y.dtype == dtype and Y.shape == X.shape
    kept = Y != 0
    assert_rate(int(kept.sum()), kept.size, 1 - p, "kept fraction")
    scale = dtype(1.0 / (1.0 - p))
    ulp = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(Y[kept], X[kept] * scale, rtol=2 * ulp, atol=0)
    # Inverted dropout is unbiased: on ones, mean(Y) = 1 up to its standard error sqrt(p/((1-p) n)).
    ones = d(np.ones((1000, 1000), dtype))
    se = np.sqrt(p / ((1 - p) * ones.size))
    assert abs(float(ones.astype(np.float64).mean()) - 1.0) <= Z * se
    G = rng.standard_normal(ones.shape).astype(dtype)
    dX = d.backward(G)
    np.testing.assert_array_equal(dX, np.where(ones != 0, G * scale, 0))  # the last forward's mask


@pytest.mark.parametrize("p", [0.0, 0.3, 0.9])
def test_dropout_in_eval_and_at_p0_is_the_identity(p: float):
    X = np.random.default_rng(3).standard_normal((50, 60))
    G = np.random.default_rng(4).standard_normal((50, 60))
    d = Dropout(p, rng=np.random.default_rng(5))
    d.eval()
    np.testing.assert_array_equal(d(X), X)
    np.testing.assert_array_equal(d.backward(G), G)
    d.train()
    Y = d(X)
    if p == 0:
        np.testing.assert_array_equal(Y, X)
        np.testing.assert_array_equal(d.backward(G), G)
    else:
        assert (Y == 0).any()  # back in training mode it drops again
    d.eval()
    np.testing.assert_array_equal(d(X), X)


def test_dropout_masks_have_no_stripes_or_blocks():
    """Each element is dropped on its own: rows, columns and channels all hold Binomial counts,
    and neighbouring elements are independent."""
    p, q = 0.3, 0.7
    keep = dropout_mask(p, (1000, 1000), seed=6)
    for axis, name in ((1, "row"), (0, "column")):
        counts = keep.sum(axis=axis)                                  # (1000,) Binomial(1000, q)
        var = 1000 * p * q
        stat = float(((counts - 1000 * q) ** 2).sum() / var)
        assert abs(stat - 1000) <= Z * np.sqrt(2 * 1000), f"{name} counts are not Binomial: chi-square {stat:.0f}"
    # Disjoint pairs of horizontal and of vertical neighbours: both kept with probability q^2.
    for a, b, name in ((keep[:, 0::2], keep[:, 1::2], "horizontal"), (keep[0::2], keep[1::2], "vertical")):
        assert_rate(int((a & b).sum()), a.size, q * q, f"{name} neighbours both kept")
    # Images (N, C, H, W): whole channels or whole images are not dropped together.
    keep4 = dropout_mask(p, (500, 8, 10, 10), seed=7)
    per_plane = keep4.sum(axis=(2, 3)).ravel()                        # (4000,) Binomial(100, q)
    stat = float(((per_plane - 100 * q) ** 2).sum() / (100 * p * q))
    assert abs(stat - per_plane.size) <= Z * np.sqrt(2 * per_plane.size), f"channel counts: chi-square {stat:.0f}"
    assert_rate(int(keep4.sum()), keep4.size, q, "kept fraction of images")


def test_dropout_draws_a_new_mask_on_every_call():
    p, q = 0.4, 0.6
    d = Dropout(p, rng=np.random.default_rng(8))
    d.train()
    masks = [d(np.ones((500, 500))) != 0 for _ in range(3)]
    for a, b in ((masks[0], masks[1]), (masks[1], masks[2]), (masks[0], masks[2])):
        assert_rate(int((a & b).sum()), a.size, q * q, "kept in both of two calls")
        assert_rate(int((a == b).sum()), a.size, p * p + q * q, "the same in two calls")


def test_dropout_masks_are_reproducible_from_the_generator():
    def masks(seed: int, calls: int = 3) -> list[np.ndarray]:
        d = Dropout(0.5, rng=np.random.default_rng(seed))
        d.train()
        return [d(np.ones((64, 64))) != 0 for _ in range(calls)]

    a, b, other = masks(11), masks(11), masks(12)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not any(np.array_equal(x, y) for x, y in zip(a, other, strict=True))
    # The generator's state is all there is (what a resumed run restores).
    d = Dropout(0.5, rng=np.random.default_rng(13))
    d.train()
    d(np.ones((8, 8)))
    state = d.rng.bit_generator.state
    first = d(np.ones((64, 64)))
    d.rng.bit_generator.state = state
    np.testing.assert_array_equal(d(np.ones((64, 64))), first)


def test_dropout_edge_cases():
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"Dropout: p must lie in \[0, 1\)"):
            Dropout(bad)
    d = Dropout(0.5, rng=np.random.default_rng(14))
    d.train()
    assert d(np.ones((0, 5))).shape == (0, 5)
    # An injected mask is used for the next call only, then the generator draws again.
    mask = np.zeros((6, 6))
    mask[::2] = 1
    d.next_mask = mask                                   # the parity tests' seam
    np.testing.assert_array_equal(d(np.ones((6, 6))), mask * 2.0)
    again = d(np.ones((200, 200))) != 0
    assert_rate(int(again.sum()), again.size, 0.5, "kept fraction after an injected mask")


# ---------------------------------------------------------------------------- network3's dropout

@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_network3_dropout_layer_keeps_inputs_with_1_minus_p_and_scales_weights_at_inference(p: float):
    """The book's dropout: keep each input with 1 - p in training (no rescaling there), and use
    the weights times (1 - p) at inference."""
    np.random.seed(15)
    layer = n3.FullyConnectedLayer(n_in=1000, n_out=1, activation_fn=n3.linear, p_dropout=p)
    layer.w[...] = 1.0
    layer.b[...] = 0.25
    x = np.ones((300, 1000))
    out = layer.forward(x, training=True)
    mask = layer._mask
    assert set(np.unique(mask)) <= {0, 1}
    assert_rate(int(mask.sum()), mask.size, 1 - p, f"network3 kept fraction for p={p}")
    np.testing.assert_array_equal(out[:, 0], mask.sum(axis=1) + 0.25)  # sum of the kept inputs
    layer.forward(x, training=True)
    assert not np.array_equal(layer._mask, mask)                       # a new mask per call
    np.testing.assert_allclose(layer.forward(x, training=False)[:, 0], (1 - p) * 1000 + 0.25, rtol=1e-12)
    np.random.seed(15)
    again = n3.FullyConnectedLayer(n_in=1000, n_out=1, activation_fn=n3.linear, p_dropout=p)
    again.forward(x, training=True)
    np.testing.assert_array_equal(again._mask, mask)                   # np.random's stream, as the book's


# ============================================================================ the book's shuffle

def python2_shuffle(x: MutableSequence, random: Callable[[], float]) -> None:
    """CPython 2.7's ``Random.shuffle(x, random)``, line for line (Lib/random.py)."""
    _int = int
    for i in reversed(range(1, len(x))):
        # pick an element in x[:i+1] with which to exchange x[i]
        j = _int(random() * (i + 1))
        x[i], x[j] = x[j], x[i]


def digest(order) -> str:
    """SHA-256 of ``','.join(order)``, as recorded from Python 2."""
    return hashlib.sha256(",".join(map(str, order)).encode()).hexdigest()


# Recorded with CPython 2.7.18: ``random.seed(s); x = range(n); random.shuffle(x)`` (``k`` times).
PY2_RECORDED = [
    (12345678, 20, 1, [6, 10, 15, 2, 5, 11, 3, 7, 0, 19, 13, 16, 1, 18, 8, 9, 17, 4, 12, 14]),
    (2024, 30, 1, [9, 3, 16, 0, 15, 29, 1, 18, 26, 4, 19, 2, 12, 20, 7, 11, 22, 28, 13, 27, 25, 24, 5, 6, 17,
                   10, 23, 8, 21, 14]),
    (7, 12, 1, [7, 11, 10, 5, 9, 8, 2, 4, 0, 6, 1, 3]),
    (7, 12, 2, [5, 7, 2, 4, 10, 8, 1, 6, 3, 0, 9, 11]),
]
# The same for the book's 50,000 training images: digests of the order, and the next random().
PY2_RECORDED_50000 = {1: "66088957b3fcc907e4ab78c4e5363266626a36811e9b8bc55867f5294138eab2",
                      2: "723eae825fac30dc0eab3d6ed52461522806fb6a23d967430a2c8dc1ecc7d3c6"}
PY2_NEXT_RANDOM_AFTER_50000 = 0.4842121818966366


@pytest.mark.parametrize(("seed", "n", "times", "expected"), PY2_RECORDED)
def test_book_shuffle_gives_python2s_recorded_orders(seed: int, n: int, times: int, expected: list[int]):
    random.seed(seed)
    x = list(range(n))
    for _ in range(times):
        py2_shuffle(x)
    assert x == expected
    random.seed(seed)
    order = np.arange(n)
    for _ in range(times):
        order = shuffled_order(order)
    assert order.tolist() == expected


def test_book_shuffle_of_50000_images_is_python2s_and_leaves_random_where_python2_did():
    for times, expected in PY2_RECORDED_50000.items():
        random.seed(12345678)
        order = np.arange(50000)
        for _ in range(times):
            order = shuffled_order(order)
        assert digest(order.tolist()) == expected
        if times == 1:
            assert random.random() == PY2_NEXT_RANDOM_AFTER_50000
    random.seed(12345678)
    x = list(range(50000))
    py2_shuffle(x)
    assert digest(x) == PY2_RECORDED_50000[1] and random.random() == PY2_NEXT_RANDOM_AFTER_50000


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 1001])
@pytest.mark.parametrize("seed", [0, 99])
def test_book_shuffle_is_the_literal_python2_algorithm_on_a_seeded_stream(n: int, seed: int):
    expected = list(range(n))
    python2_shuffle(expected, random.Random(seed).random)
    x = list(range(n))
    py2_shuffle(x, rand=random.Random(seed).random)
    assert x == expected
    random.seed(seed)
    assert shuffled_order(np.arange(n)).tolist() == expected
    nxt = random.Random(seed)
    python2_shuffle(list(range(n)), nxt.random)
    assert random.random() == nxt.random()  # the same numbers drawn, no more, no fewer


@pytest.mark.parametrize("seed", [0, 1, 12345678])
def test_book_shuffle_is_not_python3s(seed: int):
    random.seed(seed)
    py3 = list(range(50))
    random.shuffle(py3)
    random.seed(seed)
    assert shuffled_order(np.arange(50)).tolist() != py3
    random.seed(seed)
    book = list(range(50))
    py2_shuffle(book)
    assert book != py3


def test_book_shuffle_draws_every_permutation_equally_often():
    """Fisher-Yates: the 6 orders of 3 items are equally likely (an off-by-one, j in [0, i),
    gives only the 2 cyclic ones)."""
    r = random.Random(16)
    index = {p: k for k, p in enumerate(permutations(range(3)))}
    counts = np.zeros(6)
    for _ in range(30000):
        x = [0, 1, 2]
        py2_shuffle(x, rand=r.random)
        counts[index[tuple(x)]] += 1
    assert_chi2(counts, np.full(6, 5000.0), "permutations of 3")


@pytest.mark.parametrize("module", [network, network2])
def test_sgd_shuffles_the_training_data_in_place_with_python2s_shuffle(module):
    rng = np.random.default_rng(17)
    train = [(rng.random((6, 1)), np.eye(3)[k % 3].reshape(3, 1)) for k in range(40)]
    expected = list(train)
    stream = random.Random(18)
    for _ in range(3):                                 # one shuffle per epoch, continuing the stream
        python2_shuffle(expected, stream.random)
    np.random.seed(0)
    net = module.Network([6, 4, 3])
    random.seed(18)
    data = list(train)
    net.SGD(data, 3, 5, 0.1)
    assert [id(t) for t in data] == [id(t) for t in expected]
    assert random.random() == stream.random()


def test_expand_mnist_shuffle_is_python2s_keeps_pairs_together_and_restores_random():
    X = np.arange(30 * 4, dtype=np.float32).reshape(30, 4)
    y = np.arange(30) % 10
    expected = list(range(30))
    python2_shuffle(expected, random.Random(19).random)
    random.seed(5)
    before = random.getstate()
    Xs, ys = expand_mnist.shuffle(X, y, seed=19)
    assert random.getstate() == before
    np.testing.assert_array_equal(Xs, X[expected])
    np.testing.assert_array_equal(ys, y[expected])


# ============================================================================ augmentation

def coded_images(N: int, C: int, H: int, W: int) -> np.ndarray:
    """Images whose every pixel is distinct and names itself: ``1 + ((n C + c) H + i) W + j``."""
    return (1 + np.arange(N * C * H * W, dtype=np.float64)).reshape(N, C, H, W).astype(np.float32)


def crop_by_hand(image: np.ndarray, padding: int, dy: int, dx: int) -> np.ndarray:
    """Zero-pad ``image`` ``(C, H, W)`` by ``padding`` and take the ``H x W`` window at ``(dy, dx)``."""
    C, H, W = image.shape
    padded = np.pad(image, ((0, 0), (padding, padding), (padding, padding)))
    return padded[:, dy:dy + H, dx:dx + W]


def decode(X: np.ndarray, out: np.ndarray, padding: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each output image: the input image it came from, its crop offsets and whether it was
    mirrored; checks that it is exactly that crop (or its mirror) of that image.

    The pixel at ``(padding, padding)`` of a crop at ``(dy, dx)`` is the input's ``(dy, dx)``
    (inside the image when ``H, W > 2 padding``); a mirrored crop has it at ``(padding, W-1-padding)``.
    """
    N, C, H, W = X.shape
    source, dys, dxs, flipped = (np.empty(len(out), np.int64) for _ in range(4))
    for k, img in enumerate(out):
        for flip in (0, 1):
            view = img[:, :, ::-1] if flip else img
            v = int(view[0, padding, padding]) - 1
            if v < 0:
                continue
            n, rest = divmod(v, C * H * W)
            c, rest = divmod(rest, H * W)
            dy, dx = divmod(rest, W)
            if c == 0 and np.array_equal(view, crop_by_hand(X[n], padding, dy, dx)):
                source[k], dys[k], dxs[k], flipped[k] = n, dy, dx, flip
                break
        else:
            raise AssertionError(f"output image {k} is no crop (or mirrored crop) of an input image")
    return source, dys, dxs, flipped


@pytest.mark.parametrize("padding", [1, 4])
def test_random_crop_offsets_are_uniform_and_independent(padding: int):
    X = coded_images(20000, 1, 2 * padding + 1, 2 * padding + 1)
    out = random_crop(X, padding, np.random.default_rng(20))
    assert out.shape == X.shape and out.dtype == X.dtype
    source, dy, dx, flipped = decode(X, out, padding)
    np.testing.assert_array_equal(source, np.arange(len(X)))      # each image stays in its place
    assert not flipped.any()
    k = 2 * padding + 1
    for offsets, name in ((dy, "dy"), (dx, "dx")):
        counts = np.bincount(offsets, minlength=k)
        assert counts.size == k, f"{name} outside [0, {2 * padding}]"
        for v in range(k):
            assert_rate(int(counts[v]), len(X), 1 / k, f"{name} = {v}")
    joint = np.bincount(dy * k + dx, minlength=k * k)
    assert_chi2(joint, np.full(k * k, len(X) / (k * k)), "joint (dy, dx)")


def test_random_crop_moves_every_channel_alike_and_padding_0_is_the_identity():
    X = coded_images(300, 3, 9, 9)
    out = random_crop(X, 4, np.random.default_rng(21))
    source, dy, dx, _ = decode(X, out, 4)                           # checks all channels of each image
    np.testing.assert_array_equal(source, np.arange(300))
    np.testing.assert_array_equal(random_crop(X, 0, np.random.default_rng(21)), X)


@pytest.mark.parametrize("p", [0.5, 0.3, 0.0, 1.0])
def test_random_hflip_mirrors_whole_images_with_probability_p(p: float):
    X = coded_images(20000, 2, 3, 4)
    rng = np.random.default_rng(22)
    out = random_hflip(X, rng) if p == 0.5 else random_hflip(X, rng, p=p)  # 0.5: the default
    same = (out == X).all(axis=(1, 2, 3))
    mirrored = (out == X[:, :, :, ::-1]).all(axis=(1, 2, 3))
    assert (same ^ mirrored).all(), "an image is neither itself nor its mirror"
    assert_rate(int(mirrored.sum()), len(X), p, "flipped fraction")
    if 0 < p < 1:
        assert_rate(int((mirrored[0::2] & mirrored[1::2]).sum()), len(X) // 2, p * p,
                    "neighbouring images both flipped")


def test_augmentations_are_reproducible_by_seed_and_leave_their_input_alone():
    X = coded_images(64, 3, 10, 10)
    copy = X.copy()
    for fn in (lambda rng: random_crop(X, 4, rng), lambda rng: random_hflip(X, rng), lambda rng: cifar_augment(X, rng)):
        a, b, c = fn(np.random.default_rng(23)), fn(np.random.default_rng(23)), fn(np.random.default_rng(24))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
        np.testing.assert_array_equal(X, copy)


def test_cifar_augment_crops_4_padded_then_flips_half():
    X = coded_images(8000, 3, 10, 10)
    out = cifar_augment(X, np.random.default_rng(25))
    source, dy, dx, flipped = decode(X, out, 4)
    np.testing.assert_array_equal(source, np.arange(len(X)))
    assert_rate(int(flipped.sum()), len(X), 0.5, "flipped fraction")
    for offsets, name in ((dy, "dy"), (dx, "dx")):
        counts = np.bincount(offsets, minlength=9)
        assert counts.size == 9, f"{name} outside [0, 8]"
        assert_chi2(counts, np.full(9, len(X) / 9), f"{name} offsets")
    # The flip is drawn independently of the crop.
    assert_chi2(np.bincount(flipped * 9 + dy, minlength=18), np.full(18, len(X) / 18), "(flip, dy)")


class RecordingBackend(ScratchBackend):
    """A scratch backend whose training step only records the batches it is given."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__(config)
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []

    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        self.batches.append((X.copy(), y.copy()))
        return {"loss": 0.0}


def augmented_batches(tmp_path: Path, seed: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The training images and the (augmented) batches one epoch of ``Trainer`` feeds its backend."""
    X = coded_images(80, 1, 28, 28)
    y = np.random.default_rng(26).integers(0, 10, 80)
    cfg = TrainConfig(model="book_mlp", epochs=1, batch_size=16, lr=0.1, seed=seed, augment=True).resolved()
    backend = RecordingBackend(cfg)
    Trainer(cfg, {"train": (X, y), "validation": (X[:10], y[:10])}, tmp_path / str(seed), backend=backend).fit()
    return y, backend.batches


def test_training_augmentation_keeps_each_label_with_its_image(tmp_path: Path):
    X = coded_images(80, 1, 28, 28)
    y, batches = augmented_batches(tmp_path, seed=27)
    seen, offsets, flips = [], [], []
    for Xb, yb in batches:
        source, dy, dx, flipped = decode(X, Xb, 4)
        np.testing.assert_array_equal(yb, y[source])                 # the label of the image it came from
        seen += source.tolist()
        offsets += list(zip(dy.tolist(), dx.tolist(), strict=True))
        flips += flipped.tolist()
    assert sorted(seen) == list(range(80))                            # every image once per epoch
    assert 0 < sum(flips) < 80 and len(set(offsets)) > 10             # and augmented
    _, again = augmented_batches(tmp_path, seed=27)
    _, other = augmented_batches(tmp_path, seed=28)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(batches, again, strict=True))
    assert not np.array_equal(batches[0][0], other[0][0])
