"""Peak memory of ``scratchnet train book_mlp`` (target: at most 600 MB), in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scratchnet.data.datasets import cache_root

LIMIT_MB = 600
# The child reports its own high-water mark (VmHWM of its address space). ru_maxrss would not do:
# Linux carries it across exec, so a child of a large pytest process inherits the parent's peak.
CHILD = ("import sys; from scratchnet.cli import main; code = main(sys.argv[1:]); "
         "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
         "print(f'VMHWM_KB={hwm}'); sys.exit(code)")


@pytest.mark.needs_data
@pytest.mark.skipif(not (cache_root() / "mnist" / "mnist.npz").is_file(),
                    reason="MNIST not in the cache: run `scratchnet data fetch mnist`")
@pytest.mark.parametrize("backend", ["scratch"])
def test_train_peak_memory(benchmark, request, tmp_path: Path, backend: str) -> None:
    cmd = [sys.executable, "-c", CHILD, "train", "book_mlp", "--backend", backend, "--epochs", "1",
           "--no-progress", "--out", str(tmp_path / "run")]
    if request.config.getoption("benchmark_disable"):
        cmd += ["--subset", "2000"]
    benchmark.group = "peak memory: scratchnet train book_mlp"
    benchmark.extra_info["backend"] = "scratchnet"

    peaks = []

    def train() -> None:
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0, f"scratchnet train failed: {result.stderr[-2000:]}"
        line = [x for x in result.stdout.splitlines() if x.startswith("VMHWM_KB=")][-1]
        peaks.append(int(line.split("=")[1]) / 1024)

    benchmark.pedantic(train, rounds=1, iterations=1)
    peak_mb = max(peaks)
    benchmark.extra_info["peak_rss_mb"] = round(peak_mb, 1)
    assert peak_mb <= LIMIT_MB, f"scratchnet train book_mlp peaked at {peak_mb:.0f} MB (limit {LIMIT_MB} MB)"
