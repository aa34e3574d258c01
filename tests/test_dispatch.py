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
