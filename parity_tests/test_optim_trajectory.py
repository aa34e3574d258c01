"""Training-trajectory parity: same start, same batches, 20 steps; compare everything every step.

torch's initial state_dict is copied into scratchnet (NumPy arrays only), both train in float64
on the same mini-batches, and after each step the loss, every gradient (before the step), every
parameter and the optimizer's state must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from parity_harness import DEVICE, assert_close, to_torch

import scratchnet.nn as snn
from scratchnet import losses, optim

ACTS = {"sigmoid": (snn.Sigmoid, torch.nn.Sigmoid), "tanh": (snn.Tanh, torch.nn.Tanh),
        "relu": (snn.ReLU, torch.nn.ReLU)}
STEPS = 20


def optimizer_configs(name: str):
    lr = st.sampled_from([0.01, 0.1, 0.5])
    if name == "sgd":
        return st.fixed_dictionaries({"lr": lr, "weight_decay": st.sampled_from([0.0, 0.01])})
    if name == "momentum":
        return st.fixed_dictionaries({"lr": lr, "momentum": st.sampled_from([0.5, 0.9]),
                                      "dampening": st.sampled_from([0.0, 0.3]),
                                      "weight_decay": st.sampled_from([0.0, 0.01])})
    if name == "nesterov":
        return st.fixed_dictionaries({"lr": lr, "momentum": st.sampled_from([0.5, 0.9]), "nesterov": st.just(True),
                                      "weight_decay": st.sampled_from([0.0, 0.01])})
    return st.fixed_dictionaries({"lr": st.sampled_from([1e-3, 1e-2]), "betas": st.just((0.9, 0.999)),
                                  "eps": st.sampled_from([1e-8, 1e-6]),
                                  "weight_decay": st.sampled_from([0.0, 0.05])})


PAIRS = {"sgd": (optim.SGD, torch.optim.SGD), "momentum": (optim.SGD, torch.optim.SGD),
         "nesterov": (optim.SGD, torch.optim.SGD), "adam": (optim.Adam, torch.optim.Adam),
         "adamw": (optim.AdamW, torch.optim.AdamW)}


@pytest.mark.parametrize("opt_name", sorted(PAIRS))
@settings(max_examples=min(settings().max_examples, 15))
@given(data=st.data())
def test_trajectory(opt_name: str, data) -> None:
    sizes = data.draw(st.lists(st.integers(2, 12), min_size=2, max_size=3), label="hidden")
    sizes = [data.draw(st.integers(2, 20), label="n_in")] + sizes + [data.draw(st.integers(2, 6), label="classes")]
    act = data.draw(st.sampled_from(sorted(ACTS)), label="activation")
    batch = data.draw(st.integers(1, 8), label="batch")
    cfg = data.draw(optimizer_configs(opt_name), label="optimizer")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")

    torch.manual_seed(seed)
    t_layers, s_layers = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        t_layers.append(torch.nn.Linear(a, b))
        s_layers.append(snn.Linear(a, b, dtype=np.float64))
        if i < len(sizes) - 2:
            t_layers.append(ACTS[act][1]())
            s_layers.append(ACTS[act][0]())
    theirs = torch.nn.Sequential(*t_layers).to(DEVICE, torch.float64)
    ours = snn.Sequential(*s_layers)
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})
    ours_opt, theirs_cls = PAIRS[opt_name][0](list(ours.parameters()), **cfg), PAIRS[opt_name][1]
    theirs_opt = theirs_cls(theirs.parameters(), **cfg)
    loss_fn = losses.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    names = [n for n, _ in ours.named_parameters()]

    for step in range(STEPS):
        X = rng.standard_normal((batch, sizes[0]))
        y = rng.integers(0, sizes[-1], batch)
        ours_opt.zero_grad()
        theirs_opt.zero_grad()
        value = loss_fn(ours(X), y)
        ref = torch.nn.functional.cross_entropy(theirs(to_torch(X)), to_torch(y))
        assert_close(f"step {step} loss", np.array(value), ref, np.float64, "forward", k_terms=batch)
        ours.backward(loss_fn.backward())
        ref.backward()
        t_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            assert_close(f"step {step} grad {name}", p.grad, t_params[name].grad, np.float64, "grad", k_terms=batch)
        ours_opt.step()
        theirs_opt.step()
        for name, p in ours.named_parameters():
            assert_close(f"step {step} param {name}", p.data, t_params[name], np.float64, "grad")
        t_state = theirs_opt.state_dict()["state"]
        o_state = ours_opt.state_dict()["state"]
        assert sorted(o_state) == sorted(t_state), f"step {step}: optimizer state for params {sorted(o_state)}"
        for i, st_t in t_state.items():
            for key, ref_v in st_t.items():
                assert_close(f"step {step} {opt_name} state {names[i]}.{key}", np.asarray(o_state[i][key]),
                             ref_v, np.float64, "grad")
