"""Cold start: how long a first ``scratchnet train`` spends compiling, per kernel family.

    python benchmarks/cold_start.py [--model book_mlp] [--epochs 1] [--json FILE]

Runs ``scratchnet train MODEL --epochs E`` in a fresh process against an empty Numba cache (a
temporary ``NUMBA_CACHE_DIR``), with a listener on Numba's ``numba:compile`` events, and prints
the whole run's time, the time spent compiling, and that time per module of ``scratchnet.kernels``
(a kernel family), each compilation counted once: the time inside a compilation that was spent
compiling the kernels it calls belongs to those. Then it runs the command again on the warm
cache, for comparison. The data must be in the cache (``scratchnet data fetch mnist``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from pathlib import Path

# Runs inside the child: record every compilation's module, name and exclusive time.
CHILD = textwrap.dedent("""
    import json, sys, time
    from numba.core import event
    records, stack = [], []
    class Listener(event.Listener):
        def on_start(self, ev):
            stack.append([time.perf_counter(), 0.0])
        def on_end(self, ev):
            start, inner = stack.pop()
            spent = time.perf_counter() - start
            if stack:
                stack[-1][1] += spent
            fn = getattr(ev.data.get("dispatcher"), "py_func", None)
            records.append({"module": getattr(fn, "__module__", "?"), "name": getattr(fn, "__qualname__", "?"),
                            "seconds": spent - inner, "inclusive": spent})
    event.register("numba:compile", Listener())
    from scratchnet import cli
    t0 = time.perf_counter()
    rc = cli.main(sys.argv[2:])
    json.dump({"rc": rc, "seconds": time.perf_counter() - t0, "compilations": records}, open(sys.argv[1], "w"))
""")


def run(args: list[str], cache: Path, out: Path) -> dict:
    """One ``scratchnet`` run in a child process with Numba's cache in ``cache``; its record."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out), *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"scratchnet {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    doc = json.loads(out.read_text())
    doc["process_seconds"] = time.perf_counter() - t0
    return doc


def by_family(records: list[dict]) -> dict[str, tuple[int, float]]:
    """``{module: (compilations, exclusive seconds)}``, the slowest first."""
    families: dict[str, list] = defaultdict(lambda: [0, 0.0])
    for r in records:
        family = r["module"].removeprefix("scratchnet.")
        families[family][0] += 1
        families[family][1] += r["seconds"]
    return dict(sorted(((k, (n, s)) for k, (n, s) in families.items()), key=lambda kv: -kv[1][1]))


def report(cold: dict, warm: dict, command: str) -> str:
    """The markdown table of one cold and one warm run."""
    total = sum(r["seconds"] for r in cold["compilations"])
    lines = [f"`{command}` from an empty Numba cache: {cold['process_seconds']:.1f} s for the process, "
             f"{cold['seconds']:.1f} s in `cli.main`, of which **{total:.1f} s compiling** "
             f"{len(cold['compilations'])} kernels; on the warm cache: {warm['process_seconds']:.1f} s for the "
             f"process ({len(warm['compilations'])} compilations).", "",
             "| kernel family (module) | compilations | seconds compiling |", "|---|---:|---:|"]
    for family, (n, seconds) in by_family(cold["compilations"]).items():
        lines.append(f"| `{family}` | {n} | {seconds:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="book_mlp")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write both runs' records here")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        args = ["train", a.model, "--epochs", str(a.epochs), "--no-progress", "--out", str(tmp / "run")]
        cold = run(args, tmp / "numba", tmp / "cold.json")
        warm = run(args, tmp / "numba", tmp / "warm.json")
    command = f"scratchnet train {a.model} --epochs {a.epochs}"
    print(report(cold, warm, command))
    if a.json:
        a.json.write_text(json.dumps({"cold": cold, "warm": warm}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
