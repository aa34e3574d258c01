"""Is there a CUDA GPU? Asked of the driver library itself, without importing ``numba.cuda``
(whose first import fixes whether it is the simulator: ``conftest.py``)."""

from __future__ import annotations

import ctypes


def gpu_present() -> bool:
    """True when the CUDA driver loads and counts at least one device."""
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
