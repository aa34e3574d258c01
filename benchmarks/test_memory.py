"""Peak memory of ``scratchnet train book_mlp`` (target: at most 600 MB), in a fresh process."""

from __future__ import annotations

import os
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

    peaks = []

    def train() -> None:
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not every child's
        assert status == 0, f"scratchnet train failed: {child.stderr.read().decode()[-2000:]}"
        peaks.append(usage.ru_maxrss / 1024)  # Linux reports KiB

    benchmark.pedantic(train, rounds=1, iterations=1)
    peak_mb = max(peaks)
    benchmark.extra_info["peak_rss_mb"] = round(peak_mb, 1)
    assert peak_mb <= LIMIT_MB, f"scratchnet train book_mlp peaked at {peak_mb:.0f} MB (limit {LIMIT_MB} MB)"
