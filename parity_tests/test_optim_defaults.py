"""The optimizers' default hyper-parameters are torch.optim's.

Trajectory parity passes every hyper-parameter explicitly, so it cannot see a wrong default
(mutmut found ``AdamW``'s ``lr`` and ``weight_decay`` free to change). Each optimizer is built
with nothing but its parameters (SGD also with its required ``lr``), and what it stored is
compared with what torch.optim stores.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scratchnet import optim
from scratchnet.nn import Parameter

REQUIRED = {"SGD": {"lr": 0.1}}   # scratchnet's SGD, like the book, has no default learning rate


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_defaults_are_torchs(name: str) -> None:
    kwargs = REQUIRED.get(name, {})
    ours = getattr(optim, name)([Parameter(np.zeros(3))], **kwargs).defaults
    theirs = getattr(torch.optim, name)([torch.zeros(3, requires_grad=True)], **kwargs).defaults
    assert ours, f"scratchnet.optim.{name} stores no defaults"
    for key, value in ours.items():
        assert key in theirs, f"scratchnet.optim.{name}: {key} is not a torch.optim.{name} hyper-parameter"
        expected = tuple(theirs[key]) if isinstance(theirs[key], tuple) else theirs[key]
        got = tuple(value) if isinstance(value, tuple) else value
        assert got == expected, f"scratchnet.optim.{name}: {key} defaults to {got}, torch's to {expected}"
