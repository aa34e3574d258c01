"""Convolution, pooling, BatchNorm and Dropout against torch.nn, over drawn configurations.

Hypothesis draws batch, channels, sizes, rectangular kernels up to the padded size, strides and
padding per dimension (each given as an int or a pair, as PyTorch takes them) and non-divisible
output sizes; BatchNorm runs several training steps then evaluation, with the
running statistics compared after each; Dropout shares one mask between the libraries (its
randomness is tested on scratchnet's own draws in ``tests/``). Every comparison's ``sqrt(K)`` is
the operation's own sum length (``helpers.conv_terms`` and friends).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import DEVICE, DTYPES, assert_close, batchnorm_terms, conv_terms, pool_terms, to_torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, upstream
from test_modules import TORCH_DTYPE, run_pair

from scratchnet.kernels.conv import out_size
from scratchnet.nn.conv import AvgPool2d, Conv2d, MaxPool2d
from scratchnet.nn.normalization import BatchNorm1d, BatchNorm2d, Dropout

dtype_ids = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)


def int_or_pair(h: int, w: int, draw) -> int | tuple[int, int]:
    """``h`` when the two are equal and Hypothesis says so, else the pair: both spellings get tested."""
    return h if h == w and draw(st.booleans()) else (h, w)


@st.composite
def conv_configs(draw):
    """Rectangular kernels, and stride and padding per dimension, each given as an int or a pair."""
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H = draw(st.integers(max(1, kh - 2 * ph), 9))
    W = draw(st.integers(max(1, kw - 2 * pw), 9))
    return dict(N=draw(st.integers(1, 3)), C=draw(st.integers(1, 4)), Co=draw(st.integers(1, 5)), H=H, W=W,
                kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, k=int_or_pair(kh, kw, draw), stride=int_or_pair(sh, sw, draw),
                pad=int_or_pair(ph, pw, draw), bias=draw(st.booleans()))


@dtype_ids
@given(cfg=conv_configs(), data=st.data())
def test_conv2d(dtype, cfg, data) -> None:
    c = cfg
    ours = Conv2d(c["C"], c["Co"], c["k"], c["stride"], c["pad"], c["bias"], dtype=dtype)
    if ours.algorithm == "direct":  # where both algorithms apply, either may be asked for
        ours.algorithm = data.draw(st.sampled_from(["direct", "im2col"]), label="algorithm")
    theirs = torch.nn.Conv2d(c["C"], c["Co"], c["k"], c["stride"], c["pad"], bias=c["bias"])
    assert (ours.kernel_size, ours.stride, ours.padding) == (theirs.kernel_size, theirs.stride, theirs.padding)
    X = data.draw(arrays((c["N"], c["C"], c["H"], c["W"]), dtype), label="X")
    Ho, Wo = out_size(c["H"], c["kh"], c["sh"], c["ph"]), out_size(c["W"], c["kw"], c["sw"], c["pw"])
    terms = conv_terms(c["C"], c["Co"], c["kh"], c["kw"], (c["sh"], c["sw"]), c["N"], Ho, Wo)
    run_pair(ours, theirs, X, dtype, seed=data.draw(st.integers(0, 2**31 - 1)), k_terms=terms)


@st.composite
def pool_configs(draw):
    """Rectangular windows, stride and padding per dimension (padding at most half the window, PyTorch's
    rule), each an int or a pair; the stride left out (None: the window) now and then."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = None if draw(st.integers(0, 4)) == 0 else int_or_pair(sh, sw, draw)
    if stride is None:
        sh, sw = kh, kw
    return dict(kh=kh, kw=kw, sh=sh, sw=sw, k=int_or_pair(kh, kw, draw), stride=stride, pad=int_or_pair(ph, pw, draw),
                H=draw(st.integers(max(1, kh - 2 * ph), 9)), W=draw(st.integers(max(1, kw - 2 * pw), 9)),
                N=draw(st.integers(1, 3)), C=draw(st.integers(1, 3)))


@dtype_ids
@pytest.mark.parametrize("kind", ["max", "avg"])
@given(cfg=pool_configs(), data=st.data())
def test_pool(kind: str, dtype, cfg, data) -> None:
    c = cfg
    ours = (MaxPool2d if kind == "max" else AvgPool2d)(c["k"], c["stride"], c["pad"])
    theirs = (torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d)(c["k"], c["stride"], c["pad"])
    assert (ours.kernel_size, ours.stride, ours.padding) == (theirs.kernel_size, theirs.stride, theirs.padding)
    X = data.draw(arrays((c["N"], c["C"], c["H"], c["W"]), dtype), label="X")
    run_pair(ours, theirs, X, dtype, seed=data.draw(st.integers(0, 2**31 - 1)),
             k_terms=pool_terms(kind, (c["kh"], c["kw"]), (c["sh"], c["sw"])))


@dtype_ids
def test_maxpool_ties_go_to_one_index(dtype) -> None:
    """Exact ties: a window of equal values sends its whole gradient to the first, as torch does."""
    X = np.zeros((1, 2, 4, 4), dtype)
    X[0, 1, :2, :2] = 3.0
    X[0, 1, 2:, 2:] = [[1.0, 1.0], [1.0, 1.0]]
    run_pair(MaxPool2d(2, 2), torch.nn.MaxPool2d(2, 2), X, dtype, seed=4, k_terms=pool_terms("max", 2, 2))
    pool = MaxPool2d(2, 2)
    pool(X)
    dX = pool.backward(np.ones((1, 2, 2, 2), dtype))
    assert dX.sum() == 8 and dX[0, 1, 0, 0] == 1 and dX[0, 1, 0, 1] == 0


@dtype_ids
@pytest.mark.parametrize("two_d", [False, True], ids=["BatchNorm1d", "BatchNorm2d"])
@given(data=st.data())
def test_batchnorm_steps_then_eval(two_d: bool, dtype, data) -> None:
    C = data.draw(st.integers(1, 5), label="C")
    shape = (data.draw(st.integers(2, 6)), C) + ((data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
                                                   if two_d else ())
    ours = (BatchNorm2d if two_d else BatchNorm1d)(C, dtype=dtype)
    bn_terms = batchnorm_terms(shape[0], int(np.prod(shape[2:], dtype=np.int64)))
    theirs = (torch.nn.BatchNorm2d if two_d else torch.nn.BatchNorm1d)(C).to(DEVICE, TORCH_DTYPE[dtype])
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    for step in range(3):
        X = data.draw(arrays(shape, dtype), label=f"X{step}")
        # run_pair copies torch's state (running statistics included) first
        run_pair(ours, theirs, X, dtype, seed=step, k_terms=bn_terms)
        theirs_sd = theirs.state_dict()
        for key in ("running_mean", "running_var", "num_batches_tracked"):
            assert_close(f"step {step} {key}", ours.state_dict()[key], theirs_sd[key], dtype, "forward",
                         bn_terms.forward)
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    run_pair(ours, theirs, data.draw(arrays(shape, dtype), label="X_eval"), dtype, seed=9, k_terms=bn_terms)


@dtype_ids
@given(p=st.sampled_from([0.2, 0.5, 0.8]), data=st.data())
def test_dropout_with_a_shared_mask(p: float, dtype, data) -> None:
    shape = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 12)))
    X = data.draw(arrays(shape, dtype), label="X")
    keep = np.random.default_rng(data.draw(st.integers(0, 1000))).random(shape) >= p
    ours = Dropout(p)
    ours.next_mask = keep
    Y = ours(X)
    # torch's dropout is x * mask / (1 - p); give it our mask through the functional form
    Xt = to_torch(X, requires_grad=True)
    Yt = Xt * to_torch(keep.astype(dtype)) / (1 - p)
    assert_close("Dropout output", Y, Yt, dtype)
    g = upstream(shape, dtype, 5)
    Yt.backward(to_torch(g))
    assert_close("Dropout dX", ours.backward(g), Xt.grad, dtype, "grad")
    expected_zero = ~keep
    assert (Y[expected_zero] == 0).all()
    ours.eval()
    np.testing.assert_array_equal(ours(X), X)
