"""``load`` / ``fetch`` / ``info`` end to end on small files in the real formats, and the CLI."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from datafiles import needs_data

from scratchnet import cli
from scratchnet.data import DatasetNotFoundError, batches, datasets, fetch, info, load
from scratchnet.data.formats import write_cifar_batch, write_idx
from scratchnet.data.sources import FileSpec


def test_load_mnist_layout_and_exact_pixels(fake_mnist: bytes):
    d = load("mnist")
    assert list(d) == ["train", "validation", "test"]
    X, y = d["train"]
    assert X.shape == (50, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    import pickle

    ref = pickle.loads(gzip.decompress(fake_mnist), encoding="latin1")
    np.testing.assert_array_equal(X.reshape(50, 784), ref[0][0])  # k/256 exactly
    np.testing.assert_array_equal(d["test"][1], ref[2][1])


def test_merge_validation_gives_the_larger_training_set(fake_mnist: bytes):
    d = load("mnist", merge_validation=True)
    assert list(d) == ["train", "test"] and d["train"][0].shape[0] == 70
    np.testing.assert_array_equal(d["train"][0][50:], load("mnist")["validation"][0])


def test_array_cache_is_used_and_verified(fake_mnist: bytes, data_home: Path):
    load("mnist")
    npz = data_home / "mnist" / "mnist.npz"
    manifest = json.loads((data_home / "mnist" / "mnist.json").read_text())
    assert manifest["npz_sha256"] == hashlib.sha256(npz.read_bytes()).hexdigest()
    (data_home / "mnist" / "mnist.pkl.gz").unlink()  # the npz alone now answers
    assert load("mnist")["train"][0].shape == (50, 1, 28, 28)
    # a damaged npz is set aside with a warning, never read
    raw = bytearray(npz.read_bytes())
    raw[-100] ^= 0xFF
    npz.write_bytes(bytes(raw))
    (data_home / "mnist" / "mnist.pkl.gz").write_bytes(fake_mnist)
    with pytest.warns(UserWarning, match="mnist.npz failed its checksum"):
        X = load("mnist")["train"][0]
    assert (data_home / "mnist" / "mnist.npz.corrupt").is_file()
    assert X.shape == (50, 1, 28, 28)


def test_info_reads_only_the_cache(data_home: Path):
    with pytest.raises(DatasetNotFoundError, match=r"mnist is not in the cache .*scratchnet data fetch mnist"):
        info("mnist")


def test_unknown_dataset_lists_the_known_ones(data_home: Path):
    expected = r"unknown dataset 'svhn'; expected one of \['cifar10', 'fashion-mnist', 'mnist'\]"
    with pytest.raises(ValueError, match=expected):
        load("svhn")


def test_fashion_from_a_system_folder(data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rng = np.random.default_rng(3)
    system = tmp_path / "system"
    system.mkdir()
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 12).astype(np.uint8),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 4).astype(np.uint8)}
    specs = []
    for name, a in arrays.items():
        (system / name).write_bytes(gzip.compress(write_idx(a)))
        specs.append(FileSpec(name, hashlib.sha256(write_idx(a)).hexdigest()))
    monkeypatch.setattr(datasets, "FASHION_SYSTEM_DIR", system)
    monkeypatch.setitem(datasets.DATASETS, "fashion-mnist",
                        dataclasses.replace(datasets.DATASETS["fashion-mnist"], files=tuple(specs)))
    d = load("fashion-mnist")
    X, y = d["train"]
    assert X.shape == (12, 1, 28, 28) and list(d) == ["train", "test"]
    np.testing.assert_array_equal(X[:, 0], arrays["train-images-idx3-ubyte.gz"] / np.float32(255))
    got = info("fashion-mnist")
    assert got["splits"]["test"]["n"] == 4 and "system" in got["files"]["t10k-images-idx3-ubyte.gz"]["source"]


def test_fashion_labels_count_must_match_images(data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from scratchnet.data import DataFormatError

    files = {"train-images-idx3-ubyte.gz": write_idx(np.zeros((3, 28, 28), np.uint8)),
             "train-labels-idx1-ubyte.gz": write_idx(np.zeros(2, np.uint8)),
             "t10k-images-idx3-ubyte.gz": write_idx(np.zeros((1, 28, 28), np.uint8)),
             "t10k-labels-idx1-ubyte.gz": write_idx(np.zeros(1, np.uint8))}
    with pytest.raises(DataFormatError, match=r"train-labels-idx1-ubyte.gz: \(2,\) labels for 3 images"):
        datasets._decode_fashion(files)


def write_cifar_dir(folder: Path, n: int = 4, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        X = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, n)
        (folder / name).write_bytes(write_cifar_batch(X, y))
        written[name] = (X, y)
    return written


def test_cifar_from_a_user_folder_then_from_the_cache(data_home: Path, tmp_path: Path):
    written = write_cifar_dir(tmp_path / "cifar-10-batches-py")
    d = load("cifar10", data_dir=tmp_path)  # the parent folder works too
    X, y = d["train"]
    assert X.shape == (20, 3, 32, 32) and d["test"][0].shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(X[4:8], written["data_batch_2"][0] / np.float32(255))
    np.testing.assert_array_equal(y[:4], written["data_batch_1"][1])
    assert load("cifar10")["train"][0].shape == (20, 3, 32, 32)  # no folder needed now


def test_fetch_from_cli(fake_mnist: bytes, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["data", "fetch", "mnist"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "50 images" in out and "validation" in out
    assert cli.main(["data", "info", "mnist", "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["splits"]["validation"]["n"] == 20
    assert sum(parsed["splits"]["train"]["class_counts"].values()) == 50


def test_cli_error_is_one_clear_line_and_exit_1(data_home: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["data", "info", "cifar10"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scratchnet: error: cifar10 is not in the cache")


def test_cli_help_lists_commands(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0 and "data" in capsys.readouterr().out


def test_batches_seeded_complete_and_shaped():
    X = np.arange(23 * 2, dtype=np.float32).reshape(23, 2)
    y = np.arange(23)
    got = list(batches(X, y, 5, rng=7))
    assert [len(b) for _, b in got] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate([b for _, b in got]).tolist()) == list(range(23))
    again = list(batches(X, y, 5, rng=7))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(got, again, strict=True))
    np.testing.assert_array_equal(got[0][0][:, 0], got[0][1] * 2)  # rows stay paired
    assert [len(b) for _, b in batches(X, y, 5, shuffle=False, drop_last=True)] == [5, 5, 5, 5]


def test_batches_bad_input():
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        next(batches(np.zeros((3, 1)), np.zeros(2), 1))
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        next(batches(np.zeros((3, 1)), np.zeros(3), 0))


# ----------------------------------------------------------------------------- the real datasets

@needs_data("mnist")
def test_real_mnist_sizes_classes_and_speed():
    start = time.perf_counter()
    d = load("mnist")
    elapsed = time.perf_counter() - start
    assert {k: len(v[1]) for k, v in d.items()} == {"train": 50000, "validation": 10000, "test": 10000}
    assert np.bincount(d["test"][1]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    X = d["train"][0]
    assert X.min() == 0.0 and X.max() == np.float32(255 / 256)
    print(f"load('mnist') from the cache: {elapsed:.2f} s")


FASHION_DEB = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not FASHION_DEB.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_from_debian_package(data_home: Path):
    """The real checksums of the data contract (notes/architecture.md) against Debian's copy, through a fresh cache."""
    got = fetch("fashion-mnist")
    assert got["splits"]["train"]["n"] == 60000 and got["splits"]["test"]["n"] == 10000
    assert set(got["splits"]["test"]["class_counts"].values()) == {1000}
    assert all("dataset-fashion-mnist" in f["source"] for f in got["files"].values())
