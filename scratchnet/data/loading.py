"""``load``, ``fetch`` and ``info``: the public face of the data layer.

The verified source files are decoded once into ``<cache>/<name>/<name>.npz`` (uint8 pixels,
int64 labels, uncompressed) with a JSON manifest holding the archive's SHA-256 and where each
source file came from. Later loads check that digest and scale the pixels: well under a second.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import Arrays, cache_root, get_dataset
from .errors import DatasetNotFoundError
from .sources import fetch_file, read_verified, sha256_hex, write_verified


def _paths(name: str) -> tuple[Path, Path, Path]:
    folder = cache_root() / name
    return folder, folder / f"{name}.npz", folder / f"{name}.json"


def _read_array_cache(name: str) -> tuple[Arrays, dict[str, Any]] | None:
    """The cached arrays and manifest, or None when absent or failing their checksum."""
    _, npz, manifest_path = _paths(name)
    found = read_verified(npz, manifest_path, stacklevel=4)
    if found is None:
        return None
    raw, manifest = found
    with np.load(io.BytesIO(raw)) as z:
        arrays = {s: (z[f"{s}_X"], z[f"{s}_y"]) for s in manifest["splits"]}
    return arrays, manifest


def _build_array_cache(name: str, data_dir: Path | None) -> tuple[Arrays, dict[str, Any]]:
    ds = get_dataset(name)
    folder, npz, manifest_path = _paths(name)
    sources = ds.sources(folder, data_dir)
    files, provenance = {}, {}
    for spec in ds.files:
        data, where = fetch_file(spec, folder, sources, ds.remedy)
        files[spec.name] = data
        provenance[spec.name] = {"source": where, "sha256": sha256_hex(data)}
    arrays = ds.decode(files)
    buf = io.BytesIO()
    np.savez(buf, **{f"{s}_{k}": a for s, (X, y) in arrays.items() for k, a in (("X", X), ("y", y))})
    manifest = write_verified(npz, buf.getvalue(), manifest_path,
                              {"dataset": name, "splits": list(arrays), "files": provenance})
    return arrays, manifest


def _arrays(name: str, data_dir: Path | None = None, *, fetch: bool = True) -> tuple[Arrays, dict[str, Any]]:
    get_dataset(name)  # validates the name first
    cached = _read_array_cache(name)
    if cached is not None:
        return cached
    if not fetch:
        raise DatasetNotFoundError(
            f"{name} is not in the cache ({cache_root() / name}); "
            f"run `scratchnet data fetch {name}` first")
    return _build_array_cache(name, data_dir)


# --8<-- [start:load]
def load(name: str, *, merge_validation: bool = False,
         data_dir: str | Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load a dataset as ``{split: (X, y)}``, fetching and verifying it on first use.

    ``X`` is float32 ``(N, C, H, W)`` with pixels ``k / scale`` in [0, 1] (MNIST: ``k/256``, as
    the book's pickle stores them; Fashion-MNIST, CIFAR-10: ``k/255``); ``y`` is int64 ``(N,)``.
    Splits: ``"train"``, ``"validation"`` (MNIST only), ``"test"``. ``merge_validation=True``
    folds MNIST's validation images back into training: the usual 60k training set.
    ``data_dir`` names a folder to take the files from (CIFAR-10's unpacked batches, say).
    """
    ds = get_dataset(name)
    arrays, _ = _arrays(name, Path(data_dir) if data_dir is not None else None)
    scale = np.float32(ds.scale)
    out = {}
    for split, (X, y) in arrays.items():
        X = X.astype(np.float32)
        X /= scale  # in place: one pass over a fresh array
        out[split] = (X, y.astype(np.int64))
    if merge_validation and "validation" in out:
        (Xt, yt), (Xv, yv) = out["train"], out.pop("validation")
        out["train"] = (np.concatenate([Xt, Xv]), np.concatenate([yt, yv]))
    return out
# --8<-- [end:load]


def fetch(name: str, *, data_dir: str | Path | None = None) -> dict[str, Any]:
    """Make sure ``name`` is in the cache (walking the source chain if needed); return its info."""
    _arrays(name, Path(data_dir) if data_dir is not None else None)
    return info(name)


def info(name: str) -> dict[str, Any]:
    """Split sizes, class counts, image shape, cache folder and the provenance of each file.

    Reads only the cache: a dataset not fetched yet raises :class:`DatasetNotFoundError`.
    """
    ds = get_dataset(name)
    arrays, manifest = _arrays(name, fetch=False)
    splits = {}
    for split, (_, y) in arrays.items():
        counts = np.bincount(y, minlength=len(ds.classes))
        splits[split] = {"n": int(len(y)), "class_counts": {c: int(n) for c, n in zip(ds.classes, counts, strict=True)}}
    first = next(iter(arrays.values()))[0]
    return {"dataset": name, "description": ds.notes, "image_shape": list(first.shape[1:]),
            "splits": splits, "cache": str(cache_root() / name), "files": manifest["files"]}
