"""Finite-difference gradient checks in float64, apart from the torch comparisons.

For a scalar ``C = <g, f(x)>`` with a random upstream ``g``, the analytic gradient from
``backward(g)`` must match central differences ``(C(x + h e_i) - C(x - h e_i)) / 2h``.
"""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet.nn as snn
from scratchnet import losses, optim


def numeric_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f()
        x[i] = old - h
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


MODULES = {
    "Linear": lambda: snn.Linear(5, 4, dtype=np.float64, rng=np.random.default_rng(0)),
    "Sigmoid": snn.Sigmoid, "Tanh": snn.Tanh, "ReLU": snn.ReLU, "Softmax": snn.Softmax,
    "MLP": lambda: snn.Sequential(snn.Linear(5, 6, dtype=np.float64), snn.Tanh(), snn.Linear(6, 4, dtype=np.float64),
                                  snn.Sigmoid()),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_gradients_match_finite_differences(name: str):
    rng = np.random.default_rng(1)
    module = MODULES[name]()
    n_in = 5 if name in ("Linear", "MLP") else 4
    X = rng.standard_normal((3, n_in))
    if name == "ReLU":
        X[np.abs(X) < 0.05] = 0.5  # keep away from the kink, which has its own exact test
    g = rng.standard_normal(module(X).shape)
    module.zero_grad()
    module(X)
    dX = module.backward(g)
    np.testing.assert_allclose(dX, numeric_grad(lambda: float((module(X) * g).sum()), X), rtol=1e-6, atol=1e-8)
    for pname, p in module.named_parameters():
        expected = numeric_grad(lambda: float((module(X) * g).sum()), p.data)
        np.testing.assert_allclose(p.grad, expected, rtol=1e-6, atol=1e-8, err_msg=pname)


def test_parameter_gradients_accumulate_until_zero_grad():
    layer = snn.Linear(3, 2, dtype=np.float64)
    assert all(p.grad is None for p in layer.parameters())  # unset before any backward, as torch
    X, g = np.ones((4, 3)), np.ones((4, 2))
    layer(X)
    layer.backward(g)
    once = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer(X)
    layer.backward(g)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[name], err_msg=name)
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())


@pytest.mark.parametrize("make", [lambda: snn.Linear(3, 2, dtype=np.float64),
                                  lambda: snn.Conv2d(1, 2, 2, dtype=np.float64),
                                  lambda: snn.Conv2d(1, 2, 2, stride=2, dtype=np.float64),
                                  lambda: snn.BatchNorm1d(3, dtype=np.float64)],
                         ids=["Linear", "Conv2d-direct", "Conv2d-im2col", "BatchNorm1d"])
def test_zero_grad_unsets_and_the_next_backward_writes_a_fresh_gradient(make):
    """After ``zero_grad`` the next backward writes new arrays (stale NaN never reaches them)
    and leaves a gradient the caller kept alone; a step with every gradient unset moves nothing."""
    layer = make()
    X = np.ones((4, 1, 4, 4)) if isinstance(layer, snn.Conv2d) else np.arange(12.0).reshape(4, 3)
    g = np.random.default_rng(0).standard_normal(layer(X).shape)
    layer.backward(g)
    once = {name: p.grad.copy() for name, p in layer.named_parameters()}
    kept = {name: p.grad for name, p in layer.named_parameters()}
    for p in layer.parameters():
        p.grad[...] = np.nan  # stale values must never reach the next step
    layer.zero_grad()
    layer(X)
    layer.backward(g)
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(p.grad, once[name], err_msg=name)
        assert p.grad is not kept[name] and np.isnan(kept[name]).all(), name
    layer.zero_grad()
    before = {name: p.data.copy() for name, p in layer.named_parameters()}
    opt = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    opt.step()  # a step right after zero_grad moves nothing and makes no momentum buffer
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(p.data, before[name], err_msg=name)
    assert opt.state_dict()["state"] == {}


def test_an_optimizer_skips_only_the_parameters_without_a_gradient():
    """torch.optim skips a parameter whose ``.grad`` is None; the others still move."""
    a, b = snn.Parameter(np.ones(2)), snn.Parameter(np.ones(2))
    for opt in (optim.SGD([a, b], lr=0.5), optim.Adam([a, b], lr=0.5)):
        a.grad, b.grad = np.array([1.0, -1.0]), None
        a_before, b_before = a.data.copy(), b.data.copy()
        opt.step()
        assert not np.array_equal(a.data, a_before)
        np.testing.assert_array_equal(b.data, b_before)
        assert 1 not in opt.state_dict()["state"]


@pytest.mark.parametrize("name", ["QuadraticCost", "CrossEntropyCost", "CrossEntropyLoss", "MSELoss", "BCELoss"])
def test_loss_gradients_match_finite_differences(name: str):
    rng = np.random.default_rng(2)
    loss = getattr(losses, name)()
    y_hat = rng.uniform(0.05, 0.95, (4, 3)) if name != "CrossEntropyLoss" else rng.standard_normal((4, 3))
    target = rng.integers(0, 3, 4) if name == "CrossEntropyLoss" else rng.uniform(0, 1, (4, 3))
    loss(y_hat, target)
    analytic = loss.backward()
    np.testing.assert_allclose(analytic, numeric_grad(lambda: loss(y_hat, target), y_hat), rtol=1e-6, atol=1e-9)
