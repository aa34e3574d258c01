"""The activations (``kernels/cuda/activations.py``) against ``kernels/activations.py``, float64
and float32, kinks included: ReLU at exactly 0, sigmoid far out on both sides, a softmax row
whose maximum repeats."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import twins, within_rounding

from scratchnet.kernels import activations as reference
from scratchnet.kernels.cuda import activations as cuda_act

DTYPES = [np.float64, np.float32]


def _z(dtype, shape=(5, 7), seed=0):
    """Unique values over a wide range, with the kinks put in: 0, +-0.0 and +-40 (sigmoid's tails)."""
    rng = np.random.default_rng(seed)
    Z = (rng.permutation(np.prod(shape)).reshape(shape) - np.prod(shape) / 2) / 3.0
    Z.flat[:4] = [0.0, -0.0, 40.0, -40.0]
    return Z.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_elementwise_forward_and_backward(name, dtype):
    Z = _z(dtype)
    dA = np.random.default_rng(1).permutation(Z.size).reshape(Z.shape).astype(dtype) - 17
    fwd, bwd = f"{name}_forward", f"{name}_backward"
    (_, (_, ref)), (_, (_, got)) = twins(getattr(reference, fwd), getattr(cuda_act, fwd), Z, np.empty_like(Z))
    within_rounding(got, ref, ref, same_order=name == "relu", what=fwd)
    saved = Z if name == "relu" else ref  # relu's backward reads its input, the others their output
    (_, (*_, ref)), (_, (*_, got)) = twins(getattr(reference, bwd), getattr(cuda_act, bwd), saved, dA,
                                           np.full_like(Z, np.nan))
    within_rounding(got, ref, np.abs(dA) * (1 + np.abs(saved)) ** 2, same_order=True, what=bwd)


def test_relu_derivative_at_zero_is_zero():
    Z = np.array([[-1.0, -0.0, 0.0, 1e-300, 2.0]])
    dA = np.full_like(Z, 3.0)
    (_, (_, _, ref)), (_, (_, _, got)) = twins(reference.relu_backward, cuda_act.relu_backward, Z, dA, np.empty_like(Z))
    assert got.tolist() == ref.tolist() == [[0.0, 0.0, 0.0, 3.0, 3.0]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [reference.IDENTITY, reference.SIGMOID, reference.TANH, reference.RELU])
def test_bias_act_forward(act, dtype):
    Z, b = _z(dtype, (4, 6)), np.linspace(-1, 1, 6).astype(dtype)
    Z[0, 1] = -b[1]  # z + b exactly 0: ReLU's kink
    (_, (*_, ref)), (_, (*_, got)) = twins(reference.bias_act_forward, cuda_act.bias_act_forward, Z, b, act,
                                           np.empty_like(Z))
    within_rounding(got, ref, np.abs(Z) + np.abs(b) + 1, what=f"bias_act {act}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_backward_adds_the_column_sums(dtype):
    dZ = _z(dtype, (9, 5))
    db = np.linspace(1, 2, 5).astype(dtype)
    (_, (_, ref)), (_, (_, got)) = twins(reference.bias_backward, cuda_act.bias_backward, dZ, db)
    within_rounding(got, ref, np.abs(dZ).sum(0) + np.abs(db), terms=9, same_order=True, what="bias_backward")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_forward_and_backward(dtype):
    Z = _z(dtype, (3, 37))  # 37 columns: a 64-thread block, some threads with one column, some none
    Z[1, 3] = Z[1, 30] = Z[1].max() + 1  # the maximum twice
    (_, (_, ref)), (_, (_, got)) = twins(reference.softmax_forward, cuda_act.softmax_forward, Z, np.empty_like(Z))
    within_rounding(got, ref, ref, terms=37, what="softmax_forward")
    dS = np.random.default_rng(2).standard_normal(Z.shape).astype(dtype)
    (_, (*_, ref_dz)), (_, (*_, got_dz)) = twins(reference.softmax_backward, cuda_act.softmax_backward, ref, dS,
                                                 np.empty_like(Z))
    scale = ref * (np.abs(dS) + (np.abs(dS) * ref).sum(1, keepdims=True))
    within_rounding(got_dz, ref_dz, scale, terms=37, what="softmax_backward")
