"""The direct convolution kernels, both tiers, against torch, at the model shapes and at odd ones.

``test_conv_parity.py`` draws small configurations through ``Conv2d``; here the kernels are
called directly with what the zoo's layers give them: more than one micro-tile of channels
(20, 40, 64), output rows that do not fill a vector (7, 14, 24), depths of 9 to 800, batches
big enough to take the threaded path, and the float64 gate beside the float32 smoke test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import DTYPES, assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnet import kernels
from scratchnet.kernels.ops import conv2d_backward_input, conv2d_backward_weight, conv2d_forward

dtype_ids = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
tier_ids = pytest.mark.parametrize("tier", ["fast", "reference"])

# (N, C, H, C_out, k, pad): book_conv's two layers at mini-batch 10, fashion_cnn's three at 16
# (threaded: over ~4 MFLOP), and shapes whose padded rows end mid-vector.
MODEL_SHAPES = [(10, 1, 28, 20, 5, 0), (10, 20, 12, 40, 5, 0), (16, 1, 28, 32, 3, 1),
                (16, 32, 14, 64, 3, 1), (16, 64, 7, 64, 3, 1), (3, 5, 9, 11, 4, 2), (2, 3, 6, 17, 1, 0)]


def check(N: int, C: int, H: int, Co: int, k: int, pad: int, dtype, seed: int, tier: str = "fast") -> None:
    """Forward, dX and dW (accumulated onto a non-zero gradient) against torch's conv2d, on ``tier``."""
    with kernels.use(tier):
        _check(N, C, H, Co, k, pad, dtype, seed)


def _check(N: int, C: int, H: int, Co: int, k: int, pad: int, dtype, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, C, H, H + 1)).astype(dtype)          # non-square on purpose
    W = rng.standard_normal((Co, C, k, k)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype)
    Xt, Wt = torch.from_numpy(X).requires_grad_(), torch.from_numpy(W).requires_grad_()
    Yt = torch.nn.functional.conv2d(Xt, Wt, torch.from_numpy(b), padding=pad)
    dY = rng.standard_normal(tuple(Yt.shape)).astype(dtype)
    Yt.backward(torch.from_numpy(dY))

    Y = conv2d_forward(X, W, b, pad, np.full(tuple(Yt.shape), np.nan, dtype))
    assert_close("conv2d_forward", Y, Yt, dtype, k_terms=C * k * k)
    dX = conv2d_backward_input(dY, W, pad, np.full(X.shape, np.nan, dtype))
    assert_close("conv2d_backward_input", dX, Xt.grad, dtype, kind="grad", k_terms=Co * k * k)
    dW0 = rng.standard_normal(W.shape).astype(dtype)
    dW = conv2d_backward_weight(X, dY, pad, dW0.copy())
    positions = N * Yt.shape[2] * Yt.shape[3]
    assert_close("conv2d_backward_weight (accumulated)", dW - dW0, Wt.grad, dtype, kind="grad",
                 k_terms=positions)


@tier_ids
@dtype_ids
@pytest.mark.parametrize("shape", MODEL_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_direct_conv_at_model_shapes(shape, dtype, tier) -> None:
    check(*shape, dtype, seed=sum(shape), tier=tier)


@tier_ids
@dtype_ids
@settings(max_examples=15)
@given(N=st.integers(1, 3), C=st.integers(1, 12), H=st.integers(1, 20), Co=st.integers(1, 40),
       k=st.integers(1, 5), data=st.data())
def test_direct_conv_drawn(N: int, C: int, H: int, Co: int, k: int, dtype, tier, data) -> None:
    """Any stride-1 configuration the direct kernels accept: padding up to k - 1."""
    pad = data.draw(st.integers(max(0, (k - H + 1) // 2), k - 1), label="pad")
    check(N, C, H, Co, k, pad, dtype, seed=data.draw(st.integers(0, 2**31 - 1), label="seed"), tier=tier)
