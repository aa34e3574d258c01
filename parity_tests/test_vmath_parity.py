"""``kernels.vmath.exp`` and ``log`` against ``torch.exp`` and ``torch.log``, value by value.

They are called the way the element-wise kernels call them: inlined into a loop compiled with
``error_model="numpy"``, ``fastmath={"contract"}`` and 512-bit vectors (what ``sigmoid_forward``
and ``bce_loss`` do). Each value is judged on its own relative error (``ours / torch - 1``
against 0 at the float64 gate's tolerance), so a value of 1e-300 is held to the same standard
as one of 1e300. Inputs are float64 and float32 (widened to float64, as the kernels do); the
ends of the ranges (0, the infinities, NaN, subnormals, overflow and underflow) must agree
exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit

from scratchnet.kernels import vmath


@njit(error_model="numpy", fastmath={"contract"})  # not cached: vmath may change under it
def _exp_all(x, out):
    vmath.wide_vectors()
    for i in range(x.size):
        out[i] = vmath.exp(x[i])


@njit(error_model="numpy", fastmath={"contract"})  # not cached: vmath may change under it
def _log_all(x, out):
    vmath.wide_vectors()
    for i in range(x.size):
        out[i] = vmath.log(x[i])


def _values(dtype, lo: float, hi: float):
    width = 64 if dtype == np.float64 else 32
    return hnp.arrays(dtype, st.integers(1, 300),
                      elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=width))


def _relative_error_is_zero(what: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    assert np.all(theirs != 0) and np.all(np.isfinite(theirs)), "the draws stay inside the range"
    assert_close(f"{what}: ours / torch - 1", ours / theirs - 1.0, np.zeros_like(theirs), np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@given(data=st.data())
def test_exp_matches_torch(dtype, data):
    # e^x is a normal float64 on (-708.3, 709.7); subnormal results are checked exactly below
    x = data.draw(st.one_of(_values(dtype, -708.0, 709.0), _values(dtype, -1.0, 1.0)))
    ours = np.empty(x.shape)
    _exp_all(x, ours)
    _relative_error_is_zero("exp", ours, torch.exp(torch.from_numpy(x.astype(np.float64))).numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@given(data=st.data())
def test_log_matches_torch(dtype, data):
    tiny = float(np.finfo(dtype).tiny)
    x = data.draw(st.one_of(_values(dtype, tiny, float(np.finfo(dtype).max)), _values(dtype, 0.5, 2.0),
                            _values(dtype, tiny, 1.0)))
    x = x[np.abs(x.astype(np.float64) - 1.0) > 1e-3]  # log(1 + d) ~ d: judged apart, below
    if x.size == 0:
        return
    ours = np.empty(x.shape)
    _log_all(x, ours)
    _relative_error_is_zero("log", ours, torch.log(torch.from_numpy(x.astype(np.float64))).numpy())


def test_log_near_one_matches_torch():
    """Around 1, log is about x - 1: its absolute error is what the loss's sums see."""
    x = 1.0 + np.linspace(-1e-3, 1e-3, 2001)
    ours = np.empty_like(x)
    _log_all(x, ours)
    assert_close("log near 1", ours, torch.log(torch.from_numpy(x)).numpy(), np.float64)


def test_the_ends_of_the_ranges_agree_exactly():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, 709.8, 710.0, 1e308, -708.5, -720.0,
                  -745.1, -745.2, -800.0, -1e308, 5e-324, 1e-310, 2.2250738585072014e-308, -1.0, 1.0])
    t = torch.from_numpy(x)
    for name, kernel, theirs in (("exp", _exp_all, torch.exp(t)), ("log", _log_all, torch.log(t))):
        ours = np.empty_like(x)
        kernel(x, ours)
        np.testing.assert_array_equal(ours, theirs.numpy(), err_msg=f"{name} at {x}")
