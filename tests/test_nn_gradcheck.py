"""Finite-difference checks of scratchnet.nn, losses and kernels in float64, apart from torch.

Each check compares an analytic gradient with central differences of the forward pass alone.
For small inputs every coordinate is perturbed; for the zoo models (tens of thousands of
parameters) the directional derivative along random directions ``v`` is checked instead:
``(C(x + h v) - C(x - h v)) / 2h`` against ``<dC/dx, v>``.
"""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet.nn as snn
from scratchnet import losses, models
from scratchnet.kernels import activations

H = 1e-6
RTOL, ATOL = 1e-6, 1e-9  # central differences in float64 are good to about h^2 + eps / h


def numeric_grad(f, x: np.ndarray, h: float = H) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every entry of ``x`` (in place)."""
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


def directional(f, x: np.ndarray, v: np.ndarray, h: float = H) -> float:
    """``(f(x + h v) - f(x - h v)) / 2h``, restoring ``x``."""
    old = x.copy()
    x += h * v
    up = f()
    x[...] = old - h * v
    down = f()
    x[...] = old
    return (up - down) / (2 * h)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_every_gradient(bias: bool) -> None:
    rng = np.random.default_rng(0)
    layer = snn.Linear(6, 4, bias, dtype=np.float64, rng=rng)
    X, g = rng.standard_normal((5, 6)), rng.standard_normal((5, 4))
    C = lambda: float((layer(X) * g).sum())
    layer(X)
    dX = layer.backward(g)
    np.testing.assert_allclose(dX, numeric_grad(C, X), rtol=RTOL, atol=ATOL)
    names = [name for name, _ in layer.named_parameters()]
    assert names == (["weight", "bias"] if bias else ["weight"])
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(
            p.grad, numeric_grad(C, p.data), rtol=RTOL, atol=ATOL, err_msg=name
        )


@pytest.mark.parametrize(
    "module", [snn.Sigmoid, snn.Tanh, snn.ReLU, lambda: snn.Softmax(1), snn.Flatten]
)
def test_parameterless_module_input_gradient(module) -> None:
    rng = np.random.default_rng(1)
    m = module()
    X = rng.uniform(-3, 3, (3, 2, 3)) if isinstance(m, snn.Flatten) else rng.uniform(-3, 3, (4, 5))
    X[np.abs(X) < 1e-3] = 0.5  # keep ReLU away from its kink (tested exactly below)
    g = rng.standard_normal(m(X).shape)
    m(X)
    np.testing.assert_allclose(
        m.backward(g), numeric_grad(lambda: float((m(X) * g).sum()), X), rtol=RTOL, atol=ATOL
    )


def test_relu_kink_is_zero_and_nan_propagates() -> None:
    relu = snn.ReLU()
    X = np.array([[0.0, -0.0, 2.0, -1.0, np.nan]])
    A = relu(X)
    assert np.array_equal(A[0, :4], [0.0, 0.0, 2.0, 0.0]) and np.isnan(A[0, 4])
    assert np.array_equal(relu.backward(np.full((1, 5), 3.0)), [[0.0, 0.0, 3.0, 0.0, 0.0]])


def test_bias_backward_kernel_accumulates() -> None:
    g = np.random.default_rng(2).standard_normal((3, 5))
    db = np.full(5, 0.25)
    np.testing.assert_allclose(activations.bias_backward(g, db), 0.25 + g.sum(axis=0), rtol=1e-15)


@pytest.mark.parametrize(
    "name", ["QuadraticCost", "CrossEntropyCost", "CrossEntropyLoss", "MSELoss", "BCELoss"]
)
def test_loss_gradient(name: str) -> None:
    rng = np.random.default_rng(3)
    loss = getattr(losses, name)()
    if name == "CrossEntropyLoss":
        y_hat, y = rng.uniform(-5, 5, (6, 4)), rng.integers(0, 4, 6)
    else:
        y_hat, y = rng.uniform(0.05, 0.95, (6, 4)), rng.uniform(0, 1, (6, 4))
    loss(y_hat, y)
    np.testing.assert_allclose(
        loss.backward(), numeric_grad(lambda: loss(y_hat, y), y_hat), rtol=RTOL, atol=ATOL
    )


def test_cross_entropy_loss_at_extreme_logits() -> None:
    """Logits of +-700 overflow exp in float64: the value stays exact and the gradient finite."""
    z = np.array([[700.0, -700.0, 0.0], [-700.0, -699.0, -698.0]])
    loss = losses.CrossEntropyLoss()
    value = loss(z, np.array([1, 2]))
    lse2 = -698.0 + np.log1p(np.exp(-1.0) + np.exp(-2.0))
    np.testing.assert_allclose(value, ((700.0 + 700.0) + (lse2 + 698.0)) / 2, rtol=1e-12)
    grad = loss.backward()
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)  # softmax - onehot sums to 0


@pytest.mark.parametrize("name", sorted(models.SPECS))
def test_zoo_model_directional_derivatives(name: str) -> None:
    """Through the whole model and its training loss: dX and every parameter's gradient."""
    rng = np.random.default_rng(4)
    model = models.build(name, dtype=np.float64, rng=rng)
    loss_name = models.SPECS[name].loss
    X = rng.random((3, *models.SPECS[name].input_shape))
    if loss_name == "vae":  # three outputs; eps fixed, so C is a function of X and the weights
        vae_loss, eps = losses.VAELoss(beta=3.0), rng.standard_normal((3, 2))
        bce_target = X.copy()  # the BCE target stays put: dX is the encoder input's gradient

        def C() -> float:
            X_hat, mu, logvar = model(X, eps)
            return vae_loss(X_hat, bce_target, mu, logvar)

        model.zero_grad()
        C()
        dX = model.backward(*vae_loss.backward(), needs_input_grad=True)
        for target, grad, label in [(X, dX, "dX")] + [(p.data, p.grad, k) for k, p in model.named_parameters()]:
            v = rng.standard_normal(target.shape)
            np.testing.assert_allclose(np.vdot(grad, v), directional(C, target, v, H), rtol=1e-5, atol=1e-10,
                                       err_msg=f"{name}: {label}")
        return
    if loss_name == "cross_entropy":
        loss, y = losses.CrossEntropyLoss(), rng.integers(0, 10, 3)
    else:
        loss = {
            "quadratic": losses.QuadraticCost,
            "cross_entropy_sigmoid": losses.CrossEntropyCost,
            "mse_onehot": losses.MSELoss,
        }[loss_name]()
        y = np.eye(10)[rng.integers(0, 10, 3)]
    dropouts = [m for m in model._modules() if isinstance(m, snn.Dropout)]
    # a CNN has thousands of ReLU and max-pool kinks: a step of 1e-6 along a random direction of
    # every weight at once crosses some (the difference quotient converges only below it)
    h = 1e-7 if name in ("book_conv", "fashion_cnn", "cifar_cnn") else H

    def C() -> float:  # every evaluation drops the same units (BatchNorm uses the batch's statistics)
        for i, m in enumerate(dropouts):
            m.rng = np.random.default_rng(i)
        return loss(model(X), y)

    model.zero_grad()
    C()
    dX = model.backward(loss.backward())
    for target, grad, label in [(X, dX, "dX")] + [
        (p.data, p.grad, k) for k, p in model.named_parameters()
    ]:
        v = rng.standard_normal(target.shape)
        np.testing.assert_allclose(
            np.vdot(grad, v),
            directional(C, target, v, h),
            rtol=1e-5,
            atol=1e-10,
            err_msg=f"{name}: {label}",
        )


def test_skipping_input_gradient_leaves_parameter_gradients_unchanged() -> None:
    rng = np.random.default_rng(5)
    model = models.book_mlp(np.float64, rng)
    X, g = rng.random((4, 784)), rng.standard_normal((4, 10))
    model(X)
    assert model.backward(g).shape == X.shape
    full = {k: p.grad.copy() for k, p in model.named_parameters()}
    model.zero_grad()
    model(X)
    assert model.backward(g, needs_input_grad=False) is None
    for k, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, full[k], err_msg=k)


def test_gradients_accumulate_until_zero_grad() -> None:
    rng = np.random.default_rng(6)
    model = snn.Sequential(
        snn.Linear(3, 4, dtype=np.float64, rng=rng),
        snn.Tanh(),
        snn.Linear(4, 2, dtype=np.float64, rng=rng),
    )
    X1, X2 = rng.standard_normal((5, 3)), rng.standard_normal((2, 3))
    g1, g2 = rng.standard_normal((5, 2)), rng.standard_normal((2, 2))
    grads = []
    for X, g in ((X1, g1), (X2, g2)):
        model.zero_grad()
        model(X)
        model.backward(g)
        grads.append({k: p.grad.copy() for k, p in model.named_parameters()})
    model.zero_grad()
    for X, g in ((X1, g1), (X2, g2)):
        model(X)
        model.backward(g)
    for k, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[0][k] + grads[1][k], rtol=1e-14, err_msg=k)
