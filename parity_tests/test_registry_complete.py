"""The registry covers everything public, honestly: each test fails naming what is missing.

Public means: every ``Module`` subclass defined anywhere in ``scratchnet.nn`` (not only what
``__init__`` re-exports), every ``Loss`` in ``scratchnet.losses``, every ``Optimizer`` in
``scratchnet.optim``, every ``@njit`` kernel in ``scratchnet.kernels.*``, and every zoo name in
``scratchnet.models.SPECS``; names starting with ``_`` are private. A new layer, kernel or model
makes these tests fail until it has a registry entry (or an ``ELSEWHERE`` test that exists).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest
from helpers import DESIGN_TOL, Tol, Tolerances, assert_close
from numba.core.registry import CPUDispatcher
from registry import (
    ELSEWHERE,
    KERNELS,
    LOSSES,
    MODELS,
    MODULES,
    OPTIMIZERS,
    registered_kernel_names,
)

import scratchnet.kernels
import scratchnet.losses
import scratchnet.models
import scratchnet.nn
import scratchnet.optim

HERE = Path(__file__).parent


def submodules(package: ModuleType) -> list[ModuleType]:
    """``package`` and every module under it, imported (just ``package`` for a plain module)."""
    mods = [package]
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), package.__name__ + "."):
        mods.append(importlib.import_module(info.name))
    return mods


def public_classes(package: ModuleType, base: type) -> set[str]:
    """Public subclasses of ``base`` defined in ``package`` or its submodules."""
    return {name for mod in submodules(package) for name, obj in vars(mod).items()
            if inspect.isclass(obj) and issubclass(obj, base) and obj is not base
            and not name.startswith("_") and obj.__module__.startswith(package.__name__)}


def is_kernel(obj) -> bool:
    """An ``@njit`` function, or a Python dispatcher over jitted ones (``serial_or_parallel``)."""
    return isinstance(obj, CPUDispatcher) or isinstance(getattr(obj, "serial", None), CPUDispatcher)


def public_kernels() -> set[str]:
    """Public jitted kernels defined in ``scratchnet.kernels.*``."""
    return {name for mod in submodules(scratchnet.kernels) for name, obj in vars(mod).items()
            if is_kernel(obj) and not name.startswith("_") and obj.__module__ == mod.__name__}


def missing(public: set[str], registered: set[str]) -> list[str]:
    return sorted(public - registered - set(ELSEWHERE))


def test_every_module_has_an_entry() -> None:
    public = public_classes(scratchnet.nn, scratchnet.nn.Module)
    assert {"Linear", "Sequential", "ReLU"} <= public, f"introspection found only {sorted(public)}"
    assert not missing(public, set(MODULES)), \
        f"scratchnet.nn modules without a parity entry: {missing(public, set(MODULES))}"


def test_every_loss_has_an_entry() -> None:
    public = public_classes(scratchnet.losses, scratchnet.losses.Loss)
    assert public, "introspection found no losses"
    assert not missing(public, set(LOSSES)), \
        f"losses without a parity entry: {missing(public, set(LOSSES))}"


def test_every_optimizer_has_an_entry() -> None:
    public = public_classes(scratchnet.optim, scratchnet.optim.Optimizer)
    assert public, "introspection found no optimizers"
    assert not missing(public, set(OPTIMIZERS)), \
        f"optimizers without a parity entry: {missing(public, set(OPTIMIZERS))}"


def test_every_kernel_has_an_entry() -> None:
    public = public_kernels()
    assert {"gemm_nt", "gemm_tn", "gemm_nn", "sigmoid_forward"} <= public, \
        f"introspection found only {sorted(public)}"
    assert not missing(public, registered_kernel_names()), \
        f"kernels without a parity entry: {missing(public, registered_kernel_names())}"


def test_every_zoo_model_has_an_entry() -> None:
    public = set(scratchnet.models.SPECS)
    assert not missing(public, set(MODELS)), \
        f"zoo models without a parity entry: {missing(public, set(MODELS))}"


def test_no_stale_entries() -> None:
    """Every entry names something that exists (a renamed layer must not leave a dead entry)."""
    names = (public_classes(scratchnet.nn, scratchnet.nn.Module) | public_classes(scratchnet.losses,
             scratchnet.losses.Loss) | public_classes(scratchnet.optim, scratchnet.optim.Optimizer)
             | public_kernels() | set(scratchnet.models.SPECS))
    entries = set(MODULES) | set(LOSSES) | set(OPTIMIZERS) | set(MODELS) | set(ELSEWHERE)
    stale = sorted(entries - names)
    assert not stale, f"registry entries for names scratchnet does not have: {stale}"
    unregistered = sorted(k.__name__ for e in KERNELS.values() for k in e.kernels
                          if is_kernel(k) and k.__name__ not in public_kernels())
    assert not unregistered, f"KERNELS entries checking non-public kernels: {unregistered}"


def test_elsewhere_tests_exist() -> None:
    """An ``ELSEWHERE`` entry must name a test function that exists in this folder."""
    bad = []
    for name, where in sorted(ELSEWHERE.items()):
        file, _, test = where.partition("::")
        path = HERE / file
        if not path.exists() or not test or f"def {test}(" not in path.read_text():
            bad.append(f"{name} -> {where}")
    assert not bad, f"ELSEWHERE entries naming tests that do not exist: {bad}"


def test_no_tolerance_is_looser_than_design() -> None:
    """Entries may tighten notes/architecture.md's tolerances, never loosen them."""
    tables = {"MODULES": MODULES, "MODELS": MODELS, "LOSSES": LOSSES, "KERNELS": KERNELS,
              "OPTIMIZERS": OPTIMIZERS}
    entries = {f"{t}[{k}]": e for t, table in tables.items() for k, e in table.items()}
    loose = sorted(k for k, e in entries.items() if not e.tol.no_looser_than(DESIGN_TOL))
    assert not loose, f"entries with tolerances looser than notes/architecture.md's: {loose}"


# Comparisons that bypass helpers.assert_close choose their own tolerance; none may in this folder.
BYPASSES = ("assert_allclose", "np.allclose", "np.isclose", "pytest.approx", "Tol(", "Tolerances(")


def test_every_comparison_goes_through_assert_close() -> None:
    """No parity test compares floats with a tolerance of its own making (helpers.py defines them)."""
    found = [f"{path.name}:{i}: {line.strip()}" for path in sorted(HERE.glob("*.py"))
             if path.name not in ("helpers.py", Path(__file__).name)
             for i, line in enumerate(path.read_text().splitlines(), 1)
             if any(b in line for b in BYPASSES)]
    assert not found, "comparisons with their own tolerance (use helpers.assert_close):\n" + "\n".join(found)


def test_assert_close_refuses_a_looser_tolerance() -> None:
    """A looser table is refused at the call, not only in the registry."""
    loose = Tolerances(forward64=Tol(1e-6, 1e-12), grad64=DESIGN_TOL.grad64, forward32=DESIGN_TOL.forward32,
                       grad32=DESIGN_TOL.grad32)
    x = [1.0, 2.0]
    with pytest.raises(ValueError, match="looser than notes/architecture.md"):
        assert_close("x", x, x, "float64", tol=loose)
    with pytest.raises(ValueError, match="k_terms"):
        assert_close("x", x, x, "float64", k_terms=0)
    with pytest.raises(AssertionError, match="differ"):
        assert_close("x", [1.0, 2.0 + 1e-9], x, "float64")       # 5e-10 relative: beyond rtol 1e-10
    assert_close("x", [1.0, 2.0 + 1e-11], x, "float64")          # within it
