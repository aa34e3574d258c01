"""Every ``scratchnet.nn`` module and zoo model against torch (``registry.MODULES``, ``MODELS``).

torch's weights are copied into ours (``.numpy()`` only), then the output, the declared output
shape, ``dX`` and every parameter's gradient are compared under one random upstream gradient
with distinct values. float64 is the gate, float32 the smoke test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import (
    DESIGN_TOL,
    DEVICE,
    TORCH_DTYPE,
    SharedDropout,
    Terms,
    Tolerances,
    assert_close,
    assert_equal,
    copy_torch_weights,
    dtypes,
    to_torch,
)
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from registry import MODELS, MODULES
from strategies import arrays, seeds, upstream

import scratchnet.nn as snn

__all__ = ["TORCH_DTYPE", "run_pair"]  # test_conv_parity.py reuses them


def run_pair(ours, theirs: torch.nn.Module, X: np.ndarray, dtype, seed: int,
             out_shape: tuple[int, ...] | None = None, k_terms: int | Terms | None = None,
             tol: Tolerances = DESIGN_TOL) -> None:
    """Copy torch's weights into ours; compare the output, ``dX`` and every parameter's gradient.

    ``out_shape`` is the declared output shape both must produce. ``k_terms`` is required: the
    operation's :class:`helpers.Terms`, or an int, the forward's reduction length for a dense
    layer (then ``dX`` is judged over one output row's length and parameter gradients over the
    batch, the sums of ``dY W`` and ``dY^T X``).
    """
    what = type(ours).__name__
    if k_terms is None:
        raise TypeError(f"run_pair({what}): name the reduction lengths (k_terms), derived from the operation")
    terms = k_terms if isinstance(k_terms, Terms) else None
    theirs = theirs.to(DEVICE, TORCH_DTYPE[dtype])
    copy_torch_weights(ours, theirs)
    Y = ours(X)
    Xt = to_torch(X, requires_grad=True)
    Yt = theirs(Xt)
    if out_shape is not None:
        assert Y.shape == tuple(out_shape) == tuple(Yt.shape), (
            f"{what}: declared output shape {tuple(out_shape)}, scratchnet {Y.shape}, "
            f"torch {tuple(Yt.shape)}")
    if terms is None:
        terms = Terms(forward=k_terms, dx=max(1, Y[0].size if Y.ndim else 1), param=len(X))
    assert_close(f"{what} output", Y, Yt, dtype, "forward", terms.forward, tol)
    g = upstream(Y.shape, dtype, seed)
    dX = ours.backward(g)
    Yt.backward(to_torch(g))
    assert_close(f"{what} dX", dX, Xt.grad, dtype, "grad", terms.dx, tol)
    theirs_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == list(theirs_params), (
        f"{what}: parameters\n  scratchnet {list(ours_params)}\n  torch      {list(theirs_params)}")
    for name, p in ours_params.items():
        ref = theirs_params[name].grad
        assert_close(f"{what} d{name}", p.grad, ref, dtype, "grad", terms.param, tol)


@dtypes
@pytest.mark.parametrize("name", sorted(MODULES))
@given(data=st.data())
def test_module(name: str, dtype, data) -> None:
    """A drawn configuration and unique inputs: output, declared shape, dX, parameter grads."""
    e = MODULES[name]
    cfg = data.draw(e.configs, label="config")
    ours, theirs = e.ours(cfg, dtype), e.theirs(cfg)
    X = data.draw(arrays(cfg["input_shape"], dtype, e.lo, e.hi), label="X")
    seed = data.draw(seeds(), label="upstream seed")
    run_pair(ours, theirs, X, dtype, seed, e.out_shape(cfg), e.k_terms(cfg), e.tol)


@dtypes
@pytest.mark.parametrize("name", sorted(n for n, e in MODELS.items() if not e.costly))
@given(data=st.data())
def test_zoo_model(name: str, dtype, data) -> None:
    """Same state_dict keys and shapes; same output, dX and gradients with torch's weights."""
    check_zoo_model(name, dtype, data)


@dtypes
@pytest.mark.parametrize("name", sorted(n for n, e in MODELS.items() if e.costly))
@settings(max_examples=max(2, settings().max_examples // 10))
@given(data=st.data())
def test_zoo_cnn(name: str, dtype, data) -> None:
    """``test_zoo_model`` for the CNNs, at a tenth of the profile's examples (about 1 s each)."""
    check_zoo_model(name, dtype, data)


def check_zoo_model(name: str, dtype, data) -> None:
    """A drawn batch through both models: output, declared shape, dX, every parameter gradient.

    In training mode (BatchNorm on batch statistics, Dropout with masks shared between the
    libraries) and, for models with BatchNorm or Dropout, in evaluation mode too.
    """
    e = MODELS[name]
    cfg = data.draw(e.configs, label="config")
    ours, theirs = e.ours(dtype=dtype), e.theirs()
    SharedDropout(ours, theirs, cfg["seed"])
    kinks = Kinks(ours, theirs)
    shape = (cfg["N"], *e.input_shape) if cfg["images"] else (cfg["N"], int(np.prod(e.input_shape)))
    X = np.random.default_rng(cfg["seed"]).random(shape).astype(dtype)
    modes = ["train", "eval"] if e.eval_mode else ["train"]
    for i, mode in enumerate(modes):  # evaluation: the running statistics one training step left
        ours.train(mode == "train")
        theirs.train(mode == "train")
        ours.zero_grad()
        theirs.zero_grad()
        try:
            run_pair(ours, theirs, X, dtype, cfg["seed"] + 1 + i, (cfg["N"], e.out_features), e.k_terms, e.tol)
        except AssertionError:
            kinks.reject_if_near_kink(dtype)
            raise


class Kinks:
    """Where each library's forward pass fell at a kink: max-pool winners and ReLU signs.

    A max-pool sends each window's gradient to one input, a ReLU passes it only where its input
    is positive. Deep in a float32 network two inputs of a window can lie within rounding of each
    other, or a ReLU's input within rounding of 0; the libraries may then route the gradient
    differently. That is an accidental kink (DESIGN: generic inputs avoid ties and kinks), so a
    float32 example whose routes differ, and only at such near-kinks, is rejected; any other
    difference, and every float64 one, stays a failure.
    """

    def __init__(self, ours, theirs: torch.nn.Module) -> None:
        kinds = (snn.MaxPool2d, snn.ReLU)
        self.ours = [m for m in ours._modules() if isinstance(m, kinds)]
        self.theirs = [m for m in theirs.modules() if isinstance(m, torch.nn.MaxPool2d | torch.nn.ReLU)]
        assert [type(m).__name__ for m in self.ours] == [type(m).__name__ for m in self.theirs]
        self.inputs: dict[int, torch.Tensor] = {}
        for i, m in enumerate(self.theirs):
            m.register_forward_hook(self._keep_input(i))

    def _keep_input(self, i: int):
        def hook(module, inputs, output):
            self.inputs[i] = inputs[0].detach()
        return hook

    def _routes(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Layer i's routes in each library (max-pool winners or ReLU signs, from ``MaxPool2d.saved["argmax"]``
        and ``ReLU.saved["A"]``) and how far torch's input is from the kink at each."""
        ours, theirs, x = self.ours[i], self.theirs[i], self.inputs[i]
        if isinstance(theirs, torch.nn.ReLU):
            z = x.cpu().double().numpy()
            return ours.saved["A"] > 0, z > 0, np.abs(z)
        _, idx = torch.nn.functional.max_pool2d(x, theirs.kernel_size, theirs.stride, theirs.padding,
                                                return_indices=True)
        flat = x.flatten(2).cpu().double().numpy()                                # (N, C, H*W)
        mine, best = ours.saved["argmax"].reshape(*flat.shape[:2], -1), idx.flatten(2).cpu().numpy()
        gap = np.abs(np.take_along_axis(flat, mine, 2) - np.take_along_axis(flat, best, 2))
        return mine, best, gap

    def reject_if_near_kink(self, dtype) -> None:
        """``hypothesis.reject()`` when the routes differ, and only within float32 rounding of a kink."""
        if np.dtype(dtype) != np.float32 or len(self.inputs) != len(self.theirs) or not self.ours:
            return
        tol, differ = DESIGN_TOL.get(dtype, "forward"), False
        for i in range(len(self.ours)):
            try:
                mine, theirs, distance = self._routes(i)
            except (AttributeError, KeyError):  # a layer no longer keeps what this reads: no verdict
                return
            where = mine != theirs
            scale = max(1.0, float(self.inputs[i].abs().max()))
            if where.any():
                differ = True
                if (distance[where] > tol.atol * scale).any():
                    return  # a real disagreement: let the failure stand
        if differ:
            reject()


# ----------------------------------------------------------------------- kinks and extremes, exact


@dtypes
def test_relu_module_at_exactly_zero(dtype) -> None:
    """``ReLU'(0) = 0`` in both: exact zeros (both signs) give exactly equal values and grads."""
    X = np.array([[0.0, -0.0, 1.5, -2.0, 0.0]], dtype=dtype)
    g = np.array([[3.0, -1.0, 2.0, 0.5, -4.0]], dtype=dtype)
    ours = snn.ReLU()
    Xt = to_torch(X, requires_grad=True)
    Yt = torch.relu(Xt)
    Yt.backward(to_torch(g))
    assert_equal("ReLU output at 0", ours(X), Yt)
    assert_equal("ReLU dX at 0", ours.backward(g), Xt.grad)
    assert ours.backward(g)[0].tolist() == [0.0, 0.0, 2.0, 0.0, 0.0]


@dtypes
def test_softmax_module_at_700(dtype) -> None:
    X = np.array([[700.0, -700.0, 0.0], [-700.0, -699.0, -698.0], [700.0, 700.0, 700.0]],
                 dtype=dtype)
    run_pair(snn.Softmax(1), torch.nn.Softmax(1), X, dtype, seed=2, out_shape=X.shape, k_terms=3)
