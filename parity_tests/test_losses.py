"""Each ``scratchnet.losses`` loss against its torch form (``registry.LOSSES``): value, dC/dy_hat.

A loss is a scalar, so its upstream gradient is dC/dC = 1; what is compared element by element
is the gradient with respect to every (distinct) prediction. Saturated and extreme inputs are
tested on purpose with exact values.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, dtypes, to_torch
from hypothesis import given
from hypothesis import strategies as st
from registry import LOSSES

from scratchnet import losses as sl


def compare(name: str, y_hat: np.ndarray, y: np.ndarray, dtype, check_grad: bool = True) -> None:
    """Run ``LOSSES[name]`` in both libraries on ``(y_hat, y)`` and compare value and gradient."""
    e = LOSSES[name]
    loss = e.ours()
    value = loss(y_hat, y)
    assert isinstance(value, float), f"{name}: value is a {type(value).__name__}, not a float"
    yt = to_torch(y_hat, requires_grad=True)
    ref = e.theirs(yt, to_torch(y))
    assert_close(f"{name} value", np.float64(value), ref, dtype, "forward", y_hat.size, e.tol)
    if check_grad:
        ref.backward()
        grad = loss.backward()
        assert grad.shape == y_hat.shape and grad.dtype == y_hat.dtype, (
            f"{name}: gradient {grad.dtype} {grad.shape}, predictions {y_hat.dtype} {y_hat.shape}")
        assert_close(f"{name} gradient", grad, yt.grad, dtype, "grad", 1, e.tol)


@dtypes
@pytest.mark.parametrize("name", sorted(LOSSES))
@given(data=st.data())
def test_loss(name: str, dtype, data) -> None:
    y_hat, y = data.draw(LOSSES[name].cases(dtype), label="y_hat, y")
    compare(name, y_hat, y, dtype)


@dtypes
def test_cross_entropy_loss_at_700(dtype) -> None:
    """Logits of +-700, the right class far below or far above the others."""
    z = np.array([[700.0, -700.0, 0.0], [-700.0, -699.0, -698.0], [700.0, 700.0, 700.0],
                  [-700.0, 700.0, 0.0]], dtype=dtype)
    compare("CrossEntropyLoss", z, np.array([1, 0, 2, 1]), dtype)
    compare("CrossEntropyLoss", z, np.array([0, 2, 1, 0]), dtype)


@dtypes
def test_bce_loss_at_exactly_0_and_1(dtype) -> None:
    """torch clamps ``ln`` at -100 and ``a (1 - a)`` at 1e-12 in the gradient: the same here."""
    a = np.array([[0.0, 1.0, 0.0, 1.0, 0.5]], dtype=dtype)
    y = np.array([[0.0, 1.0, 1.0, 0.0, 0.25]], dtype=dtype)
    compare("BCELoss", a, y, dtype)


@pytest.mark.parametrize("a,y", [(1.0, 1.0), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])
def test_book_cross_entropy_nan_to_num(a: float, y: float) -> None:
    """The book's ``nan_to_num``: ``0 ln 0 -> 0``, ``ln 0 -> -big``; the same formula in torch."""
    A = np.array([[a, 0.25]], dtype=np.float64)
    Y = np.array([[y, 0.0]], dtype=np.float64)
    compare("CrossEntropyCost", A, Y, np.float64, check_grad=False)
    assert np.isfinite(sl.CrossEntropyCost()(A, Y))


def test_book_cross_entropy_is_bce_away_from_saturation() -> None:
    """Off the saturated ends the book's cost equals ``BCELoss(reduction="sum") / N``."""
    rng = np.random.default_rng(0)
    A = rng.uniform(0.01, 0.99, (5, 4))
    Y = np.eye(4)[rng.integers(0, 4, 5)]
    ref = torch.nn.functional.binary_cross_entropy(to_torch(A), to_torch(Y), reduction="sum") / 5
    value = np.float64(sl.CrossEntropyCost()(A, Y))
    assert_close("CrossEntropyCost vs BCE-sum / N", value, ref, np.float64, "forward", A.size)
