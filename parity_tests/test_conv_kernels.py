"""The direct convolution kernels, both tiers, against torch, at the model shapes and at odd ones.

``test_conv_parity.py`` draws small configurations through ``Conv2d``; here the kernels are
called directly with what the zoo's layers give them: more than one micro-tile of channels
(20, 40, 64), output rows that do not fill a vector (7, 14, 24), depths of 9 to 800, batches
big enough to take the threaded path, rectangular kernels with their own padding per dimension,
and the float64 gate beside the float32 smoke test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import DTYPES, assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnet import kernels
from scratchnet.kernels import ops

dtype_ids = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
tier_ids = pytest.mark.parametrize("tier", ["fast", "reference"])

# (N, C, H, C_out, (kh, kw), (ph, pw)): book_conv's two layers at mini-batch 10, fashion_cnn's
# three at 16 (threaded: over ~4 MFLOP), shapes whose padded rows end mid-vector, and rectangular
# kernels with their own padding per dimension (a 1x7 / 7x1 pair as Inception's, a 3x2).
MODEL_SHAPES = [(10, 1, 28, 20, (5, 5), (0, 0)), (10, 20, 12, 40, (5, 5), (0, 0)), (16, 1, 28, 32, (3, 3), (1, 1)),
                (16, 32, 14, 64, (3, 3), (1, 1)), (16, 64, 7, 64, (3, 3), (1, 1)), (3, 5, 9, 11, (4, 4), (2, 2)),
                (2, 3, 6, 17, (1, 1), (0, 0)), (4, 6, 12, 10, (1, 7), (0, 3)), (4, 6, 12, 10, (7, 1), (3, 0)),
                (3, 4, 9, 13, (3, 2), (1, 0))]


def check(N: int, C: int, H: int, Co: int, k: tuple[int, int], pad: tuple[int, int], dtype, seed: int,
          tier: str = "fast") -> None:
    """Forward, dX and dW (accumulated onto a non-zero gradient) against torch's conv2d, on ``tier``."""
    with kernels.use(tier):
        assert ops.conv2d_forward is ops.TWINS["conv2d_forward"][tier == "fast"]  # the tier asked for runs
        _check(N, C, H, Co, k, pad, dtype, seed)


def _check(N: int, C: int, H: int, Co: int, k: tuple[int, int], pad: tuple[int, int], dtype, seed: int) -> None:
    (kh, kw), (ph, pw) = k, pad
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, C, H, H + 1)).astype(dtype)          # non-square on purpose
    W = rng.standard_normal((Co, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype)
    Xt, Wt = torch.from_numpy(X).requires_grad_(), torch.from_numpy(W).requires_grad_()
    Yt = torch.nn.functional.conv2d(Xt, Wt, torch.from_numpy(b), padding=(ph, pw))
    dY = rng.standard_normal(tuple(Yt.shape)).astype(dtype)
    Yt.backward(torch.from_numpy(dY))

    Y = ops.conv2d_forward(X, W, b, ph, pw, np.full(tuple(Yt.shape), np.nan, dtype))
    assert_close("conv2d_forward", Y, Yt, dtype, k_terms=C * kh * kw)
    dX = ops.conv2d_backward_input(dY, W, ph, pw, np.full(X.shape, np.nan, dtype))
    assert_close("conv2d_backward_input", dX, Xt.grad, dtype, kind="grad", k_terms=Co * kh * kw)
    dW0 = rng.standard_normal(W.shape).astype(dtype)
    dW = ops.conv2d_backward_weight(X, dY, ph, pw, dW0.copy())
    positions = N * Yt.shape[2] * Yt.shape[3]
    assert_close("conv2d_backward_weight (accumulated)", dW - dW0, Wt.grad, dtype, kind="grad",
                 k_terms=positions)


@tier_ids
@dtype_ids
@pytest.mark.parametrize("shape", MODEL_SHAPES,
                         ids=lambda s: "x".join(str(v) if isinstance(v, int) else "{}.{}".format(*v) for v in s))
def test_direct_conv_at_model_shapes(shape, dtype, tier) -> None:
    check(*shape, dtype, seed=sum(shape[:4]) + sum(shape[4]) + sum(shape[5]), tier=tier)


@tier_ids
@dtype_ids
@settings(max_examples=15)
@given(N=st.integers(1, 3), C=st.integers(1, 12), H=st.integers(1, 20), Co=st.integers(1, 40),
       kh=st.integers(1, 5), kw=st.integers(1, 5), data=st.data())
def test_direct_conv_drawn(N: int, C: int, H: int, Co: int, kh: int, kw: int, dtype, tier, data) -> None:
    """Any stride-1 configuration the direct kernels accept: rectangular, padding up to k - 1 per dimension
    (the input is H x (H + 1), so each padded side must hold its kernel)."""
    ph = data.draw(st.integers(max(0, (kh - H + 1) // 2), kh - 1), label="ph")
    pw = data.draw(st.integers(max(0, (kw - H) // 2), kw - 1), label="pw")
    check(N, C, H, Co, (kh, kw), (ph, pw), dtype, seed=data.draw(st.integers(0, 2**31 - 1), label="seed"), tier=tier)
