"""Metrics, augmentation and splits: hand-computed cases and invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchnet.data.splits import kfold_indices, split_holdout, standard_splits
from scratchnet.data.transforms import random_crop, random_hflip
from scratchnet.metrics import classification_report, confusion_matrix, format_report, plot_confusion_matrix


def test_report_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    M = confusion_matrix(y_true, y_pred, 3)
    assert M.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    r = classification_report(y_true, y_pred, ["a", "b", "c"])
    assert r["per_class"]["a"] == {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    assert r["per_class"]["b"]["precision"] == 0.5 and r["per_class"]["c"]["recall"] == 1.0
    assert r["accuracy"] == 4 / 6
    assert r["macro"]["recall"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert r["weighted"]["recall"] == pytest.approx(r["accuracy"])  # weighted recall is accuracy
    assert "| a | 1.0000 | 0.6667 | 0.8000 | 3 |" in format_report(r)


def test_labels_out_of_range_are_named():
    with pytest.raises(ValueError, match=r"y_pred has labels outside \[0, 3\): \[0, 3\]"):
        confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)


def test_confusion_plot_is_a_png(tmp_path: Path):
    path = plot_confusion_matrix(np.array([[5, 1], [2, 7]]), ["x", "y"], tmp_path / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_random_crop_is_a_shifted_window_and_flip_mirrors():
    X = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    rng = np.random.default_rng(0)
    out = random_crop(X, 1, rng)
    assert out.shape == X.shape
    for n in range(2):  # each output is X shifted by at most one pixel, zeros coming in
        ok = False
        for dy in range(3):
            for dx in range(3):
                padded = np.pad(X[n, 0], 1)
                ok |= np.array_equal(out[n, 0], padded[dy:dy + 4, dx:dx + 4])
        assert ok
    flipped = random_hflip(X, np.random.default_rng(1), p=1.0)
    np.testing.assert_array_equal(flipped, X[:, :, :, ::-1])
    np.testing.assert_array_equal(random_hflip(X, np.random.default_rng(1), p=0.0), X)


def test_holdout_and_kfold_partition_everything():
    X, y = np.arange(10000), np.arange(10000)
    (Xv, yv), (Xt, yt) = split_holdout(X, y, 6500, seed=1)
    assert len(Xv) == 6500 and len(Xt) == 3500 and sorted(np.concatenate([Xv, Xt]).tolist()) == list(range(10000))
    assert np.array_equal(split_holdout(X, y, 6500, seed=1)[0][0], Xv)  # seeded
    seen = []
    for train, val in kfold_indices(23, 5, seed=2):
        assert len(set(train) & set(val)) == 0 and len(train) + len(val) == 23
        seen += val.tolist()
    assert sorted(seen) == list(range(23))
    with pytest.raises(ValueError, match=r"folds must lie in \[2, 23\], got 1"):
        next(kfold_indices(23, 1))


def _dataset(sizes: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    start, out = 0, {}
    for split, n in sizes.items():  # X holds each image's global index, so splits can be traced
        out[split] = (np.arange(start, start + n), np.arange(start, start + n) % 10)
        start += n
    return out


@pytest.mark.parametrize(("name", "loaded", "expected"), [
    ("mnist", {"train": 50000, "validation": 10000, "test": 10000},
     {"train": 50000, "validation": 10000, "test": 10000}),
    ("fashion-mnist", {"train": 60000, "test": 10000}, {"train": 54000, "validation": 6000, "test": 10000}),
    ("cifar10", {"train": 50000, "test": 10000}, {"train": 50000, "validation": 6500, "test": 3500}),
])
def test_standard_splits_sizes_seeded_and_disjoint(name: str, loaded: dict, expected: dict):
    data = _dataset(loaded)
    splits = standard_splits(name, data, seed=0)
    assert {k: len(v[0]) for k, v in splits.items()} == expected and list(splits) == list(expected)
    everything = np.concatenate([X for X, _ in splits.values()])
    assert sorted(everything.tolist()) == list(range(sum(loaded.values())))  # a partition of the images
    for X, y in splits.values():
        np.testing.assert_array_equal(y, X % 10)  # labels stay with their images
    again, other = standard_splits(name, data, seed=0), standard_splits(name, data, seed=1)
    assert all(np.array_equal(again[k][0], splits[k][0]) for k in splits)
    if name != "mnist":
        assert not np.array_equal(other["validation"][0], splits["validation"][0])
    # k-fold: the whole training set, no validation split, the same test split
    folds = standard_splits(name, data, seed=0, validation=False)
    assert list(folds) == ["train", "test"] and len(folds["train"][0]) == loaded["train"]
    np.testing.assert_array_equal(folds["test"][0], splits["test"][0])
