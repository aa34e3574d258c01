"""The losses (``kernels/cuda/losses.py``) and the VAE's KL against their CPU kernels: value,
gradient, and the index of the first non-finite input (or bad label) they report."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import twins, within_rounding

from scratchnet.kernels import losses as reference
from scratchnet.kernels import vae as reference_vae
from scratchnet.kernels.cuda import losses as cuda_losses
from scratchnet.kernels.cuda import vae as cuda_vae

DTYPES = [np.float64, np.float32]


def _probabilities(shape, dtype, seed=0):
    """Predictions in (0, 1) with the edges put in (0 and 1 exactly: the logs' clamps) and targets."""
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.01, 0.99, shape)
    A.flat[:2] = [0.0, 1.0]
    Y = rng.uniform(0, 1, shape)
    Y.flat[:2] = [1.0, 1.0]  # ln 0 met with weight 1 (clamped by BCE, inf -> big in the book's) and 0
    return A.astype(dtype), Y.astype(dtype)


# the simulator's threads compute on NumPy scalars, outside the test's np.errstate (it is per
# thread): 0 * ln 0 and NaN inputs warn there
QUIET = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")


CASES = {  # name: the arguments between Y and dA
    "quadratic_cost": (), "mse_loss": (), "bce_loss": (), "cross_entropy_cost": ("big",),
}


@QUIET
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_value_gradient_and_no_bad_index(name, dtype):
    A, Y = _probabilities((6, 45), dtype)  # 45 columns: a 64-thread block per row
    big = [float(np.finfo(dtype).max)] if CASES[name] else []
    (ref, (*_, ref_grad)), (got, (*_, got_grad)) = twins(getattr(reference, name), getattr(cuda_losses, name),
                                                         A, Y, *big, np.full_like(A, np.nan))
    assert got[1] == ref[1] == -1
    within_rounding(got_grad, ref_grad, np.abs(ref_grad), what=f"{name} gradient")
    if name == "cross_entropy_cost":  # the term with inf -> big dominates: compare the value relative to it
        within_rounding(got[0], ref[0], abs(ref[0]), terms=A.size, what=name, dtype=dtype)
    else:
        within_rounding(np.float64(got[0]), np.float64(ref[0]), abs(ref[0]), terms=A.size, what=name, dtype=dtype)


@QUIET
@pytest.mark.parametrize("name", CASES)
def test_the_first_non_finite_input_is_reported(name):
    A, Y = _probabilities((4, 9), np.float64, seed=1)
    A[2, 7], A[1, 3], Y[3, 0] = np.nan, np.inf, -np.inf  # the first in flat order is (1, 3)
    big = [float(np.finfo(A.dtype).max)] if CASES[name] else []
    with np.errstate(invalid="ignore"):
        (ref, _), (got, _) = twins(getattr(reference, name), getattr(cuda_losses, name), A, Y, *big, np.empty_like(A))
    assert got[1] == ref[1] == 1 * 9 + 3


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy(dtype):
    rng = np.random.default_rng(2)
    Z = (rng.standard_normal((5, 11)) * 4).astype(dtype)
    y = rng.integers(0, 11, 5)
    (ref, (*_, ref_dz)), (got, (*_, got_dz)) = twins(reference.softmax_cross_entropy, cuda_losses.softmax_cross_entropy,
                                                     Z, y, np.empty_like(Z))
    assert got[1:] == ref[1:] == (-1, -1)
    within_rounding(got_dz, ref_dz, np.abs(ref_dz) + 1.0 / 5, terms=11, what="dZ")
    within_rounding(np.float64(got[0]), np.float64(ref[0]), np.abs(Z).max() * 2, terms=11 * 5, what="value",
                    dtype=dtype)


@QUIET
def test_softmax_cross_entropy_reports_bad_labels_and_logits():
    """Row 3's label is out of range (skipped, as the reference skips it); row 1 holds inf."""
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((5, 4))
    Z[1, 2], Z[4, 0] = np.inf, np.nan
    y = np.array([0, 1, 2, 7, -1])
    with np.errstate(invalid="ignore"):
        (ref, _), (got, _) = twins(reference.softmax_cross_entropy, cuda_losses.softmax_cross_entropy, Z, y,
                                   np.zeros_like(Z))
    assert got[1:] == ref[1:] == (1 * 4 + 2, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_kl(dtype):
    rng = np.random.default_rng(4)
    mu, logvar = rng.standard_normal((6, 3)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    (ref, (*_, rdmu, rdlv)), (got, (*_, gdmu, gdlv)) = twins(reference_vae.gaussian_kl, cuda_vae.gaussian_kl,
                                                             mu, logvar, 0.25, np.empty_like(mu), np.empty_like(mu))
    within_rounding(gdmu, rdmu, np.abs(rdmu), same_order=True, what="dmu")
    within_rounding(gdlv, rdlv, 0.25 * (np.exp(logvar.astype(np.float64)) + 1), what="dlogvar")
    terms = 1 + np.abs(logvar) + mu.astype(np.float64) ** 2 + np.exp(logvar.astype(np.float64))
    within_rounding(np.float64(got), np.float64(ref), terms.sum(), terms=mu.size, what="KL", dtype=dtype)
