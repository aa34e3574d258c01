"""The torch backend's GPU path: the device, mixed precision, ``channels_last`` and ``torch.compile``.

Each is an option of ``scratchnet train --backend torch`` (:class:`scratchnet.train.TrainConfig`):

- ``--device cpu|cuda``: :func:`device_for` (CUDA when present; ``cuda`` without a GPU is an error
  that says so, not a stack trace from deep inside torch);
- ``--amp bf16|fp16``: :class:`Precision`, ``torch.autocast`` around the forward pass (matrix
  multiplies and convolutions in 16 bits, reductions and the loss in float32) and, for fp16 only, a
  ``GradScaler`` (fp16's 5-bit exponent underflows small gradients; bf16 has float32's 8 bits);
- ``--channels-last``: :func:`memory_format`, the CNNs' weights and input batches in NHWC order,
  the layout tensor cores and oneDNN's convolutions prefer;
- ``--compile``: :func:`compiled`, ``torch.compile`` of the module the training step runs (the
  first steps compile: seconds on a CPU, where it needs a C++ compiler).

All four work on the CPU too (bf16 and fp16 autocast, GradScaler("cpu"), channels_last, and
torch.compile through Inductor's C++ backend); ``tests/test_torch_options.py`` runs them there.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from scratchnet.train import TrainConfig

from . import default_device

#: ``--amp`` names -> the autocast dtype.
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def device_for(config: TrainConfig, local_rank: int | None = None) -> torch.device:
    """The device a run trains on: ``config.device`` (default CUDA when present, else the CPU).

    ``local_rank`` (a data-parallel worker's index on its machine) picks the worker's own GPU,
    ``cuda:local_rank``. Raises ``ValueError`` naming the device asked for and what is there.
    """
    device = torch.device(config.device) if config.device else default_device()
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if local_rank is not None:
            device = torch.device("cuda", local_rank)
        index = device.index or 0
        if index >= count:
            raise ValueError(f"device: {device} asked for, but this machine has {count} CUDA device(s) "
                             f"(torch.cuda.is_available() is {torch.cuda.is_available()}); use --device cpu")
    return device


class Precision:
    """``--amp``: autocast for the forward pass and, for fp16, loss scaling.

    With ``amp=None`` both are no-ops, so the backend's step reads the same either way::

        with precision.autocast():
            loss = loss_fn(model(X).to(dtype), y)    # the loss in the model's dtype
        precision.backward_step(loss, opt)           # fp16: scale, backward, unscale + step, update
    """

    def __init__(self, amp: str | None, device: torch.device) -> None:
        self.amp, self.device = amp, device
        self.dtype = AMP_DTYPES[amp] if amp else None
        self.scaler = torch.amp.GradScaler(device.type) if amp == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        """``torch.autocast(device, dtype)`` for ``--amp``, else a context that does nothing."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        """``loss.backward(); opt.step()``; with fp16, on ``scale * loss`` and a step that unscales
        the gradients first and is skipped when one is infinite (the scale then halves)."""
        if self.scaler is None:
            loss.backward()
            opt.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()

    def state(self) -> dict[str, np.ndarray]:
        """The loss scaler's state as ``amp/<key>`` arrays (empty without fp16)."""
        if self.scaler is None:
            return {}
        return {f"amp/{k}": np.asarray(v) for k, v in self.scaler.state_dict().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state`; a checkpoint without it (bf16, float32, scratch) leaves the scaler fresh."""
        saved = {k.removeprefix("amp/"): np.asarray(v).item() for k, v in state.items() if k.startswith("amp/")}
        if self.scaler is not None and saved:
            self.scaler.load_state_dict(saved)


def memory_format(config: TrainConfig) -> torch.memory_format:
    """``torch.channels_last`` with ``--channels-last`` (the CNNs), else ``torch.contiguous_format``."""
    return torch.channels_last if config.channels_last else torch.contiguous_format


def compiled(module: nn.Module, config: TrainConfig) -> nn.Module:
    """``torch.compile(module)`` with ``--compile``, else ``module`` itself; parameters are shared."""
    return torch.compile(module) if config.compile else module
