"""Every ``scratchnet.nn`` module and zoo model against torch (``registry.MODULES``, ``MODELS``).

torch's weights are copied into ours (``.numpy()`` only), then the output, the declared output
shape, ``dX`` and every parameter's gradient are compared under one random upstream gradient
with distinct values. float64 is the gate, float32 the smoke test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import (
    DESIGN_TOL,
    DEVICE,
    TORCH_DTYPE,
    Tolerances,
    assert_close,
    assert_equal,
    copy_torch_weights,
    dtypes,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st
from registry import MODELS, MODULES
from strategies import arrays, seeds, upstream

import scratchnet.nn as snn

__all__ = ["TORCH_DTYPE", "run_pair"]  # test_conv_parity.py reuses them


def run_pair(ours, theirs: torch.nn.Module, X: np.ndarray, dtype, seed: int,
             out_shape: tuple[int, ...] | None = None, k_terms: int | None = None,
             tol: Tolerances = DESIGN_TOL) -> None:
    """Copy torch's weights into ours; compare the output, ``dX`` and every parameter's gradient.

    ``out_shape`` is the declared output shape both must produce; ``k_terms`` the forward's
    reduction length (default: one input sample's size). Parameter gradients sum over the batch.
    """
    what = type(ours).__name__
    theirs = theirs.to(DEVICE, TORCH_DTYPE[dtype])
    copy_torch_weights(ours, theirs)
    Y = ours(X)
    Xt = to_torch(X, requires_grad=True)
    Yt = theirs(Xt)
    if out_shape is not None:
        assert Y.shape == tuple(out_shape) == tuple(Yt.shape), (
            f"{what}: declared output shape {tuple(out_shape)}, scratchnet {Y.shape}, "
            f"torch {tuple(Yt.shape)}")
    assert_close(f"{what} output", Y, Yt, dtype, "forward", k_terms or X[0].size, tol)
    g = upstream(Y.shape, dtype, seed)
    dX = ours.backward(g)
    Yt.backward(to_torch(g))
    assert_close(f"{what} dX", dX, Xt.grad, dtype, "grad", max(1, Y[0].size if Y.ndim else 1), tol)
    theirs_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == list(theirs_params), (
        f"{what}: parameters\n  scratchnet {list(ours_params)}\n  torch      {list(theirs_params)}")
    for name, p in ours_params.items():
        ref = theirs_params[name].grad
        assert_close(f"{what} d{name}", p.grad, ref, dtype, "grad", len(X), tol)


@dtypes
@pytest.mark.parametrize("name", sorted(MODULES))
@given(data=st.data())
def test_module(name: str, dtype, data) -> None:
    """A drawn configuration and unique inputs: output, declared shape, dX, parameter grads."""
    e = MODULES[name]
    cfg = data.draw(e.configs, label="config")
    ours, theirs = e.ours(cfg, dtype), e.theirs(cfg)
    X = data.draw(arrays(cfg["input_shape"], dtype, e.lo, e.hi), label="X")
    seed = data.draw(seeds(), label="upstream seed")
    run_pair(ours, theirs, X, dtype, seed, e.out_shape(cfg), e.k_terms(cfg), e.tol)


@dtypes
@pytest.mark.parametrize("name", sorted(MODELS))
@given(data=st.data())
def test_zoo_model(name: str, dtype, data) -> None:
    """Same state_dict keys and shapes; same output, dX and gradients with torch's weights."""
    e = MODELS[name]
    cfg = data.draw(e.configs, label="config")
    ours, theirs = e.ours(dtype=dtype), e.theirs()
    shape = (cfg["N"], 1, 28, 28) if cfg["images"] else (cfg["N"], 784)
    X = np.random.default_rng(cfg["seed"]).random(shape).astype(dtype)
    run_pair(ours, theirs, X, dtype, cfg["seed"] + 1, (cfg["N"], e.out_features), e.k_terms, e.tol)


# ----------------------------------------------------------------------- kinks and extremes, exact


@dtypes
def test_relu_module_at_exactly_zero(dtype) -> None:
    """``ReLU'(0) = 0`` in both: exact zeros (both signs) give exactly equal values and grads."""
    X = np.array([[0.0, -0.0, 1.5, -2.0, 0.0]], dtype=dtype)
    g = np.array([[3.0, -1.0, 2.0, 0.5, -4.0]], dtype=dtype)
    ours = snn.ReLU()
    Xt = to_torch(X, requires_grad=True)
    Yt = torch.relu(Xt)
    Yt.backward(to_torch(g))
    assert_equal("ReLU output at 0", ours(X), Yt)
    assert_equal("ReLU dX at 0", ours.backward(g), Xt.grad)
    assert ours.backward(g)[0].tolist() == [0.0, 0.0, 2.0, 0.0, 0.0]


@dtypes
def test_softmax_module_at_700(dtype) -> None:
    X = np.array([[700.0, -700.0, 0.0], [-700.0, -699.0, -698.0], [700.0, 700.0, 700.0]],
                 dtype=dtype)
    run_pair(snn.Softmax(1), torch.nn.Softmax(1), X, dtype, seed=2, out_shape=X.shape, k_terms=3)
