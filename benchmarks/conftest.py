"""Benchmark set-up: fix thread counts before numba or torch is imported, record the machine.

Thread policy: Numba's kernels and torch each get ``SCRATCHNET_THREADS`` threads (default: all
cores), and OpenBLAS/MKL/OpenMP pools are capped at the same number so nothing oversubscribes.
While a Numba parallel kernel runs, the project's matmul wrapper limits BLAS to one thread.
"""

from __future__ import annotations

import os

THREADS = int(os.environ.get("SCRATCHNET_THREADS", os.cpu_count() or 1))
for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

import platform  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(THREADS)
numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo reports it (or platform's guess)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description() -> dict:
    """CPU, cores, thread settings, library versions, BLAS and GPU: stored in the JSON output."""
    from threadpoolctl import threadpool_info

    blas = [f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
            for p in threadpool_info() if p.get("user_api") == "blas"]
    from scratchnet.kernels.machine import machine, plan

    m, p = machine(), plan()
    isa = sorted(f for f in m.flags if f.startswith(("avx", "fma", "amx")))
    return {
        "cpu_model": cpu_model(),
        "cpu_vendor": m.vendor,
        "cpu_family": m.family,
        "cpu_model_number": m.model,
        "cpu_flags": " ".join(isa),
        "numba_target": m.target_cpu,
        "vector_bytes": p.vector_bytes,
        "kernel_plan": f"MR x NV = {p.mr} x {p.nv}, KC {p.kc}, MC {p.mc}, NC {p.nc}, dot tile {p.dr} x {p.dc}",
        "emulated": {k: os.environ[k] for k in ("NUMBA_CPU_NAME", "OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY",
                                                 "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS") if k in os.environ},
        "cores": os.cpu_count(),
        "threads": THREADS,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": torch.__version__,
        "blas": "; ".join(blas) or "unknown",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    """pytest-benchmark hook: add our description to ``machine_info`` in --benchmark-json."""
    machine_info["scratchnet"] = machine_description()


def pytest_report_header(config) -> str:
    d = machine_description()
    return (f"benchmarks: {d['cpu_model']} (family {d['cpu_family']}, model {d['cpu_model_number']}, Numba target "
            f"{d['numba_target']}, {8 * d['vector_bytes']}-bit vectors; {d['kernel_plan']}), "
            f"{d['cores']} cores, {d['threads']} threads; "
            f"numpy {d['numpy']}, numba {d['numba']}, torch {d['torch']}; BLAS {d['blas']}; GPU {d['gpu']}")
