"""BatchNorm (``kernels/cuda/batchnorm.py``) against ``kernels/batchnorm.py``: training and
evaluation, forward and backward, and the running statistics (unbiased variance, momentum 0.1)."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import on_device, twins, within_rounding

from scratchnet.kernels import batchnorm as reference
from scratchnet.kernels.cuda import batchnorm as cuda_bn

DTYPES = [np.float64, np.float32]
EPS = 1e-5


def _arrays(N, C, S, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((N, C, S)) * 3 + 1).astype(dtype)
    gamma, beta = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    dY = rng.standard_normal((N, C, S)).astype(dtype)
    return X, gamma, beta, dY


@pytest.mark.parametrize("N, C, S, dtype", [(4, 3, 5, np.float64), (4, 3, 5, np.float32), (300, 1, 1, np.float64)])
def test_training_forward_and_backward(N, C, S, dtype):
    """(300, 1, 1): more values than a block has threads, so each thread sums several."""
    X, gamma, beta, dY = _arrays(N, C, S, dtype)
    M = N * S
    outs = [np.full_like(X, np.nan), np.full_like(X, np.nan)] + [np.full(C, np.nan, dtype) for _ in range(3)]
    (_, ref), (_, got) = twins(reference.batchnorm_train_forward, cuda_bn.batchnorm_train_forward,
                               X, gamma, beta, EPS, *outs)
    Y, xhat, mean, var, invstd = ref[4:]
    spread = np.abs(X - mean[:, None]).max(axis=(0, 2))  # the size of (x - mu): var's terms are its square
    scale = {"Y": np.abs(gamma[:, None]) * (np.abs(xhat) + 1) + np.abs(beta[:, None]), "xhat": np.abs(xhat) + 1,
             "mean": np.abs(X).max(axis=(0, 2)), "var": spread**2, "invstd": invstd}
    for what, r, g in zip(scale, ref[4:], got[4:], strict=True):
        within_rounding(g, r, scale[what], terms=M, what=what)

    dgamma0, dbeta0 = np.ones(C, dtype), np.full(C, -2.0, dtype)  # accumulated into
    (_, ref), (_, got) = twins(reference.batchnorm_train_backward, cuda_bn.batchnorm_train_backward,
                               dY, xhat, gamma, invstd, np.full_like(X, np.nan), dgamma0, dbeta0)
    sdy, sdyx = np.abs(dY).sum(axis=(0, 2)), np.abs(dY * xhat).sum(axis=(0, 2))
    scale_dx = np.abs(gamma * invstd / M)[:, None] * (M * np.abs(dY) + sdy[:, None] + np.abs(xhat) * sdyx[:, None])
    within_rounding(got[4], ref[4], scale_dx, terms=M, what="dX")
    within_rounding(got[5], ref[5], sdyx + 1, terms=M, what="dgamma")
    within_rounding(got[6], ref[6], sdy + 2, terms=M, what="dbeta")


@pytest.mark.parametrize("dtype", DTYPES)
def test_evaluation_forward_and_backward(dtype):
    N, C, S = 3, 4, 6
    X, gamma, beta, dY = _arrays(N, C, S, dtype, seed=1)
    rm, rv = np.linspace(-1, 1, C).astype(dtype), np.linspace(0.5, 2, C).astype(dtype)
    (_, ref), (_, got) = twins(reference.batchnorm_eval_forward, cuda_bn.batchnorm_eval_forward,
                               X, gamma, beta, rm, rv, EPS, np.empty_like(X), np.empty_like(X))
    xhat = ref[7]
    within_rounding(got[7], xhat, np.abs(xhat) + 2, what="xhat")
    within_rounding(got[6], ref[6], np.abs(gamma[:, None]) * (np.abs(xhat) + 2) + np.abs(beta[:, None]), what="Y")
    (_, ref), (_, got) = twins(reference.batchnorm_eval_backward, cuda_bn.batchnorm_eval_backward,
                               dY, xhat, gamma, rv, EPS, np.empty_like(X), np.zeros(C, dtype), np.zeros(C, dtype))
    within_rounding(got[5], ref[5], np.abs(dY * gamma[:, None] / np.sqrt(rv[:, None])), what="dX")
    within_rounding(got[6], ref[6], np.abs(dY * xhat).sum(axis=(0, 2)), terms=N * S, what="dgamma")
    within_rounding(got[7], ref[7], np.abs(dY).sum(axis=(0, 2)), terms=N * S, what="dbeta")


@pytest.mark.parametrize("dtype", DTYPES)
def test_running_statistics_move_as_the_module_moves_them(dtype):
    """``nn.BatchNorm``'s two lines: momentum 0.1, the batch variance made unbiased (M / (M - 1))."""
    C, M, m = 5, 12, 0.1
    rng = np.random.default_rng(2)
    mean, var = rng.standard_normal(C).astype(dtype), rng.random(C).astype(dtype)
    running_mean, running_var = rng.standard_normal(C).astype(dtype), rng.random(C).astype(dtype) + 1
    _, (*_, got_mean, got_var) = on_device(cuda_bn.batchnorm_update_running, mean, var, M, m, running_mean,
                                           running_var)
    ref_mean = (1 - m) * running_mean + m * mean
    ref_var = (1 - m) * running_var + m * var * (M / (M - 1))
    within_rounding(got_mean, ref_mean, np.abs(running_mean) + np.abs(mean), what="running_mean")
    within_rounding(got_var, ref_var, np.abs(running_var) + np.abs(var) * 2, what="running_var")
