"""expand_mnist.py — the book's expanded MNIST training set (chapter 6), vectorised and cached.

The book's ``expand_mnist.py`` follows each of the 50,000 training images with four copies
displaced by one pixel, each leaving a zero row or column where the image moved away: its loop
``np.roll(image, d, axis)`` over ``(d, axis) = (1, 0), (-1, 0), (1, 1), (-1, 1)`` gives, in
that order, the image moved *down*, *up*, *right* and *left*. Then it shuffles the 250,000
pairs with ``random.shuffle`` and pickles them, with the untouched validation and test sets, to
``../data/mnist_expanded.pkl.gz``; ``network3.load_data_shared`` reads that file.

Here the shifts are slice copies over the whole stack at once, the shuffle is the book's Python 2
``random.shuffle`` drawn from ``random.seed(SEED)`` (the book did not seed it; a fixed seed makes
the file the same on every machine and leaves the global streams alone), and the result is kept
in the data cache as ``mnist/mnist_expanded.npz`` (uint8 pixels ``k``, the book's pixels being
``k / 256``) beside ``mnist_expanded.json``, which records the file's SHA-256, the digest of the
training set it was made from, and the seed. Both are written to a temporary file and renamed.
A file that fails its digest is set aside as ``.corrupt`` and rebuilt, with a warning that
names both digests; one made from other data or another seed is rebuilt too.

``python -m scratchnet.book.expand_mnist`` builds the cache, as the book's script does.
"""

from __future__ import annotations

import io
import math
import random
import warnings
from pathlib import Path

import numpy as np

from ..data.datasets import cache_root
from ..data.sources import read_verified, sha256_hex, write_verified
from .common import shuffled_order

SEED = 12345678
FILE = "mnist_expanded.npz"
MANIFEST = "mnist_expanded.json"
# The book's (d, axis) pairs in its order, and what each does to the picture.
SHIFTS = (("down", 1, 0), ("up", -1, 0), ("right", 1, 1), ("left", -1, 1))


# --8<-- [start:expand]
def shift(images: np.ndarray, d: int, axis: int) -> np.ndarray:
    """``np.roll(image, d, axis)`` with the row or column that wrapped around set to zero.

    ``images`` ``(N, H, W)``; ``axis`` 0 moves rows (``d = 1``: down), 1 moves columns
    (``d = 1``: right). One slice copy for the whole stack; the book loops image by image.
    """
    out = np.zeros_like(images)                                    # (N, H, W)
    src = [slice(None)] * 3
    dst = [slice(None)] * 3
    src[axis + 1] = slice(None, -1) if d == 1 else slice(1, None)
    dst[axis + 1] = slice(1, None) if d == 1 else slice(None, -1)
    out[tuple(dst)] = images[tuple(src)]
    return out


def expand(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image followed by its four one-pixel shifts, in the book's order (before shuffling).

    ``X`` ``(N, side * side)`` flat square images, ``y`` ``(N,)`` -> ``(5N, side * side)`` with
    rows ``5i .. 5i + 4`` = image ``i``, then moved down, up, right, left; labels repeated.
    """
    n, features = X.shape
    side = math.isqrt(features)
    if side * side != features:
        raise ValueError(f"expand: images must be flat squares (N, side * side), got {X.shape}")
    images = X.reshape(n, side, side)                              # (N, side, side)
    out = np.empty((n, 1 + len(SHIFTS), side, side), X.dtype)      # (N, 5, side, side)
    out[:, 0] = images
    for s, (_, d, axis) in enumerate(SHIFTS, start=1):
        out[:, s] = shift(images, d, axis)
    return out.reshape(n * (1 + len(SHIFTS)), features), np.repeat(y, 1 + len(SHIFTS))


def shuffle(X: np.ndarray, y: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The pairs after the book's ``random.shuffle`` (Python 2's), from ``random.seed(seed)``.

    The global ``random`` state is put back afterwards, so seeded experiments are unaffected.
    """
    state = random.getstate()
    random.seed(seed)
    try:
        order = shuffled_order(np.arange(len(X)))
    finally:
        random.setstate(state)
    return X[order], y[order]
# --8<-- [end:expand]


def _pixels_k(X: np.ndarray) -> np.ndarray:
    """The book's pixels ``k / 256`` as uint8 ``k``; anything else is refused (it would be lost)."""
    k = np.rint(np.asarray(X) * 256.0)
    if not (np.array_equal(k / 256.0, X) and k.min(initial=0) >= 0 and k.max(initial=0) <= 255):
        raise ValueError("expand_mnist: the training pixels are not all of the form k/256, "
                         "k in 0..255 (the book's mnist.pkl.gz values)")
    return k.astype(np.uint8)


def _paths() -> tuple[Path, Path]:
    folder = cache_root() / "mnist"
    return folder / FILE, folder / MANIFEST


def _source_digest(k: np.ndarray, y: np.ndarray) -> str:
    return sha256_hex(k.tobytes() + np.asarray(y, np.int64).tobytes())


def _read(k: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached expansion of ``(k, y)``; None when absent, stale or corrupt (with a warning)."""
    npz, manifest_path = _paths()
    found = read_verified(npz, manifest_path, stacklevel=4)
    if found is None:
        return None
    raw, manifest = found
    if manifest.get("source_sha256") != _source_digest(k, y) or manifest.get("seed") != seed:
        warnings.warn(f"{npz} was expanded from other training data or another seed "
                      f"(seed {manifest.get('seed')}); rebuilt from the current MNIST training set "
                      f"with seed {seed}", stacklevel=3)
        return None
    with np.load(io.BytesIO(raw)) as z:
        return z["X"], z["y"]


def _build(k: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    print("Expanding the MNIST training set")
    Xk, yk = shuffle(*expand(k, y), seed=seed)                      # (5N, 784) uint8, (5N,)
    buf = io.BytesIO()
    np.savez(buf, X=Xk, y=yk)
    npz, manifest_path = _paths()
    write_verified(npz, buf.getvalue(), manifest_path,
                   {"file": FILE, "images": len(Xk), "source_sha256": _source_digest(k, y), "seed": seed,
                    "order": ["original"] + [name for name, _, _ in SHIFTS] + ["then shuffled"]})
    return Xk, yk


def load_expanded(training_data: tuple[np.ndarray, np.ndarray] | None = None,
                  seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The expanded training set ``(X float32 (5N, 784), y int64 (5N,))``, cached and verified.

    ``training_data`` defaults to the book's 50,000 MNIST training images (``mnist_loader``),
    giving 250,000. Built on first use (a few seconds), then read back after its SHA-256 check.
    """
    if training_data is None:
        from .mnist_loader import load_data

        training_data = load_data()[0]
    X, y = training_data
    k = _pixels_k(X)
    cached = _read(k, y, seed)
    Xk, yk = cached if cached is not None else _build(k, y, seed)
    X_out = Xk.astype(np.float32)
    X_out /= np.float32(256.0)                                     # k / 256, exactly the book's
    return X_out, yk.astype(np.int64)


if __name__ == "__main__":
    X, y = load_expanded()
    print(f"{len(X)} images in {_paths()[0]}")
