"""The readers, on small files written here in the real formats, and every malformed case."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
from datafiles import fake_mnist_pickle

from scratchnet.data import DataFormatError
from scratchnet.data.formats import (
    decompress,
    read_cifar_batch,
    read_idx,
    read_mnist_pickle,
    write_cifar_batch,
    write_idx,
)


def test_idx_round_trip_keeps_shape_and_values():
    X = np.random.default_rng(1).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    out = read_idx(write_idx(X), "images")
    assert out.shape == (7, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, X)


def test_idx_labels_one_dimensional():
    y = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(y)), y)


def test_idx_bad_magic_is_named():
    with pytest.raises(DataFormatError, match=r"train-images: not an IDX file.*got 50 4b 03 04"):
        read_idx(b"PK\x03\x04rest", "train-images")


def test_idx_truncated_body_reports_both_sizes():
    data = write_idx(np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataFormatError, match=r"shape \(4, 28, 28\) \(3152 bytes in all\).*3000 bytes \(truncated\)"):
        read_idx(data[:3000], "t10k-images")


def test_idx_trailing_bytes_rejected():
    data = write_idx(np.zeros((2, 2), np.uint8)) + b"xx"
    with pytest.raises(DataFormatError, match="trailing data"):
        read_idx(data)


def test_idx_truncated_header_and_unknown_type():
    with pytest.raises(DataFormatError, match="truncated header: need 16 bytes"):
        read_idx(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(DataFormatError, match="unknown IDX type code 0x07"):
        read_idx(bytes([0, 0, 7, 1, 0, 0, 0, 0]))


def test_truncated_gzip_says_truncated(tmp_path: Path):
    raw = gzip.compress(b"x" * 10000)
    with pytest.raises(DataFormatError, match=r"mnist.pkl.gz: gzip stream is truncated"):
        decompress(tmp_path / "mnist.pkl.gz", raw[: len(raw) // 2])


def test_corrupt_gzip_is_named(tmp_path: Path):
    raw = bytearray(gzip.compress(b"hello world" * 100))
    raw[12:20] = b"\xff" * 8
    with pytest.raises(DataFormatError, match="not a valid gzip file|truncated"):
        decompress(tmp_path / "f.gz", bytes(raw))


def test_plain_bytes_pass_through(tmp_path: Path):
    assert decompress(tmp_path / "f", b"abc") == b"abc"


def test_mnist_pickle_reader_returns_three_splits_with_exact_values():
    raw = gzip.decompress(fake_mnist_pickle((5, 3, 2)))
    out = read_mnist_pickle(raw)
    assert list(out) == ["train", "validation", "test"]
    X, y = out["train"]
    assert X.shape == (5, 784) and X.dtype == np.float32 and y.dtype == np.int64
    expected = pickle.loads(raw, encoding="latin1")[0][0]
    np.testing.assert_array_equal(X, expected)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (pickle.dumps([1, 2, 3]), "expected a tuple of 3"),
        (pickle.dumps((1, 2, 3)), "train split is not an \\(X, y\\) pair"),
        (pickle.dumps(tuple((np.zeros((2, 10)), np.zeros(2)) for _ in range(3))), r"X \(2, 10\).*expected \(N, 784\)"),
        (b"not a pickle", "not a readable pickle"),
    ],
)
def test_malformed_mnist_pickle(payload: bytes, message: str):
    with pytest.raises(DataFormatError, match=message):
        read_mnist_pickle(payload, "mnist.pkl.gz")


def test_cifar_batch_round_trip():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, size=(6, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, size=6)
    Xr, yr = read_cifar_batch(write_cifar_batch(X, y))
    np.testing.assert_array_equal(Xr, X)
    np.testing.assert_array_equal(yr, y)
    # channel-major layout: the first 1024 bytes of a row are the red plane
    flat = pickle.loads(write_cifar_batch(X, y), encoding="bytes")[b"data"]
    np.testing.assert_array_equal(flat[0, :1024].reshape(32, 32), X[0, 0])


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({b"data": np.zeros((2, 3072), np.uint8)}, "missing keys"),
        ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, r"uint8 \(2, 100\); expected uint8 \(N, 3072\)"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, r"2 images but labels of shape \(1,\)"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [12]}, r"labels must lie in \[0, 9\], found \[12, 12\]"),
        ([1, 2], "expected a dict"),
    ],
)
def test_malformed_cifar_batch(obj, message: str):
    with pytest.raises(DataFormatError, match=message):
        read_cifar_batch(pickle.dumps(obj), "data_batch_3")
