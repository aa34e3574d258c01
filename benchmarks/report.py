"""Turn a ``--benchmark-json`` file into a markdown table of ratios, scratchnet vs the others.

    python benchmarks/report.py benchmark.json > table.md

Each benchmark belongs to a ``group`` (one workload) and names its backend in
``extra_info["backend"]`` (``scratchnet``, ``torchnet-cpu``, ``torchnet-cuda``, ``numpy``...;
when absent it is guessed from the test's parameter). For every group the table gives each
backend's median time and its throughput, and the ratio ``scratch / other`` of throughputs
(= other's median time / scratch's): above 1 means scratchnet is faster. Ratios come from one
run on one machine; absolute times are never compared across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

KNOWN = ("scratchnet", "torchnet-cuda", "torchnet-cpu", "numpy", "torch")


def backend_of(bench: dict) -> str:
    """The backend a benchmark measured: ``extra_info["backend"]``, else guessed from its name."""
    info = bench.get("extra_info") or {}
    if info.get("backend"):
        return str(info["backend"])
    label = f"{bench.get('param') or ''} {bench.get('name', '')}".lower()
    if "scratch" in label:
        return "scratchnet"
    if "cuda" in label:
        return "torchnet-cuda"
    if "numpy" in label or "blas" in label:
        return "numpy"
    if "torch" in label:
        return "torchnet-cpu"
    return bench.get("name", "?")


def throughput(bench: dict) -> str:
    info = bench.get("extra_info") or {}
    for key, unit in (("samples_per_s", "samples/s"), ("gflops", "GFLOP/s"), ("peak_rss_mb", "MB peak")):
        if key in info:
            return f"{info[key]:,.1f} {unit}"
    return ""


def render(data: dict) -> str:
    """The markdown report for one pytest-benchmark JSON document."""
    machine = data.get("machine_info", {})
    desc = machine.get("scratchnet") or {}
    lines = ["## Benchmark ratios (scratchnet ÷ other, throughput; > 1 means scratchnet is faster)", ""]
    if desc:
        lines.append(f"Machine: {desc.get('cpu_model')}, {desc.get('cores')} cores, {desc.get('threads')} threads; "
                     f"numpy {desc.get('numpy')}, numba {desc.get('numba')}, torch {desc.get('torch')}; "
                     f"BLAS {desc.get('blas')}; GPU {desc.get('gpu')}.")
        if "cpu_family" in desc:
            vb = desc.get("vector_bytes")
            lines.append(f"CPU: {desc.get('cpu_vendor')} family {desc.get('cpu_family')} model "
                         f"{desc.get('cpu_model_number')}; flags {desc.get('cpu_flags')}; Numba target "
                         f"{desc.get('numba_target')}, {8 * vb if vb else '?'}-bit vectors; kernels "
                         f"{desc.get('kernel_plan')}.")
        if desc.get("emulated"):
            lines.append("Emulated target: " + ", ".join(f"{k}={v}" for k, v in desc["emulated"].items()) + ".")
    else:
        lines.append(f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}")
    lines += ["", "| group | backend | median | throughput | scratch ÷ this |", "|---|---|---:|---:|---:|"]
    groups: dict[str, list[dict]] = defaultdict(list)
    for bench in data.get("benchmarks", []):
        groups[bench.get("group") or bench["name"]].append(bench)
    for group in sorted(groups):
        rows = groups[group]
        scratch = [b for b in rows if backend_of(b) == "scratchnet"]
        ref = min((b["stats"]["median"] for b in scratch), default=None)
        for b in sorted(rows, key=lambda b: b["stats"]["median"]):
            median = b["stats"]["median"]
            ratio = "" if ref is None else f"{median / ref:.2f}×"
            name = backend_of(b)
            label = (b.get("extra_info") or {}).get("label")
            if label:
                name += f" ({label})"
            lines.append(f"| {group} | {name} | {median * 1e3:.3f} ms | {throughput(b)} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file", type=Path, help="output of pytest --benchmark-json=FILE")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.json_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"report.py: cannot read {args.json_file}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
