"""Training-trajectory parity: same start, same batches, 20 steps; everything compared every step.

A Hypothesis-drawn MLP (layer sizes, hidden activation, batch size) is built in torch; its
initial ``state_dict`` is copied into scratchnet (``.numpy()`` only); both train in float64 on
the same mini-batches with ``CrossEntropyLoss`` and an optimizer drawn per variant (SGD, SGD
with momentum and dampening, Nesterov, Adam, AdamW; weight decay drawn too). After every step:
the loss, every gradient (before the step), every parameter (after it), and the optimizer's
``state_dict`` (``momentum_buffer`` / ``step``, ``exp_avg``, ``exp_avg_sq``, hyper-parameters).
Backward alternates between computing ``dX`` and skipping it (``needs_input_grad=False``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import DEVICE, assert_close, copy_torch_weights, to_torch
from hypothesis import given
from hypothesis import strategies as st
from registry import OPTIMIZERS, mlp_ours, mlp_torch
from strategies import OPTIMIZER_CONFIGS, mlp, seeds

from scratchnet import losses

STEPS = 20
VARIANTS = [(name, variant) for name, e in sorted(OPTIMIZERS.items()) for variant in e.variants]


def compare_optimizer_state(where: str, ours: dict, theirs: dict, names: list[str], tol) -> None:
    """Both ``state_dict()``s: per-parameter state (same keys, same values), hyper-parameters."""
    o_state, t_state = ours["state"], theirs["state"]
    assert sorted(o_state) == sorted(t_state), \
        f"{where}: state for parameters {sorted(o_state)}, torch {sorted(t_state)}"
    for i, t_entry in t_state.items():
        assert sorted(o_state[i]) == sorted(t_entry), \
            f"{where}: {names[i]} state keys {sorted(o_state[i])}, torch {sorted(t_entry)}"
        for key, ref in t_entry.items():
            ours_value = np.asarray(o_state[i][key], dtype=np.float64)
            ref = np.asarray(ref.cpu(), dtype=np.float64)  # "step" is a float32 tensor in torch
            assert_close(f"{where}: {names[i]}.{key}", ours_value, ref, np.float64, "grad", 1, tol)
    o_group, t_group = ours["param_groups"][0], theirs["param_groups"][0]
    for key, value in o_group.items():
        assert key in t_group, f"{where}: param_groups key {key!r} is not torch's"
        assert (list(value) if isinstance(value, tuple | list) else value) == \
               (list(t_group[key]) if isinstance(t_group[key], tuple | list) else t_group[key]), \
               f"{where}: param_groups[{key!r}] = {value!r}, torch {t_group[key]!r}"


@pytest.mark.parametrize("optimizer,variant", VARIANTS, ids=[v for _, v in VARIANTS])
@given(arch=mlp(), data=st.data())
def test_trajectory(optimizer: str, variant: str, arch: dict, data) -> None:
    e = OPTIMIZERS[optimizer]
    cfg = data.draw(OPTIMIZER_CONFIGS[variant], label="optimizer config")
    seed = data.draw(seeds(), label="seed")
    torch.manual_seed(seed)
    theirs = mlp_torch(arch).to(DEVICE, torch.float64)
    ours = mlp_ours(arch, np.float64)
    copy_torch_weights(ours, theirs)
    names = [n for n, _ in ours.named_parameters()]
    t_params = dict(theirs.named_parameters())
    assert names == list(t_params), f"parameter order {names} vs torch's {list(t_params)}"
    ours_opt = e.ours(list(ours.parameters()), **cfg)
    theirs_opt = e.theirs(theirs.parameters(), **cfg)
    loss_fn = losses.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    n_in, n_out, N = arch["sizes"][0], arch["sizes"][-1], arch["batch"]

    for step in range(1, STEPS + 1):
        where = f"{variant} {cfg}, step {step}"
        X, y = rng.standard_normal((N, n_in)), rng.integers(0, n_out, N)
        ours_opt.zero_grad()
        theirs_opt.zero_grad()
        value = loss_fn(ours(X), y)
        ref = torch.nn.functional.cross_entropy(theirs(to_torch(X)), to_torch(y))
        assert_close(f"{where}: loss", np.float64(value), ref, np.float64, "forward", N * n_out,
                     e.tol)
        # odd steps as the Trainer calls it, even steps as the benchmarks do (no dX for the input)
        ours.backward(loss_fn.backward(), needs_input_grad=step % 2 == 1)
        ref.backward()
        for name, p in ours.named_parameters():
            assert_close(f"{where}: grad {name}", p.grad, t_params[name].grad, np.float64, "grad",
                         N, e.tol)
        ours_opt.step()
        theirs_opt.step()
        for name, p in ours.named_parameters():
            assert_close(f"{where}: {name} after the step", p.data, t_params[name], np.float64,
                         "grad", 1, e.tol)
        compare_optimizer_state(where, ours_opt.state_dict(), theirs_opt.state_dict(), names, e.tol)
