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


PAIR = "an int >= {0} or a pair \\(h, w\\) of ints >= {0}"
CONV_PADDING = "an int >= 0, a pair \\(h, w\\) of ints >= 0, 'valid' or 'same'"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2d(0, 4, 3), r"Conv2d: in_channels must be an int >= 1, got 0"),
        (lambda: Conv2d(1, 2.0, 3), r"Conv2d: out_channels must be an int >= 1, got 2.0"),
        (lambda: Conv2d(1, 4, 0), rf"Conv2d: kernel_size must be {PAIR.format(1)}, got 0"),
        (lambda: Conv2d(1, 4, (3, 0)), rf"Conv2d: kernel_size must be {PAIR.format(1)}, got \(3, 0\)"),
        (lambda: Conv2d(1, 4, (3, 2, 1)), rf"Conv2d: kernel_size must be {PAIR.format(1)}, got \(3, 2, 1\)"),
        (lambda: Conv2d(1, 4, 3.0), rf"Conv2d: kernel_size must be {PAIR.format(1)}, got 3.0"),
        (lambda: Conv2d(1, 4, True), rf"Conv2d: kernel_size must be {PAIR.format(1)}, got True"),
        (lambda: Conv2d(1, 4, "3"), rf"Conv2d: kernel_size must be {PAIR.format(1)}, got '3'"),
        (lambda: Conv2d(1, 4, 3, stride=0), rf"Conv2d: stride must be {PAIR.format(1)}, got 0"),
        (lambda: Conv2d(1, 4, 3, stride=(1, 0)), rf"Conv2d: stride must be {PAIR.format(1)}, got \(1, 0\)"),
        (lambda: Conv2d(1, 4, 3, padding=-1), rf"Conv2d: padding must be {CONV_PADDING}, got -1"),
        (lambda: Conv2d(1, 4, 3, padding=(1, -1)), rf"Conv2d: padding must be {CONV_PADDING}, got \(1, -1\)"),
        (lambda: Conv2d(1, 4, 3, padding="full"), rf"Conv2d: padding must be {CONV_PADDING}, got 'full'"),
        (lambda: Conv2d(1, 4, 3, stride=2, padding="same"),
         r"Conv2d: padding='same' needs stride 1 \(as in PyTorch\), got stride \(2, 2\)"),
        (lambda: Conv2d(1, 4, (3, 2), padding="same"),
         r"Conv2d: padding='same' needs odd kernel sizes here .* got kernel_size \(3, 2\)"),
        (lambda: MaxPool2d(2, padding=2), r"MaxPool2d: padding 2 must be at most half the kernel size 2"),
        (lambda: AvgPool2d((4, 2), padding=(2, 2)),
         r"AvgPool2d: padding 2 must be at most half the kernel size \(4, 2\) \(PyTorch's rule\)"),
        (lambda: MaxPool2d((2, 0)), rf"MaxPool2d: kernel_size must be {PAIR.format(1)}, got \(2, 0\)"),
        (lambda: MaxPool2d(2, stride=0), rf"MaxPool2d: stride must be {PAIR.format(1)}, got 0"),
        (lambda: AvgPool2d(2, stride=[1, 2, 3]), rf"AvgPool2d: stride must be {PAIR.format(1)}, got \[1, 2, 3\]"),
        (lambda: AvgPool2d(2, padding=-1), rf"AvgPool2d: padding must be {PAIR.format(0)}, got -1"),
    ],
    ids=["no-channels", "float-channels", "kernel-0", "kernel-pair-0", "kernel-triple", "kernel-float",
         "kernel-bool", "kernel-str", "stride-0", "stride-pair-0", "negative-padding", "negative-padding-pair",
         "padding-unknown-word", "same-strided", "same-even", "pool-padding", "pool-padding-pair", "pool-kernel-0",
         "pool-stride-0", "pool-stride-triple", "pool-negative-padding"],
)
def test_bad_configurations(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_int_or_pair_arguments_are_kept_as_torch_keeps_them() -> None:
    """Conv2d keeps pairs; the pools keep what they were given, the stride defaulting to the kernel."""
    conv = Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0))
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 2), (2, 1), (1, 0))
    assert conv.weight.data.shape == (3, 2, 3, 2) and conv.name == "Conv2d(2, 3, k=(3, 2))"
    assert (Conv2d(1, 1, 3).kernel_size, Conv2d(1, 1, 3).padding) == ((3, 3), (0, 0))
    assert Conv2d(1, 1, (5, 3), padding="same").padding == (2, 1)
    assert Conv2d(1, 1, 5, padding="valid").padding == (0, 0)
    assert Conv2d(1, 1, np.int64(3)).kernel_size == (3, 3)
    pool = MaxPool2d((3, 2))
    assert (pool.kernel_size, pool.stride, pool.padding) == ((3, 2), (3, 2), 0)
    assert AvgPool2d(2, (1, 2)).stride == (1, 2)
    X = np.zeros((1, 2, 7, 5), np.float32)
    assert conv(X).shape == (1, 3, 4, 4) and pool(X).shape == (1, 2, 2, 2)


def test_a_rectangular_kernel_too_big_names_both_sides() -> None:
    with pytest.raises(ValueError, match=r"Conv2d\(1, 1, k=\(2, 6\)\): kernel 2x6 is larger than the padded "
                                         r"input 4x5 \(input shape \(1, 1, 4, 3\), padding \(0, 1\)\)"):
        Conv2d(1, 1, (2, 6), padding=(0, 1))(np.zeros((1, 1, 4, 3), np.float32))


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
