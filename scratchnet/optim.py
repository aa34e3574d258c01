"""Optimizers with ``torch.optim``'s formulas and ``state_dict`` layout: SGD, Adam, AdamW.

A parameter whose gradient is unset (``.grad is None``: no backward reached it since
``zero_grad()``) is skipped by ``step()``, its state untouched, as ``torch.optim`` does.
The state's arrays belong to the kernel tier of the parameters (on the cuda tier they stay on the
GPU); ``state_dict()`` copies them to NumPy and ``load_state_dict`` back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .kernels import ops
from .nn.module import Parameter


class Optimizer:
    """Holds the parameters, per-parameter state, and one group of hyper-parameters."""

    def __init__(self, params: Iterable[Parameter], defaults: dict[str, Any]) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.defaults = dict(defaults)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Unset every parameter's gradient (``.grad = None``, see ``Parameter.zero_grad``)."""
        for p in self.params:
            p.zero_grad()

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {i: {...}}, "param_groups": [{..., "params": [0..n-1]}]}`` as torch's,
        the state's arrays as NumPy copies."""
        state = {
            i: {k: (ops.to_host(v) if isinstance(v, ops.ARRAYS) else v) for k, v in s.items()}
            for i, s in enumerate(self.state)
            if s
        }
        return {
            "state": state,
            "param_groups": [{**self.defaults, "params": list(range(len(self.params)))}],
        }

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` (or the same layout from torch, as NumPy) holds."""
        for i, s in sd.get("state", {}).items():
            i = int(i)
            if not 0 <= i < len(self.params):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: state for parameter {i}, "
                    f"but there are {len(self.params)} parameters"
                )
            self.state[i] = {}
            for k, v in s.items():
                arr = np.asarray(v)
                if arr.ndim == 0:
                    self.state[i][k] = float(arr)
                else:
                    if arr.shape != self.params[i].data.shape:
                        raise ValueError(
                            f"{type(self).__name__}.load_state_dict: {k} of parameter {i} has "
                            f"shape {arr.shape}, expected {self.params[i].data.shape}"
                        )
                    self.state[i][k] = ops.contiguous(arr.astype(self.params[i].data.dtype))
        for group in sd.get("param_groups", [])[:1]:
            for k, v in group.items():
                if k in self.defaults:
                    arr = np.asarray(v)
                    self.defaults[k] = tuple(arr.tolist()) if arr.ndim else arr.item()


# --8<-- [start:sgd]
class SGD(Optimizer):
    """``torch.optim.SGD``: momentum, dampening, Nesterov and L2 weight decay (see sgd_step)."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                "SGD: lr, momentum, weight_decay must be >= 0, "
                f"got {lr}, {momentum}, {weight_decay}"
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
            ),
        )

    def step(self) -> None:
        """One update of every parameter from its ``.grad`` (see ``kernels.optim.sgd_step``)."""
        d = self.defaults
        lr, momentum, dampening, wd, nesterov = (
            d["lr"],
            d["momentum"],
            d["dampening"],
            d["weight_decay"],
            d["nesterov"],
        )
        for p, state in zip(self.params, self.state, strict=True):
            grad = p.grad
            if grad is None:  # no gradient since zero_grad(): torch.optim skips it too
                continue
            buf = state.get("momentum_buffer") if momentum != 0 else None
            first = buf is None
            if momentum != 0 and first:
                buf = state["momentum_buffer"] = ops.empty(p.data.shape, p.data.dtype)
            ops.sgd_step(
                p.data,
                grad,
                grad if buf is None else buf,
                lr,
                momentum,
                dampening,
                wd,
                nesterov,
                first,
            )


# --8<-- [end:sgd]


# --8<-- [start:adam]
class Adam(Optimizer):
    """``torch.optim.Adam`` (L2 ``weight_decay`` folded into the gradient)."""

    decoupled = False

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid lr={lr}, betas={betas}, eps={eps}")
        super().__init__(
            params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        )

    def step(self) -> None:
        """One update of every parameter from its ``.grad`` (see ``kernels.optim.adam_step``)."""
        d = self.defaults
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is None:  # no gradient since zero_grad(): torch.optim skips it too
                continue
            if not state:
                state.update(
                    step=0.0,
                    exp_avg=ops.zeros(p.data.shape, p.data.dtype),
                    exp_avg_sq=ops.zeros(p.data.shape, p.data.dtype),
                )
            state["step"] += 1.0
            ops.adam_step(
                p.data,
                p.grad,
                state["exp_avg"],
                state["exp_avg_sq"],
                d["lr"],
                d["betas"][0],
                d["betas"][1],
                d["eps"],
                d["weight_decay"],
                self.decoupled,
                state["step"],
            )


class AdamW(Adam):
    """``torch.optim.AdamW``: decoupled weight decay ``p *= 1 - lr wd`` before the Adam step."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


# --8<-- [end:adam]
