"""Bad input to scratchnet.nn, losses, optimizers, initialisers and the zoo: each error names the
layer or function, what it expected and what it got. Also the module contract's bookkeeping:
outputs the caller holds are never overwritten, ``release()`` drops what forwards saved, and
``needs_input_grad`` reaches every layer.
"""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet.nn as snn
from scratchnet import init, losses, models, optim


def test_linear_wrong_feature_count_names_layer_and_both_shapes() -> None:
    model = models.book_mlp()
    with pytest.raises(
        ValueError,
        match=r"Linear\(784, 30\): expected 784 input features \(axis 1\), got input "
        r"of shape \(5, 783\) for weight of shape \(30, 784\)",
    ):
        model(np.zeros((5, 783), np.float32))
    with pytest.raises(ValueError, match=r"Linear\(784, 30\): .* got input of shape \(5, 900\)"):
        model(np.zeros((5, 1, 30, 30), np.float32))  # flattened to 900 features


@pytest.mark.parametrize(
    ("module", "X", "error", "message"),
    [
        (
            lambda: snn.Linear(3, 2),
            np.zeros((4, 3)),
            TypeError,
            r"Linear\(3, 2\): input dtype float64 does not match the layer's float32",
        ),
        (
            lambda: snn.Linear(3, 2),
            np.zeros((4, 3), np.int64),
            TypeError,
            r"Linear\(3, 2\): input dtype int64",
        ),
        (
            lambda: snn.Linear(3, 2),
            [[1.0, 2.0, 3.0]],
            TypeError,
            r"Linear\(3, 2\): expected a NumPy array, got list",
        ),
        (
            snn.Sigmoid,
            np.zeros((2, 2), np.int32),
            TypeError,
            r"Sigmoid: expected a float32/float64 array, got int32",
        ),
        (snn.ReLU, "x", TypeError, "ReLU: expected a float32/float64 array, got str"),
        (
            lambda: snn.Softmax(1),
            np.zeros(3),
            ValueError,
            r"Softmax: expected an \(N, C\) array, got shape \(3,\)",
        ),
        (
            lambda: snn.Softmax(1),
            np.zeros((2, 3), np.int64),
            TypeError,
            "Softmax: expected a float32/float64 array",
        ),
        (snn.Flatten, 3.0, ValueError, "Flatten: expected an array with a batch axis"),
    ],
)
def test_module_rejects_bad_input(module, X, error, message: str) -> None:
    with pytest.raises(error, match=message):
        module()(X)


def test_unsupported_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="Softmax: only dim=1"):
        snn.Softmax(0)
    with pytest.raises(ValueError, match="Flatten: only start_dim=1"):
        snn.Flatten(2)
    with pytest.raises(ValueError, match="Linear: sizes must be positive, got in=0, out=3"):
        snn.Linear(0, 3)


@pytest.mark.parametrize(
    "module",
    [snn.Sigmoid, lambda: snn.Softmax(1), snn.Flatten, lambda: snn.Linear(3, 2, dtype=np.float64)],
)
def test_backward_checks_the_gradient(module) -> None:
    m = module()
    name = type(m).__name__
    with pytest.raises(RuntimeError, match=f"{name}.*backward called before forward"):
        m.backward(np.zeros((4, 2)))
    m(np.zeros((4, 3)))
    with pytest.raises(
        ValueError,
        match=rf"{name}.*backward got a gradient of shape \(4, 7\), but the forward "
        r"output had shape \(4, [23]\)",
    ):
        m.backward(np.zeros((4, 7)))
    with pytest.raises(TypeError, match=f"{name}.*backward expected a NumPy array, got list"):
        m.backward([[0.0]])


def test_load_state_dict_rejects_non_numeric_values() -> None:
    layer = snn.Linear(2, 2)
    with pytest.raises(
        TypeError,
        match=r"Linear.load_state_dict: bias has dtype <U1, expected float32 "
        r"\(shape \(2,\)\)",
    ):
        layer.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.array(["a", "b"])})
    layer.load_state_dict(
        {"weight": np.ones((2, 2)), "bias": np.ones(2)}
    )  # float64 -> float32, as torch
    assert layer.weight.data.dtype == np.float32 and layer.weight.data.sum() == 4


@pytest.mark.parametrize(
    ("loss", "y_hat", "y", "error", "message"),
    [
        (
            losses.QuadraticCost,
            np.zeros(3),
            np.zeros(3),
            ValueError,
            r"QuadraticCost: predictions must be \(N, C\), got shape \(3,\)",
        ),
        (
            losses.MSELoss,
            np.zeros((2, 3), np.int64),
            np.zeros((2, 3)),
            TypeError,
            r"MSELoss: predictions must be float32 or float64, got int64 \(2, 3\)",
        ),
        (
            losses.QuadraticCost,
            np.zeros((2, 3)),
            np.full((2, 3), np.inf),
            ValueError,
            r"QuadraticCost: targets of shape \(2, 3\) are not all finite "
            r"\(first at \(0, 0\): inf\)",
        ),
        (
            losses.BCELoss,
            np.full((2, 3), 0.5),
            np.array([["a"] * 3] * 2),
            TypeError,
            "BCELoss: targets must be a real NumPy array, got <U1",
        ),
        (
            losses.BCELoss,
            np.full((1, 2), -0.5),
            np.zeros((1, 2)),
            ValueError,
            r"BCELoss: inputs must lie in \[0, 1\], got range \[-0.5, -0.5\] in shape \(1, 2\)",
        ),
        (
            losses.CrossEntropyCost,
            np.full((1, 2), np.nan),
            np.zeros((1, 2)),
            ValueError,
            r"CrossEntropyCost: predictions of shape \(1, 2\) are not all finite "
            r"\(first at \(0, 0\): nan\)",
        ),
        (
            losses.CrossEntropyLoss,
            np.zeros((2, 3)),
            np.array([0, -1]),
            ValueError,
            r"CrossEntropyLoss: class index -1 is out of range \[0, 3\) "
            r"for logits of shape \(2, 3\) "
            r"\(row 1 of targets \(2,\)\)",
        ),
        (
            losses.CrossEntropyLoss,
            np.zeros((2, 3)),
            np.array([0, 1, 2]),
            ValueError,
            r"CrossEntropyLoss: targets of shape \(3,\) do not match logits of shape \(2, 3\)",
        ),
        (
            losses.CrossEntropyLoss,
            np.array([[0.0, np.inf]]),
            np.array([0]),
            ValueError,
            r"CrossEntropyLoss: logits of shape \(1, 2\) are not all finite "
            r"\(first at \(0, 1\): inf\)",
        ),
    ],
)
def test_loss_rejects_bad_input(loss, y_hat, y, error, message: str) -> None:
    with pytest.raises(error, match=message):
        loss()(y_hat, y)


def test_loss_backward_before_forward() -> None:
    with pytest.raises(RuntimeError, match="MSELoss: backward called before forward"):
        losses.MSELoss().backward()


def test_optimizer_arguments_and_state() -> None:
    p = [snn.Parameter(np.zeros((2, 3)))]
    with pytest.raises(ValueError, match="SGD: lr, momentum, weight_decay must be >= 0, got -1"):
        optim.SGD(p, lr=-1)
    opt = optim.SGD(p, lr=0.1, momentum=0.9)
    with pytest.raises(
        ValueError,
        match=r"SGD.load_state_dict: momentum_buffer of parameter 0 has shape \(3,\), "
        r"expected \(2, 3\)",
    ):
        opt.load_state_dict({"state": {0: {"momentum_buffer": np.zeros(3)}}, "param_groups": []})
    with pytest.raises(ValueError, match="state for parameter 4, but there are 1 parameters"):
        opt.load_state_dict(
            {"state": {4: {"momentum_buffer": np.zeros((2, 3))}}, "param_groups": []}
        )


def test_init_and_zoo_names() -> None:
    with pytest.raises(TypeError, match="init: rng must be a np.random.Generator or a randn"):
        init.book_default(snn.Linear(2, 2), rng=42)
    with pytest.raises(ValueError, match=r"unknown model 'book'; expected one of \['book_conv', 'book_mlp'"):
        models.build("book")


def test_held_outputs_are_never_overwritten() -> None:
    """A later forward or backward never writes into an array an earlier call returned."""
    rng = np.random.default_rng(0)
    model = models.book_mlp(np.float64, rng)
    X1, X2 = rng.random((4, 784)), rng.random((4, 784))
    y1 = model(X1)
    kept = y1.copy()
    hidden = model[2](model[1](X1))  # a hidden activation, held by the caller
    hidden_kept = hidden.copy()
    y2 = model(X2)
    assert y2 is not y1
    np.testing.assert_array_equal(y1, kept)
    np.testing.assert_array_equal(hidden, hidden_kept)
    g = rng.standard_normal((4, 10))
    dX = model.backward(g)
    dX_kept = dX.copy()
    model(X1)
    model.backward(rng.standard_normal((4, 10)))
    np.testing.assert_array_equal(dX, dX_kept)


def test_release_drops_what_every_forward_saved_and_backward_then_names_the_module() -> None:
    """One place for what a forward keeps (``saved``), one method that drops it (``release``)."""
    rng = np.random.default_rng(1)
    model = models.book_conv(np.float64, rng)
    model.train()
    model(rng.random((2, 1, 28, 28)))
    layers = [m for m in model._modules() if not isinstance(m, snn.Sequential)]
    assert all(m.saved for m in layers), [m.name for m in layers if not m.saved]
    model.release()
    assert not any(m.saved for m in model._modules())
    with pytest.raises(RuntimeError, match=r"Linear\(\d+, 10\): backward called before forward"):
        model.backward(rng.standard_normal((2, 10)))


def test_needs_input_grad_is_passed_to_every_layer_and_stops_at_the_first_with_parameters() -> None:
    """``Sequential.backward(needs_input_grad=False)``: layers before the first with parameters
    are not run, that one is told it needs no ``dX``, the rest compute theirs."""
    calls: list[tuple[str, bool]] = []

    class Spy(snn.Module):
        def __init__(self, inner: snn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, X: np.ndarray) -> np.ndarray:
            return self.inner(X)

        def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
            calls.append((self.inner.name, needs_input_grad))
            return self.inner.backward(dY, needs_input_grad)

    rng = np.random.default_rng(2)
    model = snn.Sequential(Spy(snn.Flatten()), Spy(snn.Linear(6, 4, dtype=np.float64, rng=rng)),
                           Spy(snn.ReLU()), Spy(snn.Linear(4, 3, dtype=np.float64, rng=rng)))
    model(rng.standard_normal((5, 2, 3)))
    assert model.backward(rng.standard_normal((5, 3)), needs_input_grad=False) is None
    assert calls == [("Linear(4, 3)", True), ("ReLU", True), ("Linear(6, 4)", False)]
    calls.clear()
    assert model.backward(rng.standard_normal((5, 3))).shape == (5, 2, 3)
    assert [need for _, need in calls] == [True] * 4
