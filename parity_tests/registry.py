"""The registry: every public scratchnet op, module, loss, optimizer and zoo model, with its
torch reference and the Hypothesis strategy that feeds both. ``test_registry_complete`` fails
for anything public that is missing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

import scratchnet.nn as snn
from scratchnet import losses as sl
from scratchnet.kernels import activations as K


@dataclass(frozen=True)
class ModuleCase:
    """``build(draw, dtype) -> (ours, theirs, input_shape)``; torch's weights are copied into ours."""

    build: Callable
    lo: float = -3.0
    hi: float = 3.0


def _linear(draw, dtype):
    n, i, o = draw(st.integers(1, 8)), draw(st.integers(1, 40)), draw(st.integers(1, 12))
    bias = draw(st.booleans())
    return snn.Linear(i, o, bias, dtype=dtype), torch.nn.Linear(i, o, bias), (n, i)


def _elementwise(ours, theirs):
    def build(draw, dtype):
        shape = (draw(st.integers(1, 6)), draw(st.integers(1, 12)))
        return ours(), theirs(), shape
    return build


def _flatten(draw, dtype):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=2, max_size=4)))
    return snn.Flatten(), torch.nn.Flatten(), shape


def _sequential(draw, dtype):
    sizes = draw(st.lists(st.integers(1, 16), min_size=2, max_size=4))
    acts = [draw(st.sampled_from([(snn.Sigmoid, torch.nn.Sigmoid), (snn.Tanh, torch.nn.Tanh),
                                  (snn.ReLU, torch.nn.ReLU)])) for _ in sizes[1:]]
    ours, theirs = [], []
    for (a, b), (mo, mt) in zip(zip(sizes[:-1], sizes[1:], strict=True), acts, strict=True):
        ours += [snn.Linear(a, b, dtype=dtype), mo()]
        theirs += [torch.nn.Linear(a, b), mt()]
    return snn.Sequential(*ours), torch.nn.Sequential(*theirs), (draw(st.integers(1, 6)), sizes[0])


MODULES: dict[str, ModuleCase] = {
    "Linear": ModuleCase(_linear),
    "Sigmoid": ModuleCase(_elementwise(snn.Sigmoid, torch.nn.Sigmoid), -40, 40),
    "Tanh": ModuleCase(_elementwise(snn.Tanh, torch.nn.Tanh)),
    "ReLU": ModuleCase(_elementwise(snn.ReLU, torch.nn.ReLU)),
    "Softmax": ModuleCase(_elementwise(lambda: snn.Softmax(1), lambda: torch.nn.Softmax(1)), -700, 700),
    "Flatten": ModuleCase(_flatten),
    "Sequential": ModuleCase(_sequential),
}


# Element-wise / row-wise kernels: (ours forward, ours backward, torch function, backward takes
# the saved output (True) or the input (False), value range)
@dataclass(frozen=True)
class KernelCase:
    forward: Callable
    backward: Callable | None
    torch_fn: Callable
    from_output: bool = True
    lo: float = -3.0
    hi: float = 3.0


KERNELS: dict[str, KernelCase] = {
    "sigmoid": KernelCase(K.sigmoid_forward, K.sigmoid_backward, torch.sigmoid, True, -60, 60),
    "tanh": KernelCase(K.tanh_forward, K.tanh_backward, torch.tanh),
    "relu": KernelCase(K.relu_forward, K.relu_backward, torch.relu, False),
    "softmax": KernelCase(K.softmax_forward, K.softmax_backward, lambda z: torch.softmax(z, 1), True, -700, 700),
    "log_softmax": KernelCase(K.log_softmax_forward, K.log_softmax_backward, lambda z: torch.log_softmax(z, 1),
                              True, -700, 700),
}

# Kernels exercised elsewhere, with the test that covers them.
COVERED_ELSEWHERE = {
    "bias_act_forward": "test_ops.py::test_bias_act_forward",
    "gemm_nn": "test_ops.py::test_gemm", "gemm_nt": "test_ops.py::test_gemm", "gemm_tn": "test_ops.py::test_gemm",
    "matmul": "test_ops.py::test_gemm",
    "sgd_step": "test_optim_trajectory.py", "adam_step": "test_optim_trajectory.py",
    "sgd_epoch": "test_book_kernels.py", "forward": "test_book_kernels.py",
    "train_epoch": "test_book_kernels.py", "predict": "test_book_kernels.py",
    "im2col": "test_conv_parity.py::test_conv2d", "col2im": "test_conv_parity.py::test_conv2d",
    "rows_to_nchw": "test_conv_parity.py::test_conv2d", "nchw_to_rows": "test_conv_parity.py::test_conv2d",
    "out_size": "test_conv_parity.py::test_conv2d",
    "maxpool_forward": "test_conv_parity.py::test_pool", "maxpool_backward": "test_conv_parity.py::test_pool",
    "avgpool_forward": "test_conv_parity.py::test_pool", "avgpool_backward": "test_conv_parity.py::test_pool",
    "batchnorm_train_forward": "test_conv_parity.py::test_batchnorm_steps_then_eval",
    "batchnorm_train_backward": "test_conv_parity.py::test_batchnorm_steps_then_eval",
    "batchnorm_eval_forward": "test_conv_parity.py::test_batchnorm_steps_then_eval",
    "batchnorm_eval_backward": "test_conv_parity.py::test_batchnorm_steps_then_eval",
}

# Modules whose configurations are drawn by their own tests (their strategies need more than a shape).
MODULES_ELSEWHERE = {
    "Conv2d": "test_conv_parity.py::test_conv2d", "MaxPool2d": "test_conv_parity.py::test_pool",
    "AvgPool2d": "test_conv_parity.py::test_pool", "BatchNorm1d": "test_conv_parity.py::test_batchnorm_steps_then_eval",
    "BatchNorm2d": "test_conv_parity.py::test_batchnorm_steps_then_eval",
    "Dropout": "test_conv_parity.py::test_dropout_with_a_shared_mask",
}


@dataclass(frozen=True)
class LossCase:
    """``make(draw, dtype) -> (ours, torch_fn, y_hat, target)``: torch_fn(y_hat_t, target_t) -> value."""

    make: Callable


def _probabilities(draw, dtype, n, c):
    from parity_harness import arrays

    return draw(arrays((n, c), dtype, 0.02, 0.98))


def _sizes(draw):
    return draw(st.integers(1, 8)), draw(st.integers(2, 10))


def _onehot(draw, n, c, dtype):
    y = np.zeros((n, c), dtype)
    y[np.arange(n), draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))] = 1
    return y


def _quadratic(draw, dtype):
    n, c = _sizes(draw)
    return (sl.QuadraticCost(), lambda a, y: 0.5 * ((a - y) ** 2).sum(1).mean(),
            _probabilities(draw, dtype, n, c), _onehot(draw, n, c, dtype))


def _ce_cost(draw, dtype):
    n, c = _sizes(draw)
    return (sl.CrossEntropyCost(), lambda a, y: F.binary_cross_entropy(a, y, reduction="sum") / a.shape[0],
            _probabilities(draw, dtype, n, c), _onehot(draw, n, c, dtype))


def _ce_loss(draw, dtype):
    from parity_harness import arrays

    n, c = _sizes(draw)
    z = draw(arrays((n, c), dtype, -700, 700))
    y = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return sl.CrossEntropyLoss(), F.cross_entropy, z, y


def _mse(draw, dtype):
    from parity_harness import arrays

    n, c = _sizes(draw)
    return sl.MSELoss(), F.mse_loss, draw(arrays((n, c), dtype)), draw(arrays((n, c), dtype))


def _bce(draw, dtype):
    n, c = _sizes(draw)
    return (sl.BCELoss(), F.binary_cross_entropy, _probabilities(draw, dtype, n, c),
            _probabilities(draw, dtype, n, c))


LOSSES: dict[str, LossCase] = {
    "QuadraticCost": LossCase(_quadratic), "CrossEntropyCost": LossCase(_ce_cost),
    "CrossEntropyLoss": LossCase(_ce_loss), "MSELoss": LossCase(_mse), "BCELoss": LossCase(_bce),
}

OPTIMIZERS = {"SGD", "Adam", "AdamW"}  # test_optim_trajectory.py draws their configurations
