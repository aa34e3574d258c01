"""Fails, naming it, when a public op, module, loss, optimizer or zoo model has no parity entry."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from registry import COVERED_ELSEWHERE, KERNELS, LOSSES, MODULES, MODULES_ELSEWHERE, OPTIMIZERS

import scratchnet.kernels
import scratchnet.losses
import scratchnet.nn
import scratchnet.optim


def public_kernels() -> set[str]:
    """Names of the public functions (jitted or not) defined in scratchnet.kernels.*."""
    names = set()
    for info in pkgutil.iter_modules(scratchnet.kernels.__path__):
        mod = importlib.import_module(f"scratchnet.kernels.{info.name}")
        for name, obj in vars(mod).items():
            is_function = hasattr(obj, "py_func") or inspect.isfunction(obj)
            if is_function and not name.startswith("_") and getattr(obj, "__module__", None) == mod.__name__:
                names.add(name)
    return names


def test_every_module_has_an_entry() -> None:
    public = {name for name, obj in vars(scratchnet.nn).items()
              if inspect.isclass(obj) and issubclass(obj, scratchnet.nn.Module) and obj is not scratchnet.nn.Module}
    missing = sorted(public - set(MODULES) - set(MODULES_ELSEWHERE))
    assert not missing, f"modules without a parity entry: {missing}"


def test_every_loss_has_an_entry() -> None:
    public = {name for name, obj in vars(scratchnet.losses).items()
              if inspect.isclass(obj) and issubclass(obj, scratchnet.losses.Loss) and obj is not scratchnet.losses.Loss}
    assert public - set(LOSSES) == set(), f"losses without a parity entry: {sorted(public - set(LOSSES))}"


def test_every_optimizer_has_an_entry() -> None:
    public = {name for name, obj in vars(scratchnet.optim).items()
              if inspect.isclass(obj) and issubclass(obj, scratchnet.optim.Optimizer)
              and obj is not scratchnet.optim.Optimizer}
    assert public - OPTIMIZERS == set(), f"optimizers without a parity entry: {sorted(public - OPTIMIZERS)}"


def test_every_kernel_has_an_entry() -> None:
    missing = sorted(name for name in public_kernels() if name not in COVERED_ELSEWHERE
                     and name.removesuffix("_forward").removesuffix("_backward") not in KERNELS)
    assert public_kernels(), "no kernels found: the introspection is broken"
    assert not missing, f"kernels without a parity entry: {sorted(missing)}"
