"""Training-trajectory parity for the zoo's CNNs: same start, same batches, 10 steps, all compared.

``book_conv`` and ``fashion_cnn`` at their real shapes are built in torch; the initial
``state_dict`` (BatchNorm buffers included) is copied into scratchnet with ``.numpy()`` only;
both train in float64 on the same mini-batches (``fashion_cnn``'s Dropout layers share their
masks, fresh each step) with softmax cross-entropy and SGD with momentum, or Adam. After every
step: the loss, every gradient (before the step), every parameter (after it), the optimizer's
``state_dict`` and BatchNorm's ``running_mean``, ``running_var`` and ``num_batches_tracked``.
After the last step both evaluate a new batch in evaluation mode (running statistics, no
dropout). Backward alternates between computing ``dX`` and skipping it, as in
``test_optim_trajectory.py``.

The configurations are fixed rather than drawn: ten steps of a real CNN in float64 cost seconds,
and the optimizer formulas themselves are swept by ``test_optim_trajectory.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import DEVICE, SharedDropout, assert_close, assert_equal, copy_torch_weights, to_numpy, to_torch
from registry import MODELS
from test_optim_trajectory import compare_optimizer_state

from scratchnet import losses
from scratchnet import optim as so

STEPS = 10
BATCH = {"book_conv": 5, "fashion_cnn": 8}  # BatchNorm1d is well conditioned from about 4 samples
OPTIMIZERS = {
    "sgd_momentum": (so.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.1,
                                               "weight_decay": 1e-3}),
    "adam": (so.Adam, torch.optim.Adam, {"lr": 3e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                         "weight_decay": 1e-3}),
}
BUFFERS = ("running_mean", "running_var")


def compare_buffers(where: str, ours, theirs: torch.nn.Module, kind: str, tol) -> None:
    """BatchNorm's running statistics and its exact batch count.

    The first step's statistics come from identical weights: forward values. Later ones come
    from weights that have each been updated within the optimizer-update tolerance (Adam divides
    by ``sqrt(v) + eps``, so a gradient far below ``eps`` moves its weight by ``lr / eps`` times
    its rounding error), so they are trajectory state, held to that tolerance like the weights.
    """
    theirs_sd, ours_sd = theirs.state_dict(), ours.state_dict()
    for key, ref in theirs_sd.items():
        if key.endswith(BUFFERS):
            assert_close(f"{where}: {key}", ours_sd[key], ref, np.float64, kind, 1, tol)
        elif key.endswith("num_batches_tracked"):
            assert_equal(f"{where}: {key}", ours_sd[key], ref)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", sorted(BATCH))
def test_cnn_trajectory(name: str, optimizer: str) -> None:
    e, N = MODELS[name], BATCH[name]
    ours_cls, theirs_cls, cfg = OPTIMIZERS[optimizer]
    seed = 20240 + len(name) + len(optimizer)
    torch.manual_seed(seed)
    theirs = e.theirs().to(DEVICE, torch.float64)
    ours = e.ours(dtype=np.float64)
    copy_torch_weights(ours, theirs)
    dropout = SharedDropout(ours, theirs, seed)
    names = [n for n, _ in ours.named_parameters()]
    t_params = dict(theirs.named_parameters())
    assert names == list(t_params), f"parameter order {names} vs torch's {list(t_params)}"
    ours_opt, theirs_opt = ours_cls(list(ours.parameters()), **cfg), theirs_cls(theirs.parameters(), **cfg)
    loss_fn = losses.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    ours.train()
    theirs.train()

    for step in range(1, STEPS + 1):
        where = f"{name} {optimizer} {cfg}, step {step}"
        X, y = rng.random((N, *e.input_shape)), rng.integers(0, 10, N)
        dropout.new_masks()
        ours_opt.zero_grad()
        theirs_opt.zero_grad()
        value = loss_fn(ours(X), y)
        ref = torch.nn.functional.cross_entropy(theirs(to_torch(X)), to_torch(y))
        assert_close(f"{where}: loss", np.float64(value), ref, np.float64, "forward", e.k_terms, e.tol)
        compare_buffers(where, ours, theirs, "forward" if step == 1 else "grad", e.tol)  # this step's forward
        ours.backward(loss_fn.backward(), needs_input_grad=step % 2 == 1)
        ref.backward()
        for key, p in ours.named_parameters():
            assert_close(f"{where}: grad {key}", p.grad, t_params[key].grad, np.float64, "grad", N, e.tol)
        ours_opt.step()
        theirs_opt.step()
        for key, p in ours.named_parameters():
            assert_close(f"{where}: {key} after the step", p.data, t_params[key], np.float64, "grad", 1, e.tol)
        compare_optimizer_state(where, ours_opt.state_dict(), theirs_opt.state_dict(), names, e.tol)

    ours.eval()
    theirs.eval()
    X = rng.random((N, *e.input_shape))
    with torch.no_grad():
        ref = to_numpy(theirs(to_torch(X)))
    assert_close(f"{name} {optimizer}: evaluation after {STEPS} steps", ours(X), ref, np.float64, "forward",
                 e.k_terms, e.tol)
