"""Convolution and pooling (``kernels/cuda/conv.py``, ``pool.py``) against the reference tier:
rectangular kernels, the paddings the zoo uses and uneven ones, max-pool ties."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import twins, within_rounding

from scratchnet.kernels import pool as reference_pool
from scratchnet.kernels.cuda import conv as cuda_conv
from scratchnet.kernels.cuda import pool as cuda_pool
from scratchnet.kernels.reference import conv as reference_conv

DTYPES = [np.float64, np.float32]
# (N, C, C_out, H, W, kh, kw, ph, pw): a rectangular kernel with 'same'-like padding on one axis
# only, and a square one with the zoo's padding (5 x 5, pad 2 in fashion_cnn: here 3 x 3, pad 1)
CONVS = [(2, 1, 2, 4, 3, 2, 3, 1, 1), (1, 2, 1, 4, 4, 3, 3, 1, 1), (2, 1, 2, 5, 3, 3, 2, 0, 0)]


def _conv_arrays(N, C, Co, H, W, kh, kw, ph, pw, dtype, seed=0):
    rng = np.random.default_rng(seed)
    Ho, Wo = H + 2 * ph - kh + 1, W + 2 * pw - kw + 1
    X = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((Co, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype)
    dY = rng.standard_normal((N, Co, Ho, Wo)).astype(dtype)
    return X, Wt, b, dY


@pytest.mark.parametrize("shape, dtype", [(s, np.float64) for s in CONVS] + [(CONVS[0], np.float32)])
def test_convolution_and_its_gradients(shape, dtype):
    """One block per weight for the weight gradient: the simulator's slowest kernel, hence few shapes."""
    N, C, Co, H, W, kh, kw, ph, pw = shape
    X, Wt, b, dY = _conv_arrays(*shape, dtype)
    (_, (*_, ref)), (_, (*_, got)) = twins(reference_conv.conv2d_forward, cuda_conv.conv2d_forward,
                                           X, Wt, b, ph, pw, np.full(dY.shape, np.nan, dtype))
    scale = np.abs(reference_conv.conv2d_forward(np.abs(X), np.abs(Wt), np.abs(b), ph, pw, np.empty(dY.shape)))
    within_rounding(got, ref, scale, terms=C * kh * kw, same_order=True, what=f"forward {shape}")

    (_, (*_, ref)), (_, (*_, got)) = twins(reference_conv.conv2d_backward_input, cuda_conv.conv2d_backward_input,
                                           dY, Wt, ph, pw, np.full(X.shape, np.nan, dtype))
    scale = reference_conv.conv2d_backward_input(np.abs(dY), np.abs(Wt), ph, pw, np.empty(X.shape))
    within_rounding(got, ref, scale, terms=Co * kh * kw, same_order=True, what=f"input grad {shape}")

    dW0 = np.random.default_rng(9).standard_normal(Wt.shape).astype(dtype)  # accumulated into
    (_, (*_, ref)), (_, (*_, got)) = twins(reference_conv.conv2d_backward_weight, cuda_conv.conv2d_backward_weight,
                                           X, dY, ph, pw, dW0)
    scale = reference_conv.conv2d_backward_weight(np.abs(X), np.abs(dY), ph, pw, np.abs(dW0).astype(np.float64))
    within_rounding(got, ref, scale, terms=dY[:, 0].size, what=f"weight grad {shape}")


# (kh, kw, sh, sw, ph, pw): the zoo's 2 x 2 / 2, overlapping 3 x 3 / 1 with padding, rectangular
POOLS = [(2, 2, 2, 2, 0, 0), (3, 3, 1, 1, 1, 1), (2, 3, 1, 2, 1, 0)]


def _out_shape(X, kh, kw, sh, sw, ph, pw):
    N, C, H, W = X.shape
    return N, C, (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("window", POOLS)
def test_max_pool_picks_the_reference_winner_on_ties(window, dtype):
    """Values from {0, 1, 2}: most windows hold their maximum twice or more; the first in row-major
    window order wins (the reference's, PyTorch's rule) and alone receives the gradient."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, (2, 2, 5, 6)).astype(dtype)
    shape = _out_shape(X, *window)
    out, argmax = np.empty(shape, dtype), np.full(shape, -7, np.int64)
    (_, (*_, ref_out, ref_arg)), (_, (*_, got_out, got_arg)) = twins(
        reference_pool.maxpool_forward, cuda_pool.maxpool_forward, X, *window, out, argmax)
    assert np.array_equal(got_arg, ref_arg) and np.array_equal(got_out, ref_out)
    dY = rng.permutation(np.prod(shape)).reshape(shape).astype(dtype) / 7
    (_, (*_, ref)), (_, (*_, got)) = twins(reference_pool.maxpool_backward, cuda_pool.maxpool_backward,
                                           dY, ref_arg, np.full(X.shape, np.nan, dtype))
    overlap = window[0] > window[2] or window[1] > window[3]  # shared winners add in the hardware's order
    scale = reference_pool.maxpool_backward(np.abs(dY), ref_arg, np.empty(X.shape, dtype))
    within_rounding(got, ref, scale, terms=window[0] * window[1], same_order=not overlap, what=f"max {window}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("window", POOLS)
def test_average_pool_forward_and_backward(window, dtype):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2, 2, 5, 6)).astype(dtype)
    shape = _out_shape(X, *window)
    (_, (*_, ref)), (_, (*_, got)) = twins(reference_pool.avgpool_forward, cuda_pool.avgpool_forward,
                                           X, *window, np.empty(shape, dtype))
    scale = reference_pool.avgpool_forward(np.abs(X), *window, np.empty(shape))
    within_rounding(got, ref, scale, terms=window[0] * window[1], same_order=True, what=f"avg {window}")
    dY = rng.standard_normal(shape).astype(dtype)
    (_, (*_, ref)), (_, (*_, got)) = twins(reference_pool.avgpool_backward, cuda_pool.avgpool_backward,
                                           dY, *window, np.full(X.shape, np.nan, dtype))
    scale = reference_pool.avgpool_backward(np.abs(dY), *window, np.empty(X.shape))
    within_rounding(got, ref, scale, terms=window[0] * window[1], same_order=True, what=f"avg grad {window}")
