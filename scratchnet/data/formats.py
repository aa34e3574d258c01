"""Readers for the on-disk formats: the book's MNIST pickle, IDX files, CIFAR-10 python batches.

Every reader takes *decompressed bytes* (the bytes whose SHA-256 the data contract records) and
returns NumPy arrays, or raises :class:`DataFormatError` saying what is wrong with which file.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFormatError


def decompress(path: Path, raw: bytes) -> bytes:
    """Return the decompressed bytes of ``raw`` (gzip when it starts with the gzip magic).

    A truncated or corrupt gzip stream raises :class:`DataFormatError` naming ``path``.
    """
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise DataFormatError(
            f"{path}: gzip stream is truncated ({len(raw)} bytes on disk; {exc})"
        ) from exc
    except (OSError, zlib.error) as exc:
        raise DataFormatError(f"{path}: not a valid gzip file ({exc})") from exc


# --8<-- [start:read_idx]
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(data: bytes, name: str = "IDX file") -> np.ndarray:
    """Parse an IDX file (the MNIST / Fashion-MNIST format).

    Layout: two zero bytes, a type code, the number of dimensions ``d``, then ``d`` big-endian
    uint32 sizes, then the values row-major. Returns an array of shape ``(n_0, ..., n_{d-1})``.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataFormatError(
            f"{name}: not an IDX file: expected magic bytes 00 00 <type> <ndim>, "
            f"got {data[:4].hex(' ') or 'an empty file'}"
        )
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise DataFormatError(f"{name}: unknown IDX type code 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{name}: truncated header: need {header} bytes, file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DataFormatError(
            f"{name}: header says shape {shape} ({expected} bytes in all) "
            f"but the file has {len(data)} bytes ({'truncated' if len(data) < expected else 'trailing data'})"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
# --8<-- [end:read_idx]


def write_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes (the inverse of :func:`read_idx`; used by tests)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.tobytes()


def read_mnist_pickle(data: bytes, name: str = "mnist.pkl") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Parse the book's ``mnist.pkl`` (a Python 2 pickle of three ``(X, y)`` pairs).

    Returns ``{"train", "validation", "test"}`` -> ``(X, y)`` with ``X`` float32 ``(N, 784)``
    (pixels ``k/256``) and ``y`` int64 ``(N,)``, exactly the values the book's loader sees.
    """
    try:
        obj = pickle.load(io.BytesIO(data), encoding="latin1")
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a malformed file
        raise DataFormatError(f"{name}: not a readable pickle ({type(exc).__name__}: {exc})") from exc
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise DataFormatError(
            f"{name}: expected a tuple of 3 (X, y) pairs (train, validation, test), "
            f"got {type(obj).__name__} of length {len(obj) if hasattr(obj, '__len__') else '?'}"
        )
    out = {}
    for split, pair in zip(("train", "validation", "test"), obj, strict=True):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise DataFormatError(f"{name}: {split} split is not an (X, y) pair")
        X, y = (np.asarray(a) for a in pair)
        if X.ndim != 2 or X.shape[1] != 784 or y.shape != (X.shape[0],):
            raise DataFormatError(
                f"{name}: {split} split has X {X.shape} and y {y.shape}; expected (N, 784) and (N,)"
            )
        out[split] = (X.astype(np.float32, copy=False), y.astype(np.int64, copy=False))
    return out


def read_cifar_batch(data: bytes, name: str = "CIFAR-10 batch") -> tuple[np.ndarray, np.ndarray]:
    """Parse one CIFAR-10 "python version" batch (a pickled dict with ``data`` and ``labels``).

    ``data`` is uint8 ``(N, 3072)``, channel-major (1024 red, 1024 green, 1024 blue, each 32x32
    row-major). Returns ``X`` uint8 ``(N, 3, 32, 32)`` and ``y`` int64 ``(N,)``.
    """
    try:
        obj = pickle.load(io.BytesIO(data), encoding="bytes")
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{name}: not a readable pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise DataFormatError(f"{name}: expected a dict with b'data' and b'labels', got {type(obj).__name__}")
    obj = {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}
    if "data" not in obj or "labels" not in obj:
        raise DataFormatError(f"{name}: missing keys: has {sorted(obj)}, needs 'data' and 'labels'")
    X = np.asarray(obj["data"])
    y = np.asarray(obj["labels"], dtype=np.int64)
    if X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != 3072:
        raise DataFormatError(f"{name}: data is {X.dtype} {X.shape}; expected uint8 (N, 3072)")
    if y.shape != (X.shape[0],):
        raise DataFormatError(f"{name}: {X.shape[0]} images but labels of shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataFormatError(f"{name}: labels must lie in [0, 9], found [{y.min()}, {y.max()}]")
    return X.reshape(-1, 3, 32, 32), y  # (N, 3, 32, 32)


def write_cifar_batch(X: np.ndarray, y: np.ndarray) -> bytes:
    """Encode ``X`` uint8 ``(N, 3, 32, 32)`` and labels as a CIFAR-10 python batch (for tests)."""
    payload = {b"data": np.ascontiguousarray(X, dtype=np.uint8).reshape(len(X), 3072),
               b"labels": [int(v) for v in y], b"batch_label": b"written by scratchnet"}
    return pickle.dumps(payload, protocol=2)
