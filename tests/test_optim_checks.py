"""``scratchnet.optim``: the hyper-parameters it accepts, and its state in and out.

Trajectory and resuming tests use valid hyper-parameters and load what the same optimizer
saved, so they cannot see these (mutmut found them unchecked): the edges of the accepted ranges
(a learning rate of 0 is allowed, as in torch; beta2 = 1 is not), a state dict that keeps
aliasing the live buffers, an index one past the last parameter accepted, state restored in the
wrong dtype, hyper-parameters not restored.
"""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet import optim
from scratchnet.nn import Parameter


def _stepped(cls, dtype=np.float64, **kwargs) -> tuple[optim.Optimizer, Parameter]:
    p = Parameter(np.arange(6, dtype=dtype).reshape(2, 3))
    opt = cls([p], **kwargs)
    for _ in range(2):
        p.grad = np.full_like(p.data, 0.5)
        opt.step()
    return opt, p


CASES = [(optim.SGD, {"lr": 0.1, "momentum": 0.9}), (optim.Adam, {"lr": 0.01}), (optim.AdamW, {"lr": 0.01})]


@pytest.mark.parametrize("cls, kwargs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_state_dict_is_a_snapshot(cls, kwargs) -> None:
    opt, p = _stepped(cls, **kwargs)
    sd = opt.state_dict()
    saved = {k: np.array(v, copy=True) for k, v in sd["state"][0].items()}
    p.grad = np.full_like(p.data, -3.0)
    opt.step()
    for k, v in sd["state"][0].items():
        assert np.array_equal(np.asarray(v), saved[k]), f"{cls.__name__}.state_dict()['state'][0][{k!r}] moved"


@pytest.mark.parametrize("cls, kwargs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_state_for_a_parameter_past_the_last_is_refused(cls, kwargs) -> None:
    opt, _ = _stepped(cls, **kwargs)
    sd = opt.state_dict()
    sd["state"] = {1: sd["state"][0]}
    with pytest.raises(ValueError, match=rf"{cls.__name__}.load_state_dict: state for parameter 1, "
                                         r"but there are 1 parameters"):
        opt.load_state_dict(sd)


@pytest.mark.parametrize("cls, kwargs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_loaded_state_takes_the_parameters_dtype(cls, kwargs) -> None:
    """A float64 state (torch's, say) loaded beside float32 parameters is stored as float32."""
    src, _ = _stepped(cls, np.float64, **kwargs)
    dst, _ = _stepped(cls, np.float32, **kwargs)
    dst.load_state_dict(src.state_dict())
    arrays = {k: v for k, v in dst.state[0].items() if isinstance(v, np.ndarray)}
    assert arrays, f"{cls.__name__} keeps no array state to check"
    for k, v in arrays.items():
        assert v.dtype == np.float32, f"{cls.__name__}: loaded {k} is {v.dtype}, expected float32"
        assert np.array_equal(v, np.asarray(src.state[0][k]).astype(np.float32))


@pytest.mark.parametrize("cls, kwargs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_hyper_parameters_come_back_from_param_groups(cls, kwargs) -> None:
    src, _ = _stepped(cls, **{**kwargs, "lr": 0.025, "weight_decay": 0.5})
    dst, _ = _stepped(cls, **kwargs)
    dst.load_state_dict(src.state_dict())
    assert dst.defaults == src.defaults


def _param() -> list[Parameter]:
    return [Parameter(np.zeros(3))]


@pytest.mark.parametrize("make", [
    lambda: optim.SGD(_param(), lr=0.0),
    lambda: optim.SGD(_param(), lr=0.1, momentum=0.0, weight_decay=0.0),
    lambda: optim.Adam(_param(), lr=0.0),
    lambda: optim.Adam(_param(), eps=0.0),
    lambda: optim.Adam(_param(), betas=(0.0, 0.0)),
    lambda: optim.AdamW(_param(), lr=0.0, weight_decay=0.0),
], ids=["sgd-lr0", "sgd-zeros", "adam-lr0", "adam-eps0", "adam-betas0", "adamw-lr0"])
def test_the_edges_torch_accepts_are_accepted(make) -> None:
    make()


@pytest.mark.parametrize("make, message", [
    (lambda: optim.SGD(_param(), lr=-0.1), r"SGD: lr, momentum, weight_decay must be >= 0, got -0.1, 0.0, 0.0"),
    (lambda: optim.SGD(_param(), lr=0.1, momentum=-0.5), r"SGD: .* got 0.1, -0.5, 0.0"),
    (lambda: optim.SGD(_param(), lr=0.1, weight_decay=-1.0), r"SGD: .* got 0.1, 0.0, -1.0"),
    (lambda: optim.SGD(_param(), lr=0.1, nesterov=True),
     r"^SGD: Nesterov momentum requires a momentum and zero dampening$"),
    (lambda: optim.Adam(_param(), lr=-1e-3), r"Adam"),
    (lambda: optim.Adam(_param(), eps=-1e-8), r"Adam"),
    (lambda: optim.Adam(_param(), betas=(1.0, 0.999)), r"Adam"),
    (lambda: optim.Adam(_param(), betas=(0.9, 1.0)), r"Adam"),
    (lambda: optim.Adam(_param(), betas=(0.9, 1.5)), r"Adam"),
], ids=["sgd-lr", "sgd-momentum", "sgd-weight-decay", "nesterov",
         "adam-lr", "adam-eps", "adam-beta1", "adam-beta2-one", "adam-beta2-big"])
def test_what_torch_refuses_is_refused(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_momentum_of_one_keeps_its_buffer() -> None:
    """torch's rule ``buf = mu buf + g`` (``buf = g`` at the first step) also at ``mu = 1``:
    the steps are ``g1``, ``g1 + g2``, ``g1 + g2 + g3`` (values exact in binary)."""
    p = Parameter(np.zeros(2))
    opt = optim.SGD([p], lr=0.5, momentum=1.0)
    grads = [np.array([1.0, -2.0]), np.array([0.5, 0.25]), np.array([-0.125, 4.0])]
    for g in grads:
        p.grad = g.copy()
        opt.step()
    expected = -0.5 * (grads[0] + (grads[0] + grads[1]) + (grads[0] + grads[1] + grads[2]))
    assert np.array_equal(p.data, expected)


def test_a_state_dict_without_param_groups_restores_the_state_only() -> None:
    src, _ = _stepped(optim.SGD, lr=0.1, momentum=0.9)
    dst, _ = _stepped(optim.SGD, lr=0.2, momentum=0.9)
    dst.load_state_dict({"state": src.state_dict()["state"]})
    assert np.array_equal(dst.state[0]["momentum_buffer"], src.state[0]["momentum_buffer"])
    assert dst.defaults["lr"] == 0.2
