"""``kernels.vmath``: ``exp`` and ``log`` within one ulp of the C library's, everywhere.

The parity suite holds them to torch at the float64 gate (rtol 1e-10); this file holds them to
their own promise, one unit in the last place of ``math.exp`` / ``math.log`` over the whole
float64 range, at the ends of the range, and in plain Python (what ``NUMBA_DISABLE_JIT=1`` runs).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from scratchnet.kernels import vmath


@njit(error_model="numpy", fastmath={"contract"})  # as the kernels compile it; not cached (see parity)
def _exp_all(x, out):
    vmath.wide_vectors()
    for i in range(x.size):
        out[i] = vmath.exp(x[i])


@njit(error_model="numpy", fastmath={"contract"})
def _log_all(x, out):
    vmath.wide_vectors()
    for i in range(x.size):
        out[i] = vmath.log(x[i])


@njit(error_model="numpy")  # the same without fused multiply-adds
def _exp_all_unfused(x, out):
    for i in range(x.size):
        out[i] = vmath.exp(x[i])


def ulps(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Distance in units in the last place between positive (or zero) finite float64 values."""
    return np.abs(ours.view(np.int64) - theirs.view(np.int64))


def _reference(fn, x: np.ndarray) -> np.ndarray:
    return np.array([fn(v) for v in x])


RNG = np.random.default_rng(20261203)
EXP_X = np.concatenate([RNG.uniform(-745.1, 709.78, 200_000), RNG.uniform(-1.0, 1.0, 50_000),
                        RNG.uniform(-40.0, 40.0, 50_000), np.arange(-40, 41) * math.log(2)])
LOG_X = np.concatenate([np.exp(RNG.uniform(-744.0, 709.0, 200_000)), RNG.uniform(0.5, 2.0, 50_000),
                        1.0 + RNG.uniform(-1e-6, 1e-6, 20_000), RNG.uniform(0, 1e-308, 20_000),
                        2.0 ** np.arange(-1074, 1024, dtype=np.float64), [math.sqrt(2), math.sqrt(0.5)]])
LOG_X = LOG_X[LOG_X > 0]


@pytest.mark.parametrize("kernel", [_exp_all, _exp_all_unfused], ids=["fused", "unfused"])
def test_exp_is_within_one_ulp_of_math_exp(kernel):
    ours = np.empty_like(EXP_X)
    kernel(EXP_X, ours)
    u = ulps(ours, _reference(math.exp, EXP_X))
    assert u.max() <= 1, f"exp off by {u.max()} ulp at x = {EXP_X[u.argmax()]!r}"
    assert u.mean() < 0.2, f"exp's mean error {u.mean():.3f} ulp: more than a correctly rounded series"


def test_log_is_within_one_ulp_of_math_log():
    ours = np.empty_like(LOG_X)
    _log_all(LOG_X, ours)
    theirs = _reference(math.log, LOG_X)
    # log's sign changes at 1: compare magnitudes, and require the same sign
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))
    u = ulps(np.abs(ours), np.abs(theirs))
    assert u.max() <= 1, f"log off by {u.max()} ulp at x = {LOG_X[u.argmax()]!r}"
    assert u.mean() < 0.1, f"log's mean error {u.mean():.3f} ulp"


EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, 709.79, 1e308, -708.4, -744.0,
                  -745.13, -745.14, -1e308, 5e-324, 1e-310, 2.2250738585072014e-308, -1.0, 1.0, 2.0])


def test_the_ends_of_the_ranges_are_numpys():
    with np.errstate(all="ignore"):
        expected = {"exp": np.exp(EDGES), "log": np.log(EDGES)}
    for name, kernel in (("exp", _exp_all), ("log", _log_all)):
        ours = np.empty_like(EDGES)
        kernel(EDGES, ours)
        np.testing.assert_array_equal(ours, expected[name], err_msg=f"{name} at {EDGES}")


def test_plain_python_computes_what_the_compiled_code_does():
    """Under NUMBA_DISABLE_JIT=1 the same lines run on NumPy scalars: the same values, no warnings."""
    x = np.concatenate([EXP_X[:300], EDGES])
    # an overflow, invalid operation or division by zero would raise; subnormal results underflow
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        py_exp = np.array([vmath.exp.py_func(np.float64(v)) for v in x])
        lx = np.concatenate([LOG_X[:300], EDGES])
        py_log = np.array([vmath.log.py_func(np.float64(v)) for v in lx])
    ours_exp, ours_log = np.empty_like(x), np.empty_like(lx)
    _exp_all_unfused(x, ours_exp)
    _log_all(lx, ours_log)
    assert ulps(np.abs(py_exp[np.isfinite(py_exp)]), np.abs(ours_exp[np.isfinite(py_exp)])).max() <= 1
    np.testing.assert_array_equal(np.isnan(py_log), np.isnan(ours_log))
    finite = np.isfinite(py_log)
    assert ulps(np.abs(py_log[finite]), np.abs(ours_log[finite])).max() <= 1
    np.testing.assert_array_equal(py_log[~finite], ours_log[~finite])
