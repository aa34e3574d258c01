"""scratchnet's kernels against torch, one test per registry family (``registry.KERNELS``).

Forward values and every gradient, float64 (the gate) and float32 (smoke); upstream gradients
are random with distinct values; kinks (ReLU at 0) and extreme logits (+-700) are tested on
purpose with exact values.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_equal, dtypes, to_numpy, to_torch
from hypothesis import given
from hypothesis import strategies as st
from registry import KERNELS
from strategies import seeds, upstream

from scratchnet.kernels import activations as KA
from scratchnet.kernels import losses as KL


def family(name: str) -> list[str]:
    """The KERNELS entries of one family, sorted (the parametrize ids)."""
    return sorted(k for k, e in KERNELS.items() if e.family == name)


@dtypes
@pytest.mark.parametrize("name", family("unary"))
@given(data=st.data())
def test_unary(name: str, dtype, data) -> None:
    """``A = f(Z)`` and ``dZ = dA * f'`` (from what the forward saved) against autograd."""
    e = KERNELS[name]
    Z = data.draw(e.cases(dtype), label="Z")
    dA = upstream(Z.shape, dtype, data.draw(seeds(), label="upstream seed"))
    A, dZ = e.ours(Z, dA)
    Zt = to_torch(Z, requires_grad=True)
    At = e.theirs(Zt)
    At.backward(to_torch(dA))
    k = Z.shape[1] if e.options["rowwise"] else 1
    assert_close(f"{name} forward", A, At, dtype, "forward", k, e.tol)
    assert_close(f"{name} backward", dZ, Zt.grad, dtype, "grad", k, e.tol)


@dtypes
@pytest.mark.parametrize("name", family("gemm"))
@given(data=st.data())
def test_gemm(name: str, dtype, data) -> None:
    """``out = op(A) op(B) + beta out`` in place, against ``torch.addmm``.

    With ``beta = 0`` the old ``out`` is NaN garbage that must be ignored.
    """
    e = KERNELS[name]
    c = data.draw(e.cases(dtype), label="sizes")
    m, k, n, beta = c["m"], c["k"], c["n"], c["beta"]
    rng = np.random.default_rng(c["seed"])
    A = rng.standard_normal((k, m) if e.options["trans_a"] else (m, k)).astype(dtype)
    B = rng.standard_normal((n, k) if e.options["trans_b"] else (k, n)).astype(dtype)
    out = rng.standard_normal((m, n)).astype(dtype) if beta else np.full((m, n), np.nan, dtype)
    ref = e.theirs(to_torch(A), to_torch(B), to_torch(np.nan_to_num(out)), beta)
    e.ours(A, B, out, beta)
    assert_close(f"{name} ({m}x{k} by {k}x{n}, beta={beta})", out, ref, dtype, "forward", k + 1,
                 e.tol)


@dtypes
@pytest.mark.parametrize("name", family("bias_act"))
@given(data=st.data())
def test_bias_act(name: str, dtype, data) -> None:
    """The fused ``f(Z + b)`` for every activation code."""
    e = KERNELS[name]
    Z, b, act = data.draw(e.cases(dtype), label="Z, b, act")
    ref = e.theirs(to_torch(Z), to_torch(b), act)
    assert_close(f"{name}[act={act}]", e.ours(Z, b, act), ref, dtype, "forward", 2, e.tol)


@dtypes
@pytest.mark.parametrize("name", family("bias_backward"))
@given(data=st.data())
def test_bias_backward(name: str, dtype, data) -> None:
    """``db += sum_n dZ[n]`` accumulates onto what ``db`` held."""
    e = KERNELS[name]
    dZ, db = data.draw(e.cases(dtype), label="dZ, db")
    ref = e.theirs(to_torch(dZ), to_torch(db))
    assert_close(name, e.ours(dZ, db.copy()), ref, dtype, "grad", len(dZ) + 1, e.tol)


@dtypes
@pytest.mark.parametrize("name", family("loss"))
@given(data=st.data())
def test_loss_kernel(name: str, dtype, data) -> None:
    """A loss kernel's value and the gradient it writes, against the loss's torch form."""
    e = KERNELS[name]
    y_hat, y = data.draw(e.cases(dtype), label="y_hat, y")
    dA = np.full_like(y_hat, np.nan)
    value = e.ours(y_hat, y, dA)
    yt = to_torch(y_hat, requires_grad=True)
    ref = e.theirs(yt, to_torch(y))
    ref.backward()
    assert_close(f"{name} value", np.float64(value), ref, dtype, "forward", y_hat.size, e.tol)
    assert_close(f"{name} gradient", dA, yt.grad, dtype, "grad", 1, e.tol)


def _random_state(kernel: str, cfg: dict, c: dict, rng, dtype) -> dict:
    """An optimizer state as after ``c["steps_before"]`` updates (random, of the right sign)."""
    shape = c["shape"]
    if c["steps_before"] == 0:
        return {}
    if kernel == "sgd_step":
        has_buffer = cfg.get("momentum", 0.0) != 0.0
        return {"momentum_buffer": rng.standard_normal(shape).astype(dtype)} if has_buffer else {}
    return {"step": float(c["steps_before"]),
            "exp_avg": (0.1 * rng.standard_normal(shape)).astype(dtype),
            "exp_avg_sq": (0.01 * rng.random(shape)).astype(dtype)}


@dtypes
@pytest.mark.parametrize("name", family("optimizer"))
@given(data=st.data())
def test_optimizer_kernel(name: str, dtype, data) -> None:
    """One update from a drawn state (first step or a later one) against ``torch.optim``."""
    e = KERNELS[name]
    cfg, c, *decoupled = data.draw(e.cases(dtype), label="config, state")
    rng = np.random.default_rng(c["seed"])
    p = rng.standard_normal(c["shape"]).astype(dtype)
    g = rng.standard_normal(c["shape"]).astype(dtype)
    state = _random_state(name, cfg, c, rng, dtype)

    pt = torch.nn.Parameter(to_torch(p.copy()))
    pt.grad = to_torch(g.copy())
    opt = (torch.optim.AdamW if decoupled and decoupled[0] else e.theirs)([pt], **cfg)
    if state:
        opt.state[pt] = {k: torch.tensor(v) if k == "step" else to_torch(v.copy())
                         for k, v in state.items()}
    opt.step()

    ours_state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
    e.ours(p, g, ours_state, cfg, c["steps_before"] + 1, *decoupled)
    label = f"{name} {cfg} after {c['steps_before']} steps"
    assert_close(f"{label}: parameter", p, pt, dtype, "grad", 1, e.tol)
    for key, ref in opt.state[pt].items():
        if key != "step":
            assert_close(f"{label}: {key}", ours_state[key], ref, dtype, "grad", 1, e.tol)


# ----------------------------------------------------------------- kinks and extremes, exact


@dtypes
def test_relu_at_exactly_zero(dtype) -> None:
    """``ReLU'(0) = 0`` in both libraries: exactly equal values and gradients at the kink."""
    tiny = 5e-324 if dtype == np.float64 else 1e-45  # the smallest subnormal: > 0
    Z = np.array([[0.0, -0.0, 1.5, -2.0, 0.0, tiny]], dtype=dtype)
    dA = np.array([[3.0, -1.0, 2.0, 0.5, -4.0, 7.0]], dtype=dtype)
    Zt = to_torch(Z, requires_grad=True)
    At = torch.relu(Zt)
    At.backward(to_torch(dA))
    A = KA.relu_forward(Z, np.empty_like(Z))
    assert_equal("relu_forward at 0", A, At)
    assert_equal("relu_backward at 0 (from Z)", KA.relu_backward(Z, dA, np.empty_like(Z)), Zt.grad)
    assert_equal("relu_backward at 0 (from A)", KA.relu_backward(A, dA, np.empty_like(Z)), Zt.grad)
    assert to_numpy(Zt.grad)[0].tolist() == [0.0, 0.0, 2.0, 0.0, 0.0, 7.0]
    # Z + b exactly 0 in the fused kernel
    b = np.array([1.0, -1.0], dtype=dtype)
    Zb = np.array([[-1.0, 1.0], [2.0, 0.5]], dtype=dtype)
    got = KA.bias_act_forward(Zb, b, KA.RELU, np.empty_like(Zb))
    assert_equal("bias_act_forward[RELU] at 0", got, torch.relu(to_torch(Zb) + to_torch(b)))


EXTREME_LOGITS = [[700.0, -700.0, 0.0], [-700.0, -699.0, -698.0], [700.0, 700.0, 700.0],
                  [700.0, 699.0, -700.0]]


@dtypes
@pytest.mark.parametrize("name", ["softmax"])
def test_softmax_at_700(name: str, dtype) -> None:
    """Logits of +-700 (``e^700`` overflows float32): finite, and equal to torch's."""
    e = KERNELS[name]
    Z = np.array(EXTREME_LOGITS, dtype=dtype)
    dA = upstream(Z.shape, dtype, 7)
    A, dZ = e.ours(Z, dA)
    Zt = to_torch(Z, requires_grad=True)
    At = e.theirs(Zt)
    At.backward(to_torch(dA))
    assert np.isfinite(A).all() and np.isfinite(dZ).all(), f"{name} at +-700:\n{A}\n{dZ}"
    assert_close(f"{name} forward at +-700", A, At, dtype, "forward", 3, e.tol)
    assert_close(f"{name} backward at +-700", dZ, Zt.grad, dtype, "grad", 3, e.tol)


@dtypes
def test_softmax_cross_entropy_at_700(dtype) -> None:
    Z = np.array(EXTREME_LOGITS, dtype=dtype)
    y = np.array([1, 0, 2, 2])
    dZ = np.full_like(Z, np.nan)
    value = KL.softmax_cross_entropy(Z, y, dZ)[0]
    Zt = to_torch(Z, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(Zt, to_torch(y))
    ref.backward()
    assert_close("softmax_cross_entropy value at +-700", np.float64(value), ref, dtype, "forward",
                 Z.size)
    assert_close("softmax_cross_entropy gradient at +-700", dZ, Zt.grad, dtype, "grad")
