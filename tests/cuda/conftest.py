"""The cuda tier's tests: on a GPU when there is one, else on Numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM`` is read when ``numba.cuda`` is first imported, so it is decided here,
before any test module of this folder imports the tier. A GPU is looked for through the driver
library itself (``cuInit`` and ``cuDeviceGetCount`` by ctypes), which imports nothing of Numba's.
Without one the variable is set for the rest of the process (``numba.config`` re-reads the
environment at each compilation, so it stays consistent); it selects what ``numba.cuda`` is and
nothing else: the CPU kernels, their compilation and their on-disk cache do not read it.
"""

from __future__ import annotations

import ctypes
import os
import sys

import numba


def gpu_present() -> bool:
    """True when the CUDA driver loads and counts at least one device."""
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0


if not gpu_present() and "numba.cuda" not in sys.modules:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    numba.core.config.reload_config()
