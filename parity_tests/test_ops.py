"""The kernels against torch: the three GEMMs, activations and (log-)softmax with their derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from parity_harness import DTYPES, arrays, assert_close, to_torch, upstream
from registry import KERNELS

from scratchnet.kernels import activations as K
from scratchnet.kernels.matmul import matmul

dtype_ids = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)


@dtype_ids
@pytest.mark.parametrize("variant", ["nn", "nt", "tn"])
@given(m=st.integers(1, 70), k=st.integers(1, 300), n=st.integers(1, 70), beta=st.sampled_from([0.0, 1.0]),
       seed=st.integers(0, 2**31 - 1))
def test_gemm(variant: str, dtype, m: int, k: int, n: int, beta: float, seed: int) -> None:
    """op(A) @ op(B) + beta * out against torch.addmm, sizes across the block boundaries."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((k, m) if variant == "tn" else (m, k)).astype(dtype)
    B = rng.standard_normal((n, k) if variant == "nt" else (k, n)).astype(dtype)
    out = rng.standard_normal((m, n)).astype(dtype) if beta else np.full((m, n), np.nan, dtype)
    C0 = to_torch(np.nan_to_num(out))
    At, Bt = to_torch(A), to_torch(B)
    ref = torch.addmm(C0, At.T if variant == "tn" else At, Bt.T if variant == "nt" else Bt, beta=beta)
    got = matmul(A, B, trans_a=variant == "tn", trans_b=variant == "nt", out=out, beta=beta)
    assert_close(f"gemm_{variant} ({m}x{k} by {k}x{n}, beta={beta})", got, ref, dtype, "forward", k_terms=k)


@dtype_ids
@pytest.mark.parametrize("name", sorted(KERNELS))
@given(data=st.data())
def test_activation_kernel(name: str, dtype, data) -> None:
    case = KERNELS[name]
    shape = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 12)))
    Z = data.draw(arrays(shape, dtype, case.lo, case.hi), label="Z")
    A = case.forward(Z, np.empty_like(Z))
    Zt = to_torch(Z, requires_grad=True)
    At = case.torch_fn(Zt)
    assert_close(f"{name} forward", A, At, dtype, "forward", k_terms=shape[1])
    g = upstream(shape, dtype, data.draw(st.integers(0, 2**31 - 1), label="seed"))
    dZ = case.backward(A if case.from_output else Z, g, np.empty_like(g))
    At.backward(to_torch(g))
    assert_close(f"{name} backward", dZ, Zt.grad, dtype, "grad", k_terms=shape[1])


@dtype_ids
@pytest.mark.parametrize("act,fn", [(K.IDENTITY, lambda z: z), (K.SIGMOID, torch.sigmoid),
                                    (K.TANH, torch.tanh), (K.RELU, torch.relu)])
@given(data=st.data())
def test_bias_act_forward(act: int, fn, dtype, data) -> None:
    shape = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 12)))
    Z = data.draw(arrays(shape, dtype), label="Z")
    b = data.draw(arrays((shape[1],), dtype), label="b")
    got = K.bias_act_forward(Z, b, act, np.empty_like(Z))
    assert_close(f"bias_act_forward[{act}]", got, fn(to_torch(Z) + to_torch(b)), dtype, "forward")
