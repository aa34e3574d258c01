"""Bad convolution and pooling configurations: each error names the layer, expected and actual.

Kernel larger than the padded input, channel mismatch, wrong rank or dtype, gradients of the
wrong shape, backward before forward, an algorithm asked for where it does not apply.
"""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.nn import AvgPool2d, Conv2d, MaxPool2d


@pytest.mark.parametrize(
    ("layer", "X", "error", "message"),
    [
        (lambda: Conv2d(1, 4, 5), np.zeros((2, 1, 4, 9), np.float32), ValueError,
         r"Conv2d\(1, 4, k=5\): kernel 5x5 is larger than the padded input 4x9 "
         r"\(input shape \(2, 1, 4, 9\), padding 0\)"),
        (lambda: Conv2d(1, 4, 7, padding=1), np.zeros((1, 1, 4, 4), np.float32), ValueError,
         r"kernel 7x7 is larger than the padded input 6x6 \(input shape \(1, 1, 4, 4\), padding 1\)"),
        (lambda: Conv2d(3, 4, 3), np.zeros((2, 1, 8, 8), np.float32), ValueError,
         r"Conv2d\(3, 4, k=3\): expected 3 input channels \(axis 1\), got input of shape \(2, 1, 8, 8\)"),
        (lambda: Conv2d(1, 4, 3), np.zeros((1, 8, 8), np.float32), ValueError,
         r"Conv2d\(1, 4, k=3\): expected a 4-D input, got shape \(1, 8, 8\)"),
        (lambda: Conv2d(1, 4, 3), np.zeros((1, 1, 8, 8)), TypeError,
         r"Conv2d\(1, 4, k=3\): input dtype float64 does not match the layer's float32"),
        (lambda: MaxPool2d(3), np.zeros((1, 2, 2, 5), np.float32), ValueError,
         r"MaxPool2d: kernel 3x3 is larger than the padded input 2x5 \(input shape \(1, 2, 2, 5\), padding 0\)"),
        (lambda: AvgPool2d(2), np.zeros((2, 8, 8), np.float32), ValueError,
         r"AvgPool2d: expected \(N, C, H, W\), got shape \(2, 8, 8\)"),
    ],
    ids=["conv-kernel-too-big", "conv-kernel-too-big-padded", "conv-channels", "conv-rank", "conv-dtype",
         "maxpool-kernel-too-big", "avgpool-rank"],
)
def test_forward_errors_name_layer_and_shapes(layer, X, error, message) -> None:
    with pytest.raises(error, match=message):
        layer()(X)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2d(0, 4, 3), r"Conv2d: invalid configuration in=0, out=4, kernel=3, stride=1, padding=0"),
        (lambda: Conv2d(1, 4, 3, stride=0), r"Conv2d: invalid configuration .* stride=0"),
        (lambda: Conv2d(1, 4, 3, padding=-1), r"Conv2d: invalid configuration .* padding=-1"),
        (lambda: MaxPool2d(2, padding=2), r"MaxPool2d: padding 2 must be at most half the kernel size 2"),
    ],
    ids=["no-channels", "stride-0", "negative-padding", "pool-padding"],
)
def test_bad_configurations(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
def test_backward_checks_the_gradient(algorithm: str) -> None:
    conv = Conv2d(2, 3, 3, padding=1)
    conv.algorithm = algorithm
    with pytest.raises(RuntimeError, match=r"Conv2d\(2, 3, k=3\): backward called before forward"):
        conv.backward(np.zeros((1, 3, 5, 5), np.float32))
    conv(np.zeros((1, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d\(2, 3, k=3\): backward got a gradient of shape "
                                         r"\(1, 3, 4, 4\), but the forward output had shape \(1, 3, 5, 5\)"):
        conv.backward(np.zeros((1, 3, 4, 4), np.float32))


def test_pool_backward_checks_the_gradient() -> None:
    pool = MaxPool2d(2)
    with pytest.raises(RuntimeError, match="MaxPool2d: backward called before forward"):
        pool.backward(np.zeros((1, 1, 2, 2), np.float32))
    pool(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"MaxPool2d: backward got a gradient of shape \(1, 1, 3, 3\)"):
        pool.backward(np.zeros((1, 1, 3, 3), np.float32))


def test_direct_algorithm_refused_where_it_does_not_apply() -> None:
    conv = Conv2d(1, 2, 3, stride=2)
    assert conv.algorithm == "im2col"
    conv.algorithm = "direct"
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2, k=3\): algorithm 'direct' needs stride 1 and "
                                         r"padding <= 2, got stride 2, padding 0 \(use 'im2col'\)"):
        conv(np.zeros((1, 1, 9, 9), np.float32))
