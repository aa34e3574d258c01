"""Optimizers: torch.optim's state_dict layout, first-step rules, and exact resumption."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scratchnet.nn as snn
from scratchnet import optim

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
]


def params(rng: np.random.Generator) -> list[snn.Parameter]:
    return [snn.Parameter(rng.standard_normal((3, 4))), snn.Parameter(rng.standard_normal(3))]


def run(opt, ps, grads) -> None:
    for g in grads:
        for p, gp in zip(ps, g, strict=True):
            p.grad = gp.copy()  # as torch: assign a gradient
        opt.step()


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS)
def test_against_torch_and_state_dict_layout(name: str, kwargs: dict) -> None:
    rng = np.random.default_rng(0)
    ps = params(rng)
    tps = [torch.tensor(p.data.copy(), requires_grad=True) for p in ps]
    ours, theirs = getattr(optim, name)(ps, **kwargs), getattr(torch.optim, name)(tps, **kwargs)
    grads = [[rng.standard_normal(p.data.shape) for p in ps] for _ in range(5)]
    run(ours, ps, grads)
    for g in grads:
        for tp, gp in zip(tps, g, strict=True):
            tp.grad = torch.from_numpy(gp)
        theirs.step()
    for p, tp in zip(ps, tps, strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == ["state", "param_groups"] and sd["param_groups"][0]["params"] == [0, 1]
    assert sd["state"].keys() == tsd["state"].keys()
    for i, state in sd["state"].items():
        assert state.keys() == tsd["state"][i].keys()
        for key, value in state.items():
            np.testing.assert_allclose(
                value, np.asarray(tsd["state"][i][key]), rtol=1e-12, atol=1e-14, err_msg=key
            )
    for key in ("lr", "weight_decay"):
        assert sd["param_groups"][0][key] == tsd["param_groups"][0][key]


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS)
def test_resuming_from_state_dict_is_exact(name: str, kwargs: dict) -> None:
    rng = np.random.default_rng(1)
    grads = [[rng.standard_normal((3, 4)), rng.standard_normal(3)] for _ in range(6)]
    a = params(np.random.default_rng(2))
    opt_a = getattr(optim, name)(a, **kwargs)
    run(opt_a, a, grads)
    b = params(np.random.default_rng(2))
    opt_b = getattr(optim, name)(b, **kwargs)
    run(opt_b, b, grads[:3])
    saved = opt_b.state_dict()
    opt_c = getattr(optim, name)(b, **kwargs)
    opt_c.load_state_dict(saved)
    run(opt_c, b, grads[3:])
    for pa, pb in zip(a, b, strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_first_steps_follow_torchs_rules() -> None:
    """SGD's first momentum buffer is the (decayed) gradient; Adam's first step bias-corrected."""
    p = snn.Parameter(np.array([1.0, -2.0]))
    p.grad = np.array([0.5, 0.25])
    sgd = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)
    sgd.step()
    d = np.array([0.5, 0.25]) + 0.1 * np.array([1.0, -2.0])
    np.testing.assert_allclose(sgd.state_dict()["state"][0]["momentum_buffer"], d, rtol=1e-15)
    np.testing.assert_allclose(p.data, [1.0, -2.0] - 0.1 * d, rtol=1e-15)

    q = snn.Parameter(np.array([1.0, -2.0]))
    q.grad = np.array([0.5, -0.25])
    adam = optim.Adam([q], lr=0.01, eps=1e-8)
    adam.step()  # m_hat = g, v_hat = g^2: a step of lr * g / (|g| + eps)
    g = np.array([0.5, -0.25])
    np.testing.assert_allclose(q.data, [1.0, -2.0] - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-14)
    assert adam.state_dict()["state"][0]["step"] == 1.0
