"""The GEMM series (``kernels/cuda/gemm.py``): every step, every product, equal to the reference.

Small tile sizes make the simulator quick and still cover what the launch sizes do: several
blocks, partial tiles at every edge (no size is a multiple of a tile), the depth loop over more
than one slice. The launch sizes themselves run once each on a shape smaller than one tile.
"""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import on_device, within_rounding

from scratchnet.kernels.cuda import gemm
from scratchnet.kernels.reference import gemm as reference

PRODUCTS = {"gemm_nn": (False, False), "gemm_tn": (True, False), "gemm_nt": (False, True)}
SMALL = {1: gemm.naive(4), 2: gemm.tiled(4), 3: gemm.register_blocked(8, 8, 4, 2, 2)}


def _operands(name: str, M: int, K: int, N: int, dtype, seed: int):
    a_trans, b_trans = PRODUCTS[name]
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((K, M) if a_trans else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if b_trans else (K, N)).astype(dtype)
    return A, B, rng.standard_normal((M, N)).astype(dtype)


def _check(step: gemm.Step, name: str, A, B, out, beta: float) -> None:
    a_trans, b_trans = PRODUCTS[name]
    ref = getattr(reference, name)(A, B, out.copy(), beta)
    _, (_, _, _, _, _, got, _) = on_device(gemm.run, step, A, a_trans, B, b_trans, out, beta)
    a, b = (A.T if a_trans else A).astype(np.float64), (B.T if b_trans else B).astype(np.float64)
    scale = np.abs(a) @ np.abs(b) + abs(beta) * np.nan_to_num(np.abs(out.astype(np.float64)))
    within_rounding(got, ref, scale, terms=a.shape[1], same_order=True, what=f"{step.name} {name} beta={beta}")


@pytest.mark.parametrize("name", PRODUCTS)
@pytest.mark.parametrize("step", SMALL)
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_each_step_equals_the_reference_in_float64(step, name, beta):
    """beta 0: ``out`` starts as NaN, which must never be read; 0.5: it is scaled and added."""
    A, B, out = _operands(name, 9, 6, 5, np.float64, seed=step)
    if beta == 0.0:
        out[:] = np.nan
    _check(SMALL[step], name, A, B, out, beta)


@pytest.mark.parametrize("name", PRODUCTS)
@pytest.mark.parametrize("step", SMALL)
def test_each_step_equals_the_reference_in_float32(step, name):
    A, B, out = _operands(name, 6, 9, 9, np.float32, seed=10 + step)
    _check(SMALL[step], name, A, B, out, 1.0)


@pytest.mark.parametrize("name", PRODUCTS)
def test_the_launchers_at_their_own_tile_sizes(name):
    """``gemm_nn``/``gemm_tn``/``gemm_nt`` (step 3 at 128 x 128 x 8, 8 x 8 a thread) on one partial tile."""
    A, B, out = _operands(name, 5, 9, 7, np.float32, seed=3)
    ref = getattr(reference, name)(A, B, out.copy(), 1.0)
    _, (_, _, got, _) = on_device(getattr(gemm, name), A, B, out, 1.0)
    a, b = PRODUCTS[name]
    scale = np.abs(A.T if a else A) @ np.abs(B.T if b else B) + np.abs(out)
    within_rounding(got, ref, scale, terms=9, what=name)


@pytest.mark.parametrize("step", [1, 2])
def test_steps_one_and_two_at_their_own_tile_sizes(step):
    A, B, out = _operands("gemm_nn", 5, 17, 6, np.float64, seed=4)
    _check(gemm.STEPS[step], "gemm_nn", A, B, out, 1.0)


def test_an_empty_depth_gives_beta_times_out():
    A, B, out = _operands("gemm_nt", 3, 0, 4, np.float64, seed=5)
    _check(SMALL[3], "gemm_nt", A, B, out, 0.5)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy on inf - inf
@pytest.mark.parametrize("step", SMALL)
def test_non_finite_values_land_where_the_reference_puts_them(step):
    """inf and NaN in A: the padding of a partial tile (zeros) never meets them."""
    A, B, out = _operands("gemm_nn", 7, 6, 5, np.float64, seed=6)
    A[1, 2], A[4, 0], A[6, 5] = np.inf, -np.inf, np.nan
    _check(SMALL[step], "gemm_nn", A, B, out, 0.0)
