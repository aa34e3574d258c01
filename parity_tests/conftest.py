"""Hypothesis profiles (DESIGN.md): pick one with HYPOTHESIS_PROFILE=ci|dev|thorough.

Default: ``ci`` when the CI variable is set, else ``dev``. torch runs on CUDA when a GPU is
present (``PARITY_DEVICE=cpu`` forces the CPU), with one CPU thread for determinism.
"""

from __future__ import annotations

import os

import torch
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=50, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=10, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

torch.set_num_threads(1)


def pytest_report_header(config) -> str:
    from parity_harness import DEVICE

    return f"parity: hypothesis profile {settings._current_profile}, torch device {DEVICE}"
