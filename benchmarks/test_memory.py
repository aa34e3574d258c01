"""Peak memory of ``scratchnet train book_mlp`` (target: at most 600 MB), in a fresh process."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from scratchnet.data.datasets import cache_root

LIMIT_MB = 600


@pytest.mark.skipif(not (cache_root() / "mnist" / "mnist.npz").is_file(),
                    reason="MNIST not in the cache: run `scratchnet data fetch mnist`")
@pytest.mark.parametrize("backend", ["scratch"])
def test_train_peak_memory(benchmark, request, tmp_path: Path, backend: str) -> None:
    cmd = [sys.executable, "-m", "scratchnet.cli", "train", "book_mlp", "--backend", backend, "--epochs", "1",
           "--no-progress", "--out", str(tmp_path / "run")]
    if request.config.getoption("benchmark_disable"):
        cmd += ["--subset", "2000"]
    benchmark.group = "peak memory: scratchnet train book_mlp"
    benchmark.extra_info["backend"] = "scratchnet"

    def train() -> None:
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    benchmark.pedantic(train, rounds=1, iterations=1)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    benchmark.extra_info["peak_rss_mb"] = round(peak_mb, 1)
    assert peak_mb <= LIMIT_MB, f"scratchnet train book_mlp peaked at {peak_mb:.0f} MB (limit {LIMIT_MB} MB)"
