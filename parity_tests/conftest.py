"""Hypothesis profiles (notes/architecture.md), chosen with ``HYPOTHESIS_PROFILE=ci|dev|thorough``.

- ``ci``: derandomized (the same examples every run), 50 examples, no deadline, failing
  examples printed as a reproduction blob;
- ``dev``: 10 examples, for quick runs while editing;
- ``thorough``: 500 examples.

The default is ``ci`` when the ``CI`` environment variable is set, else ``dev``. torch keeps its
default dtype (float32: every test passes dtypes explicitly) and runs on one CPU thread so that
its reductions are deterministic. ``PARITY_DEVICE=cpu|cuda`` picks torch's device (CUDA when
present, by default); on CUDA, float32 is IEEE float32 (no TF32) and cuDNN deterministic.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", derandomize=True, max_examples=50, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=10, **_COMMON)
settings.register_profile("thorough", max_examples=500, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)

torch.set_num_threads(1)
# On CUDA, IEEE float32 as on the CPU: cuDNN's convolutions would otherwise use TF32 (a 10-bit
# significand, far outside the float32 smoke tolerance), and deterministic algorithms only, so a
# derandomized example gives the same numbers every run.
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
TORCH_DEFAULT_DTYPE = torch.get_default_dtype()


def pytest_report_header(config: pytest.Config) -> list[str]:
    from helpers import DESIGN_TOL, DEVICE

    t = DESIGN_TOL
    return [f"parity: hypothesis profile '{PROFILE}' ({settings().max_examples} examples); "
            f"torch {torch.__version__} on {DEVICE}, {torch.get_num_threads()} thread; "
            f"numpy {np.__version__}",
            f"parity: float64 gate: forward rtol {t.forward64.rtol:g}, grads rtol "
            f"{t.grad64.rtol:g}; float32 smoke: forward atol {t.forward32.atol:g} rtol "
            f"{t.forward32.rtol:g}, grads atol {t.grad32.atol:g} rtol {t.grad32.rtol:g}; "
            f"atol scaled by max(1, max|torch|) sqrt(K)"]


@pytest.fixture(autouse=True, scope="module")
def _torch_default_dtype_untouched():
    """No test may change torch's default dtype (it would silently change every reference)."""
    yield
    assert torch.get_default_dtype() == TORCH_DEFAULT_DTYPE, \
        f"a test in this module changed torch's default dtype to {torch.get_default_dtype()}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line on what the registry covers, under the results."""
    from registry import ELSEWHERE, KERNELS, LOSSES, MODELS, MODULES, OPTIMIZERS

    variants = sum(len(e.variants) for e in OPTIMIZERS.values())
    terminalreporter.write_sep("-", "parity registry")
    terminalreporter.write_line(
        f"{len(MODULES)} modules, {len(MODELS)} zoo models, {len(LOSSES)} losses, {len(KERNELS)} "
        f"kernel entries, {len(OPTIMIZERS)} optimizers ({variants} trajectory variants), "
        f"{len(ELSEWHERE)} names tested in their own files; profile '{PROFILE}'")
