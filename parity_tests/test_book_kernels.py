"""The book's fused whole-epoch kernel against torch, step by step, and its forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from parity_harness import DEVICE, assert_close, to_torch

from scratchnet.kernels import fused_mlp as F

TORCH_ACT = {F.SIGMOID: torch.sigmoid, F.TANH: torch.tanh, F.RELU: torch.relu}


def torch_epoch(Ws, bs, X, Y, order, m, eta, lmbda, n, act, cost, out_softmax):
    """The book's update with autograd: per mini-batch, sum of per-sample costs, then the step."""
    Wt = [to_torch(w, requires_grad=True) for w in Ws]
    bt = [to_torch(b.reshape(-1), requires_grad=True) for b in bs]
    for s in range(0, len(order), m):
        idx = order[s:s + m]
        A = to_torch(X[idx])
        for l, (w, b) in enumerate(zip(Wt, bt, strict=True)):
            Z = A @ w.T + b
            if l < len(Wt) - 1:
                A = TORCH_ACT[act](Z)
            else:
                A = torch.softmax(Z, 1) if out_softmax else torch.sigmoid(Z)
        y = to_torch(Y[idx])
        if cost == F.QUADRATIC:
            C = 0.5 * ((A - y) ** 2).sum()
        elif cost == F.CROSS_ENTROPY:
            C = torch.nn.functional.binary_cross_entropy(A, y, reduction="sum")
        else:
            C = -(torch.log(A) * y).sum()
        for t in Wt + bt:
            t.grad = None
        C.backward()
        with torch.no_grad():
            k = len(idx)
            for w in Wt:
                w.copy_((1 - eta * (lmbda / n)) * w - (eta / k) * w.grad)
            for b in bt:
                b.copy_(b - (eta / k) * b.grad)
    return Wt, bt


@pytest.mark.parametrize("cost", [F.QUADRATIC, F.CROSS_ENTROPY, F.LOG_LIKELIHOOD])
@settings(max_examples=min(settings().max_examples, 15))
@given(data=st.data())
def test_sgd_epoch_matches_torch(cost: int, data) -> None:
    sizes = data.draw(st.lists(st.integers(2, 12), min_size=2, max_size=4), label="sizes")
    act = data.draw(st.sampled_from([F.SIGMOID, F.TANH, F.RELU]), label="activation") \
        if cost != F.QUADRATIC else F.SIGMOID
    n = data.draw(st.integers(1, 40), label="n")
    m = data.draw(st.integers(1, 10), label="mini_batch_size")
    eta, lmbda = data.draw(st.sampled_from([0.1, 0.5, 3.0])), data.draw(st.sampled_from([0.0, 5.0]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    Ws = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.standard_normal((b, 1)) for b in sizes[1:]]
    X = rng.random((n, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    order = rng.permutation(n)
    Wt, bt = torch_epoch(Ws, bs, X, Y, order, m, eta, lmbda, n, act, cost, cost == F.LOG_LIKELIHOOD)
    F.train_epoch(X, Y, order, m, eta, lmbda, n, Ws, bs, act=act,
                  out_act=F.SOFTMAX if cost == F.LOG_LIKELIHOOD else F.SIGMOID, cost=cost)
    for l in range(len(Ws)):
        assert_close(f"W[{l}] after one epoch", Ws[l], Wt[l], np.float64, "grad", k_terms=m)
        assert_close(f"b[{l}] after one epoch", bs[l].reshape(-1), bt[l], np.float64, "grad", k_terms=m)
    Xq = rng.random((5, sizes[0]))
    out = F.predict(Xq, Ws, bs, act, F.SIGMOID)
    A = to_torch(Xq)
    for l, (w, b) in enumerate(zip(Ws, bs, strict=True)):
        Z = A @ to_torch(w).T + to_torch(b.reshape(-1))
        A = TORCH_ACT[act](Z) if l < len(Ws) - 1 else torch.sigmoid(Z)
    assert_close("predict", out, A, np.float64, "forward", k_terms=max(sizes))
    assert DEVICE is not None
