"""``load``, ``fetch`` and ``info``: the public face of the data layer.

The verified source files are decoded once into ``<cache>/<name>/<name>.npz`` (uint8 pixels,
int64 labels, uncompressed) with a JSON manifest holding the archive's SHA-256 and where each
source file came from. Later loads check that digest and scale the pixels: well under a second.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import Arrays, Dataset, cache_root, get_dataset
from .errors import DataError, DatasetNotFoundError
from .sources import (
    Source,
    atomic_write,
    fetch_verified,
    healed_note,
    set_aside,
    sha256_hex,
    warn_data,
    write_verified,
)


def _paths(name: str) -> tuple[Path, Path, Path]:
    folder = cache_root() / name
    return folder, folder / f"{name}.npz", folder / f"{name}.json"


@dataclass(frozen=True)
class _Damage:
    """A derived file (the arrays or their manifest) that failed its check: where, and why."""

    path: Path
    reason: str


def _cached_file(folder: Path, spec_name: str) -> Path | None:
    """The dataset file as kept in the cache (``name`` or, uncompressed, without ``.gz``)."""
    for candidate in (spec_name, spec_name.removesuffix(".gz")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _in_cache(ds: Dataset, folder: Path) -> bool:
    """True when anything of ``ds`` lies in the cache (its arrays, manifest, or a source file)."""
    _, npz, manifest_path = _paths(ds.name)
    return (npz.is_file() or manifest_path.is_file()
            or any(_cached_file(folder, spec.name) is not None for spec in ds.files))


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _manifest_problem(ds: Dataset, manifest: object) -> str | None:
    """What is wrong with a parsed manifest of ``ds`` (expected and actual), or None."""
    if not isinstance(manifest, dict):
        return f"expected a JSON object, actual {type(manifest).__name__}"
    if manifest.get("dataset") != ds.name:
        return f"dataset expected {ds.name!r}, actual {manifest.get('dataset')!r}"
    splits = manifest.get("splits")
    if not (isinstance(splits, list) and splits and all(isinstance(x, str) for x in splits)):
        return f"splits expected a list of split names, actual {splits!r}"
    if not _is_sha256(manifest.get("npz_sha256")):
        return f"npz_sha256 expected 64 hex digits, actual {manifest.get('npz_sha256')!r}"
    files = manifest.get("files")
    names = sorted(spec.name for spec in ds.files)
    if not (isinstance(files, dict) and sorted(files) == names):
        return f"files expected {names}, actual {sorted(files) if isinstance(files, dict) else files!r}"
    for spec in ds.files:
        entry = files[spec.name]
        if not (isinstance(entry, dict) and isinstance(entry.get("source"), str) and _is_sha256(entry.get("sha256"))
                and (entry.get("stored_sha256") is None or _is_sha256(entry.get("stored_sha256")))):
            return f"files[{spec.name!r}] expected source, sha256 and stored_sha256 entries, actual {entry!r}"
        if spec.sha256 is not None and entry["sha256"] != spec.sha256:
            return f"{spec.name} SHA-256 expected {spec.sha256}, actual {entry['sha256']}"
    return None


def _read_manifest(ds: Dataset, manifest_path: Path) -> tuple[dict[str, Any] | None, _Damage | None]:
    """``(manifest, None)`` when readable and well formed; ``(None, damage)`` when not; ``(None, None)`` when absent."""
    if not manifest_path.is_file():
        return None, None
    try:
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        return None, _Damage(manifest_path, f"{manifest_path} cannot be read ({type(exc).__name__}: {exc})")
    problem = _manifest_problem(ds, manifest)
    if problem is not None:
        return None, _Damage(manifest_path, f"{manifest_path} is not a valid manifest of {ds.name} ({problem})")
    return manifest, None


def _read_npz(npz: Path, manifest: dict[str, Any]) -> tuple[Arrays | None, _Damage | None]:
    """``(arrays, None)`` when the file has the manifest's SHA-256 and reads back; else ``(None, damage)``
    (``(None, None)`` when absent)."""
    if not npz.is_file():
        return None, None
    raw = npz.read_bytes()
    digest = sha256_hex(raw)
    if digest != manifest["npz_sha256"]:
        return None, _Damage(npz, f"{npz} failed its checksum (SHA-256 expected {manifest['npz_sha256']}, "
                                  f"actual {digest})")
    try:
        with np.load(io.BytesIO(raw)) as z:
            arrays = {s: (z[f"{s}_X"], z[f"{s}_y"]) for s in manifest["splits"]}
    except Exception as exc:  # noqa: BLE001 - any failure to read it back means it must be rebuilt
        return None, _Damage(npz, f"{npz} cannot be read ({type(exc).__name__}: {exc})")
    for split, (X, y) in arrays.items():
        if X.dtype != np.uint8 or X.ndim != 4 or y.dtype != np.int64 or y.shape != (len(X),):
            return None, _Damage(npz, f"{npz} cannot be read ({split}: expected uint8 images (N, C, H, W) and "
                                      f"int64 labels (N,), actual {X.dtype} {X.shape} and {y.dtype} {y.shape})")
    return arrays, None


def _write_manifest(manifest_path: Path, manifest: dict[str, Any]) -> None:
    atomic_write(manifest_path, json.dumps(manifest, indent=2).encode())


def _build_array_cache(ds: Dataset, sources: list[Source], expected: dict[str, str],
                       notes: list[str]) -> tuple[Arrays, dict[str, Any]]:
    """Fetch and verify every file of ``ds``, decode them, write the arrays and their manifest."""
    folder, npz, manifest_path = _paths(ds.name)
    files, provenance = {}, {}
    for spec in ds.files:
        got = fetch_verified(spec, folder, sources, ds.remedy, expected=expected.get(spec.name),
                             validate=ds.validate)
        if got.notes:
            notes.append(healed_note(spec.name, got))
        files[spec.name] = got.data
        provenance[spec.name] = {"source": got.source, "sha256": sha256_hex(got.data),
                                 "stored_sha256": got.stored_sha256}
    arrays = ds.decode(files)
    buf = io.BytesIO()
    np.savez(buf, **{f"{s}_{k}": a for s, (X, y) in arrays.items() for k, a in (("X", X), ("y", y))})
    manifest = write_verified(npz, buf.getvalue(), manifest_path,
                              {"dataset": ds.name, "splits": list(arrays), "files": provenance})
    return arrays, manifest


def _heal_source_files(ds: Dataset, sources: list[Source], manifest: dict[str, Any],
                       notes: list[str]) -> dict[str, Any]:
    """Check each source file kept in the cache against the SHA-256 of its bytes the manifest
    recorded (cheap: no decompression); one that changed is verified in full and, if damaged,
    set aside and fetched again. The arrays are intact, so a file that cannot be fetched again
    costs a note, not the load. Returns the manifest, rewritten if any entry changed."""
    folder, npz, manifest_path = _paths(ds.name)
    changed = False
    for spec in ds.files:
        path = _cached_file(folder, spec.name)
        entry = manifest["files"][spec.name]
        if path is None or entry.get("stored_sha256") == sha256_hex(path.read_bytes()):
            continue  # deleted once the arrays were built (allowed), or as it was stored
        try:
            got = fetch_verified(spec, folder, sources, ds.remedy, expected=entry["sha256"],
                                 validate=ds.validate)
        except DataError as exc:
            notes.append(f"{spec.name} in the cache is damaged and could not be fetched again; the verified "
                         f"arrays in {npz} were used. {exc}")
            continue
        if got.notes:
            notes.append(healed_note(spec.name, got))
            entry = {**entry, "source": got.source}
        manifest["files"][spec.name] = {**entry, "stored_sha256": got.stored_sha256}
        changed = True
    if changed:
        _write_manifest(manifest_path, manifest)
    return manifest


def _arrays(name: str, data_dir: Path | None = None, *,
            first_fetch: bool = True) -> tuple[Arrays, dict[str, Any]]:
    """The verified arrays and manifest of ``name``, healing whatever in the cache is damaged.

    The same for every entry point (``load``, ``fetch``, ``info``): arrays or manifest failing
    their check are set aside as ``.corrupt`` and rebuilt from the verified source files; a
    damaged source file is set aside and fetched again from the next source. All that was healed
    is reported in one :class:`DataWarning`, after the healing succeeded; when it cannot be
    healed, the error says what was set aside and why it could not be rebuilt.
    ``first_fetch=False`` (``info``): a dataset with nothing in the cache is an error, not a fetch.
    """
    ds = get_dataset(name)
    folder, npz, manifest_path = _paths(name)
    if not first_fetch and not _in_cache(ds, folder):
        raise DatasetNotFoundError(
            f"{name} is not in the cache ({folder}); run `scratchnet data fetch {name}` first")
    sources = ds.sources(folder, data_dir)
    notes: list[str] = []
    manifest, damage = _read_manifest(ds, manifest_path)
    arrays = None
    if manifest is not None:
        arrays, damage = _read_npz(npz, manifest)
    if arrays is not None:
        manifest = _heal_source_files(ds, sources, manifest, notes)
    else:
        aside = set_aside(damage.path) if damage is not None else None
        expected = {f: e["sha256"] for f, e in manifest["files"].items()} if manifest is not None else {}
        try:
            arrays, manifest = _build_array_cache(ds, sources, expected, notes)
        except DataError as exc:
            if damage is None:
                raise
            raise type(exc)(f"{damage.reason}; set aside at {aside}, but it could not be rebuilt: {exc}") from exc
        if damage is not None:
            notes.insert(0, f"{damage.reason}; set aside at {aside} and rebuilt from the verified "
                            + ", ".join(spec.name for spec in ds.files))
    if notes:
        warn_data("\n".join(notes))
    return arrays, manifest


def _summary(ds: Dataset, arrays: Arrays, manifest: dict[str, Any]) -> dict[str, Any]:
    splits = {}
    for split, (_, y) in arrays.items():
        counts = np.bincount(y, minlength=len(ds.classes))
        splits[split] = {"n": int(len(y)), "class_counts": {c: int(n) for c, n in zip(ds.classes, counts, strict=True)}}
    first = next(iter(arrays.values()))[0]
    return {"dataset": ds.name, "description": ds.notes, "image_shape": list(first.shape[1:]),
            "splits": splits, "cache": str(cache_root() / ds.name), "files": manifest["files"]}


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
    """Make sure ``name`` is in the cache and intact (walking the source chain if needed); return its info.

    Damaged files in the cache are healed as by :func:`load` (one :class:`DataWarning`).
    """
    arrays, manifest = _arrays(name, Path(data_dir) if data_dir is not None else None)
    return _summary(get_dataset(name), arrays, manifest)


def info(name: str) -> dict[str, Any]:
    """Split sizes, class counts, image shape, cache folder and the provenance of each file.

    A dataset with nothing in the cache raises :class:`DatasetNotFoundError` (run ``fetch``);
    damaged files of a cached one are healed as by :func:`load` (one :class:`DataWarning`).
    """
    arrays, manifest = _arrays(name, first_fetch=False)
    return _summary(get_dataset(name), arrays, manifest)
