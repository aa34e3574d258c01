"""The cuda tier's tests: on a GPU when there is one, else on Numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM`` is read when ``numba.cuda`` is first imported, so it is decided here,
before any test module of this folder imports the tier. A GPU is looked for through the driver
library itself (``cuda_probe.gpu_present``), which imports nothing of Numba's.
Without one the variable is set for the rest of the process (``numba.config`` re-reads the
environment at each compilation, so it stays consistent); it selects what ``numba.cuda`` is and
nothing else: the CPU kernels, their compilation and their on-disk cache do not read it.
"""

from __future__ import annotations

import os
import sys

import numba
import pytest
from cuda_probe import gpu_present

if not gpu_present() and "numba.cuda" not in sys.modules:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    numba.core.config.reload_config()


def pytest_collection_modifyitems(config, items) -> None:
    """Skip this folder's tests, saying why, when numba.cuda can run neither on a GPU nor on the
    simulator (it was imported, without the simulator, before this file could choose)."""
    from scratchnet.kernels.cuda import problem

    if (why := problem()) is not None:
        here = os.path.dirname(__file__)
        for item in items:
            if str(item.path).startswith(here):
                item.add_marker(pytest.mark.skip(reason=f"the cuda tier cannot run: {why}"))
