"""The book's fused whole-epoch kernel against torch, value by value, and its forward pass.

``scratchnet.kernels.fused_mlp.train_epoch`` against the same epoch written here with autograd
and the book's updates, for every variant the kernel has: the quadratic, cross-entropy and
log-likelihood (softmax) costs, sigmoid, tanh and ReLU hidden layers, L2 and L1
regularisation, and momentum with its velocity buffers (chapter 3):

    L2        w <- (1 - eta lmbda/n) w - (eta/m) nabla_w
    L1        w <- w - eta (lmbda/n) sgn(w) - (eta/m) nabla_w
    momentum  v <- mu v - eta (lmbda/n) dR/dw - (eta/m) nabla_w,  w <- w + v   (R = L2 or L1)
              v_b <- mu v_b - (eta/m) nabla_b,  b <- b + v_b
    biases without momentum  b <- b - (eta/m) nabla_b

Inputs have zero pixels (from none to nine in ten, whole columns too), since the kernel's first
layer skips them and treats the weight rows no sample touched apart.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import assert_close, assert_equal, to_numpy, to_torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnet.kernels import fused_mlp

TORCH_ACT = {fused_mlp.SIGMOID: torch.sigmoid, fused_mlp.TANH: torch.tanh, fused_mlp.RELU: torch.relu}
ACT_NAMES = {fused_mlp.SIGMOID: "sigmoid", fused_mlp.TANH: "tanh", fused_mlp.RELU: "relu"}
COST_NAMES = {fused_mlp.QUADRATIC: "quadratic", fused_mlp.CROSS_ENTROPY: "cross-entropy",
              fused_mlp.LOG_LIKELIHOOD: "log-likelihood"}


def torch_logits(Wt: list[torch.Tensor], bt: list[torch.Tensor], A: torch.Tensor, act: int) -> torch.Tensor:
    """The output layer's ``z`` ``(m, n_L)`` for rows ``A`` ``(m, n_0)``."""
    for w, b in zip(Wt[:-1], bt[:-1], strict=True):
        A = TORCH_ACT[act](A @ w.T + b)
    return A @ Wt[-1].T + bt[-1]


def torch_cost(cost: int, Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_x C_x`` over a mini-batch: the book's quadratic cost on sigmoid outputs, its
    cross-entropy and the softmax log-likelihood (both from ``z``, whose gradient is ``a - y``)."""
    if cost == fused_mlp.QUADRATIC:
        return 0.5 * ((torch.sigmoid(Z) - y) ** 2).sum()
    if cost == fused_mlp.CROSS_ENTROPY:
        return tF.binary_cross_entropy_with_logits(Z, y, reduction="sum")
    return tF.cross_entropy(Z, y.argmax(1), reduction="sum")


def torch_epoch(Ws: list[np.ndarray], bs: list[np.ndarray], X: np.ndarray, Y: np.ndarray, order: np.ndarray,
                m: int, eta: float, lmbda: float, n: int, act: int, cost: int, reg: int, mu: float,
                velocities: tuple | None):
    """The book's epoch with autograd: per mini-batch the sum of the samples' costs, then the
    update of the module docstring. Returns weights, biases and velocities (weights' then
    biases'; zeros when none were given) as tensors. Every tensor is a copy: ``to_torch`` shares
    memory with its array on the CPU, and updating the arrays in place here would make the
    kernel's results and these the same memory (a comparison that cannot fail)."""
    Wt = [to_torch(w.copy(), requires_grad=True) for w in Ws]
    bt = [to_torch(b.reshape(-1).copy(), requires_grad=True) for b in bs]
    if velocities is None:
        Vw, Vb = [torch.zeros_like(w) for w in Wt], [torch.zeros_like(b) for b in bt]
    else:
        Vw, Vb = [to_torch(v.copy()) for v in velocities[0]], [to_torch(v.copy()) for v in velocities[1]]
    for s in range(0, len(order), m):
        idx = order[s:s + m]
        C = torch_cost(cost, torch_logits(Wt, bt, to_torch(X[idx].astype(np.float64)), act), to_torch(Y[idx]))
        gW = torch.autograd.grad(C, Wt + bt)
        gw, gb = gW[:len(Wt)], gW[len(Wt):]
        step, lmbda_n = eta / len(idx), lmbda / n
        with torch.no_grad():
            for w, g, v in zip(Wt, gw, Vw, strict=True):
                dR = w if reg == fused_mlp.L2 else torch.sign(w)          # d(penalty)/dw, times n/lmbda
                if mu:
                    v.copy_(mu * v - eta * lmbda_n * dR - step * g)
                    w.add_(v)
                elif reg == fused_mlp.L1:
                    w.copy_(w - eta * lmbda_n * dR - step * g)
                else:
                    w.copy_((1 - eta * lmbda_n) * w - step * g)
            for b, g, v in zip(bt, gb, Vb, strict=True):
                if mu:
                    v.copy_(mu * v - step * g)
                    b.add_(v)
                else:
                    b.copy_(b - step * g)
    return Wt, bt, Vw, Vb


VARIANTS = [(cost, act, reg, momentum) for cost in COST_NAMES for act in ACT_NAMES
            for reg in (fused_mlp.L2, fused_mlp.L1) for momentum in (False, True)]


def variant_id(v: tuple) -> str:
    cost, act, reg, momentum = v
    reg_name = "L1" if reg == fused_mlp.L1 else "L2"
    return f"{COST_NAMES[cost]}-{ACT_NAMES[act]}-{reg_name}-{'momentum' if momentum else 'plain'}"


@st.composite
def epochs(draw, cost: int, act: int, reg: int, momentum: bool) -> dict:
    """One epoch's network, data, hyper-parameters and (maybe) momentum buffers for a variant."""
    sizes = draw(st.lists(st.integers(2, 12), min_size=2, max_size=4), label="sizes")
    N = draw(st.integers(1, 40), label="rows")
    m = draw(st.integers(1, 10), label="mini_batch_size")
    n = N + draw(st.sampled_from([0, 100]), label="n - rows")        # the book's n = len(training_data)
    # momentum multiplies the step by up to 1/(1 - mu): smaller etas keep the epoch a stable map,
    # where rounding differences shrink or stay (at eta/(1 - mu) = 30 they grow tenfold a step)
    eta = draw(st.sampled_from([0.05, 0.2] if momentum else [0.1, 0.5, 3.0]), label="eta")
    lmbda = draw(st.sampled_from([0.0, 0.5, 5.0]), label="lmbda")
    mu = draw(st.sampled_from([0.5, 0.9]), label="mu") if momentum else 0.0
    with_velocities = draw(st.booleans(), label="velocities given")
    zeros = draw(st.sampled_from([0.0, 0.5, 0.9]), label="fraction of zero pixels")
    x_dtype = draw(st.sampled_from([np.float64, np.float32]), label="X dtype")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    Ws = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.standard_normal((b, 1)) for b in sizes[1:]]
    X = rng.random((N, sizes[0]))
    X[rng.random(X.shape) < zeros] = 0.0
    velocities = None
    if with_velocities:  # the state a previous epoch left: weight-shaped and flat bias buffers
        velocities = (tuple(0.1 * rng.standard_normal(w.shape) for w in Ws),
                      tuple(0.1 * rng.standard_normal(b.size) for b in bs))
    return dict(weights=Ws, biases=bs, cost=cost, sizes=sizes, act=act, m=m, n=n, eta=eta, lmbda=lmbda, reg=reg,
                mu=mu, velocities=velocities, X=X.astype(x_dtype),
                Y=np.eye(sizes[-1])[rng.integers(0, sizes[-1], N)], order=rng.permutation(N),
                Xq=rng.random((5, sizes[0])))


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
@settings(max_examples=max(2, settings().max_examples // 10))
@given(data=st.data())
def test_sgd_epoch_matches_torch(variant: tuple, data: st.DataObject) -> None:
    """Weights, biases and momentum buffers after one epoch, for every cost, activation,
    regularisation and momentum (each a test of its own: ``max_examples / 10`` each);
    ``K`` = the mini-batch size (the samples summed into one gradient)."""
    c = data.draw(epochs(*variant), label="case")
    Ws, bs = [w.copy() for w in c["weights"]], [b.copy() for b in c["biases"]]
    velocities = None if c["velocities"] is None else tuple(tuple(v.copy() for v in vs) for vs in c["velocities"])
    Wt, bt, Vw, Vb = torch_epoch(Ws, bs, c["X"], c["Y"], c["order"], c["m"], c["eta"], c["lmbda"], c["n"],
                                 c["act"], c["cost"], c["reg"], c["mu"], velocities)
    out_act = fused_mlp.SOFTMAX if c["cost"] == fused_mlp.LOG_LIKELIHOOD else fused_mlp.SIGMOID
    fused_mlp.train_epoch(c["X"], c["Y"], c["order"], c["m"], c["eta"], c["lmbda"], c["n"], Ws, bs, act=c["act"],
                  out_act=out_act, cost=c["cost"], reg=c["reg"], mu=c["mu"], velocities=velocities)
    what = (f"{COST_NAMES[c['cost']]}, {ACT_NAMES[c['act']]}, {'L1' if c['reg'] == fused_mlp.L1 else 'L2'} "
            f"lmbda={c['lmbda']}, mu={c['mu']}")
    k = c["m"]
    for l in range(len(Ws)):
        assert not np.shares_memory(Ws[l], to_numpy(Wt[l])), "the reference must not alias the kernel's arrays"
        assert_close(f"W[{l}] after one epoch ({what})", Ws[l], Wt[l], np.float64, "grad", k_terms=k)
        assert_close(f"b[{l}] after one epoch ({what})", bs[l].reshape(-1), bt[l], np.float64, "grad", k_terms=k)
        if velocities is None:
            continue
        if c["mu"]:
            assert_close(f"velocity of W[{l}] ({what})", velocities[0][l], Vw[l], np.float64, "grad", k_terms=k)
            assert_close(f"velocity of b[{l}] ({what})", velocities[1][l], Vb[l], np.float64, "grad", k_terms=k)
        else:  # no momentum: the buffers are left as they were
            assert_equal(f"velocity of W[{l}] without momentum", velocities[0][l], c["velocities"][0][l])
            assert_equal(f"velocity of b[{l}] without momentum", velocities[1][l], c["velocities"][1][l])
    out = fused_mlp.predict(c["Xq"], Ws, bs, c["act"], out_act)
    Z = torch_logits([to_torch(w) for w in Ws], [to_torch(b.reshape(-1)) for b in bs], to_torch(c["Xq"]), c["act"])
    expected = torch.softmax(Z, 1) if out_act == fused_mlp.SOFTMAX else torch.sigmoid(Z)
    assert_close(f"predict ({what})", out, to_numpy(expected), np.float64, "forward", k_terms=max(c["sizes"]))
