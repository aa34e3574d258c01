"""Every scratchnet.nn module and zoo model against torch.nn: forward and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from parity_harness import DEVICE, DTYPES, arrays, assert_close, to_torch, upstream
from registry import MODULES

from scratchnet import models as smodels
from torchnet import models as tmodels

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def run_pair(ours, theirs, X: np.ndarray, dtype, seed: int) -> None:
    """Copy torch's weights into ours, then compare output, dX and every parameter's gradient."""
    theirs = theirs.to(DEVICE, TORCH_DTYPE[dtype])
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})
    Y = ours(X)
    Xt = to_torch(X, requires_grad=True)
    Yt = theirs(Xt)
    assert Y.shape == tuple(Yt.shape), f"declared output shape {tuple(Yt.shape)}, got {Y.shape}"
    assert_close(f"{type(ours).__name__} output", Y, Yt, dtype, "forward", k_terms=X[0].size)
    g = upstream(Y.shape, dtype, seed)
    dX = ours.backward(g)
    Yt.backward(to_torch(g))
    assert_close(f"{type(ours).__name__} dX", dX, Xt.grad, dtype, "grad", k_terms=Y[0].size)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(f"{type(ours).__name__} d{name}", p.grad, grads[name].grad, dtype, "grad", k_terms=len(X))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(MODULES))
@given(data=st.data())
def test_module(name: str, dtype, data) -> None:
    case = MODULES[name]
    ours, theirs, shape = case.build(data.draw, dtype)
    X = data.draw(arrays(shape, dtype, case.lo, case.hi), label="X")
    run_pair(ours, theirs, X, dtype, seed=data.draw(st.integers(0, 2**31 - 1), label="seed"))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_relu_at_exactly_zero(dtype) -> None:
    """ReLU'(0) = 0 in both libraries, checked on exact zeros (and both signs of zero)."""
    X = np.array([[0.0, -0.0, 1.5, -2.0, 0.0]], dtype=dtype)
    import scratchnet.nn as snn

    run_pair(snn.ReLU(), torch.nn.ReLU(), X, dtype, seed=1)
    assert (snn.ReLU().forward(X) == 0).sum() == 4


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_softmax_extreme_logits(dtype) -> None:
    X = np.array([[700.0, -700.0, 0.0], [-700.0, -699.0, -698.0]], dtype=dtype)
    import scratchnet.nn as snn

    run_pair(snn.Softmax(1), torch.nn.Softmax(1), X, dtype, seed=2)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(smodels.SPECS))
def test_zoo_model(name: str, dtype) -> None:
    """Same state_dict keys and shapes; same output and gradients with torch's weights."""
    ours, theirs = smodels.build(name, dtype=dtype), tmodels.build(name)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_o) == list(sd_t)
    assert all(sd_o[k].shape == tuple(sd_t[k].shape) for k in sd_o)
    X = np.random.default_rng(0).random((7, 1, 28, 28)).astype(dtype)
    run_pair(ours, theirs, X, dtype, seed=3)
