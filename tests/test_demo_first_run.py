"""``make demo`` on a fresh machine: compiling happens before the clock starts, never inside it.

The first demo on a fresh machine used to count Numba's compilation as training time and printed
"0.2x as fast as torch", the second 3.6x. Here the demo's own ``run`` goes through a Numba cache
that starts empty (a new ``NUMBA_CACHE_DIR``, in a fresh process): the warm-up must be what
compiles the kernels, and the timed run must compile none (Numba's ``numba:compile`` events,
counted, not timed: speed is the benchmarks' business).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys
import numpy as np
from scratchnet import demo
rng = np.random.default_rng(0)
def split(n):
    X = (rng.integers(0, 256, (n, 1, 28, 28)) / 256).astype(np.float32)
    return X, rng.integers(0, 10, n)
data = {"train": split(400), "validation": split(60), "test": split(60)}
results = demo.run(data, epochs=1)
keep = ("warm_up_compilations", "timed_compilations", "samples_per_s")
print("RESULTS" + json.dumps({b: {k: r[k] for k in keep} for b, r in results.items()}))
"""


def test_the_timed_run_compiles_nothing_even_from_an_empty_cache(tmp_path: Path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULTS"))
    results = json.loads(line.removeprefix("RESULTS"))
    assert results["scratch"]["warm_up_compilations"] > 10, "an empty cache: the warm-up compiles the kernels"
    assert results["scratch"]["timed_compilations"] == 0, proc.stdout[-3000:]
    assert results["torch"]["timed_compilations"] == 0
    assert "before the clock starts: compiled" in proc.stdout
    assert "still compiled during the timed run" not in proc.stdout
