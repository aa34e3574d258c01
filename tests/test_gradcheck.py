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
    X, g = np.ones((4, 3)), np.ones((4, 2))
    layer(X)
    layer.backward(g)
    once = layer.weight.grad.copy()
    layer(X)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert not layer.weight.grad.any()


def test_zero_grad_is_lazy_but_reads_as_zeros():
    """``zero_grad`` only marks; a read fills; the next backward overwrites (stale NaN included)."""
    layer = snn.Linear(3, 2, dtype=np.float64)
    X, g = np.ones((4, 3)), np.ones((4, 2))
    layer(X)
    layer.backward(g)
    once = {name: p.grad.copy() for name, p in layer.named_parameters()}
    for p in layer.parameters():
        p.grad[...] = np.nan  # stale values must never reach the next step
    layer.zero_grad()
    layer(X)
    layer.backward(g)
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(p.grad, once[name], err_msg=name)
    layer.zero_grad()
    before = layer.weight.data.copy()
    optim.SGD(layer.parameters(), lr=0.1).step()  # a step right after zero_grad moves nothing
    np.testing.assert_array_equal(layer.weight.data, before)


@pytest.mark.parametrize("name", ["QuadraticCost", "CrossEntropyCost", "CrossEntropyLoss", "MSELoss", "BCELoss"])
def test_loss_gradients_match_finite_differences(name: str):
    rng = np.random.default_rng(2)
    loss = getattr(losses, name)()
    y_hat = rng.uniform(0.05, 0.95, (4, 3)) if name != "CrossEntropyLoss" else rng.standard_normal((4, 3))
    target = rng.integers(0, 3, 4) if name == "CrossEntropyLoss" else rng.uniform(0, 1, (4, 3))
    loss(y_hat, target)
    analytic = loss.backward()
    np.testing.assert_allclose(analytic, numeric_grad(lambda: loss(y_hat, target), y_hat), rtol=1e-6, atol=1e-9)
