"""``kernels.dispatch.serial_or_parallel``: every kernel's threaded twin computes what its serial
one does (the same arithmetic per element, so bit for bit; sums split by rows within rounding)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.kernels import batchnorm, losses, optim, pool

N = 1 << 17  # above every dispatch threshold: the threaded twin is the one that runs by default


@pytest.mark.parametrize("weight_decay, decoupled", [(0.0, False), (1e-3, False), (1e-2, True)])
def test_adam_step_threaded_equals_serial(weight_decay, decoupled):
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal(N), rng.standard_normal(N)
    m0, v0 = rng.standard_normal(N) * 0.1, rng.random(N) * 0.01
    results = []
    for kernel in (optim.adam_update.serial, optim.adam_update.threaded):
        pp, m, v = p.copy(), m0.copy(), v0.copy()
        kernel(pp, g, m, v, 3e-3 / (1 - 0.9**3), 0.1, 0.999, 1e-3, (1 - 0.999**3) ** 0.5, 1e-8,
               weight_decay, 1 - 3e-3 * weight_decay, decoupled)
        results.append((pp, m, v))
    for name, a, b in zip("pmv", *results, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert not np.array_equal(results[0][0], p), "the step must move p"


def test_bce_loss_threaded_equals_serial():
    rng = np.random.default_rng(2)
    A = rng.random((256, 784)) * 0.98 + 0.01
    Y = np.where(rng.random(A.shape) < 0.8, 0.0, rng.random(A.shape))
    Y[0, :5] = 1.0
    g1, g2 = np.empty_like(A), np.empty_like(A)
    v1, b1 = losses.bce_loss.serial(A, Y, g1)
    v2, b2 = losses.bce_loss.threaded(A, Y, g2)
    np.testing.assert_array_equal(g1, g2)
    assert (v1, b1) == (v2, b2 + 0) and b1 == -1   # the same per-row sums, added in the same order
    Y[3, 7] = np.nan
    assert losses.bce_loss.threaded(A, Y, g2)[1] == 3 * 784 + 7 == losses.bce_loss.serial(A, Y, g1)[1]


def test_the_threaded_maxpool_and_batchnorm_equal_serial():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((16, 32, 16, 16))
    outs = []
    for kernel in (pool.maxpool_forward.serial, pool.maxpool_forward.threaded):
        out, arg = np.empty((16, 32, 8, 8)), np.empty((16, 32, 8, 8), np.int64)
        kernel(X, 2, 2, 2, 2, 0, 0, out, arg)
        outs.append((out, arg))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    X3 = X.reshape(16, 32, 256)
    gamma, beta = rng.standard_normal(32), rng.standard_normal(32)
    res = []
    for kernel in (batchnorm.batchnorm_train_forward.serial, batchnorm.batchnorm_train_forward.threaded):
        Y, xhat = np.empty_like(X3), np.empty_like(X3)
        mean, var, invstd = np.empty(32), np.empty(32), np.empty(32)
        kernel(X3, gamma, beta, 1e-5, Y, xhat, mean, var, invstd)
        res.append((Y, mean, var))
    for a, b in zip(*res, strict=True):
        np.testing.assert_array_equal(a, b)


# The kernels that cut their work in one share per thread read the count at each call. A first
# version read it from a module constant, which cache=True froze into the code on disk: after one
# process with NUMBA_NUM_THREADS=1 (benchmarks/one_thread.py), every later process of the checkout
# convolved on one thread (fashion_cnn's second layer at 0.46x torch instead of 0.9x on two cores).
SHARES = """
import json, numba
from scratchnet.kernels.conv import _sample_parts
from scratchnet.kernels.matmul import _thread_parts
seen = {"samples": _sample_parts(64), "rows": list(_thread_parts(100, 10)), "cols": list(_thread_parts(10, 100)),
        "few samples": _sample_parts(1)}
numba.set_num_threads(1)
seen["after set_num_threads(1)"] = _sample_parts(64)
seen["hits"] = [sum(f.stats.cache_hits.values()) for f in (_sample_parts, _thread_parts)]
print(json.dumps(seen))
"""


def test_the_shares_follow_the_threads_of_the_process_not_of_the_cache(tmp_path) -> None:
    import json
    import os
    import subprocess
    import sys

    def run(threads: int) -> dict:
        env = {**os.environ, "NUMBA_NUM_THREADS": str(threads), "NUMBA_CACHE_DIR": str(tmp_path)}
        proc = subprocess.run([sys.executable, "-c", SHARES], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first = run(1)  # compiles into the empty cache with one thread
    assert first["samples"] == 1 and first["rows"] == [1, 1]
    second = run(2)  # loads that compilation
    assert all(second["hits"]), "the second process compiled again instead of loading the cache: nothing was tested"
    assert second["samples"] == 2 and second["rows"] == [2, 1] and second["cols"] == [1, 2]
    assert second["few samples"] == 1 and second["after set_num_threads(1)"] == 1
