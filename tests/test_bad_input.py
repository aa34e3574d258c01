"""Bad input to layers, losses and optimizers: a clear error naming the thing and both shapes."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet.nn as snn
from scratchnet import losses, optim
from scratchnet.kernels.ops import matmul


def test_linear_wrong_feature_count_names_layer_and_shape():
    layer = snn.Linear(784, 30)
    with pytest.raises(ValueError, match=r"Linear\(784, 30\): expected 784 input features \(axis 1\), "
                                         r"got input of shape \(10, 783\)"):
        layer(np.zeros((10, 783), np.float32))


def test_linear_wrong_ndim_and_dtype():
    layer = snn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"Linear\(4, 2\): expected a 2-D input, got shape \(4,\)"):
        layer(np.zeros(4, np.float32))
    with pytest.raises(TypeError, match=r"Linear\(4, 2\): input dtype float64 does not match the layer's float32"):
        layer(np.zeros((3, 4)))


def test_backward_before_forward_and_wrong_gradient_shape():
    layer = snn.Linear(4, 2)
    with pytest.raises(RuntimeError, match=r"Linear\(4, 2\): backward called before forward"):
        layer.backward(np.zeros((3, 2), np.float32))
    layer(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"backward got a gradient of shape \(3, 5\), but the forward output "
                                         r"had shape \(3, 2\)"):
        layer.backward(np.zeros((3, 5), np.float32))


def test_load_state_dict_names_missing_and_mismatched_keys():
    model = snn.Sequential(snn.Linear(4, 3), snn.Sigmoid())
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\], unexpected keys \['0.b'\]"):
        model.load_state_dict({"0.weight": np.zeros((3, 4)), "0.b": np.zeros(3)})
    with pytest.raises(ValueError, match=r"0.weight has shape \(4, 3\), expected \(3, 4\)"):
        model.load_state_dict({"0.weight": np.zeros((4, 3)), "0.bias": np.zeros(3)})


def test_cross_entropy_label_out_of_range():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: class index 10 is out of range \[0, 10\) "
                                         r"for logits of shape \(2, 10\)"):
        losses.CrossEntropyLoss()(np.zeros((2, 10)), np.array([3, 10]))
    with pytest.raises(ValueError, match="targets must be a 1-D integer array of class indices, got float64"):
        losses.CrossEntropyLoss()(np.zeros((2, 10)), np.array([3.0, 1.0]))


def test_losses_reject_non_finite_and_mismatched_shapes():
    a = np.full((2, 3), 0.5)
    a[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"QuadraticCost: predictions of shape \(2, 3\) are not all finite "
                                         r"\(first at \(1, 2\): nan\)"):
        losses.QuadraticCost()(a, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"MSELoss: targets of shape \(2, 4\) do not match predictions "
                                         r"of shape \(2, 3\)"):
        losses.MSELoss()(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"CrossEntropyCost: outputs must lie in \[0, 1\]"):
        losses.CrossEntropyCost()(np.full((1, 2), 1.5), np.zeros((1, 2)))


def test_optimizer_arguments():
    p = [snn.Parameter(np.zeros(3))]
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match=r"Adam: invalid lr=0.001, betas=\(1.0, 0.999\)"):
        optim.Adam(p, betas=(1.0, 0.999))


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((np.zeros((2, 3)), np.zeros((4, 5))), {}, r"inner dimensions differ: op\(A\) is \(2, 3\) and op\(B\) is \(4, 5\)"),
    ((np.zeros((2, 3)), np.zeros((3, 5), np.float32)), {}, "A is float64 but B is float32"),
    ((np.zeros((2, 3))[:, ::2], np.zeros((2, 2))), {}, "A must be C-contiguous"),
    ((np.zeros(3), np.zeros((3, 2))), {}, r"A must be a 2-D array, got \(3,\)"),
    ((np.zeros((2, 3)), np.zeros((3, 4))), {"out": np.zeros((2, 5))}, r"out must be a C-contiguous float64 array "
                                                                     r"of shape \(2, 4\), got float64 \(2, 5\)"),
])
def test_matmul_errors(args, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        matmul(*args, **kwargs)
