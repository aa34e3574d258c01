"""The ``cuda`` tier: every kernel of the CPU tiers written again for the GPU in ``numba.cuda``.

Each launcher has its reference twin's name, arguments and return value, but takes device arrays
(``numba.cuda.to_device``; NumPy arrays also work, copied there and back at every call) and picks
the grid itself; the ``@cuda.jit`` kernel beside it says in its launcher's docstring who does what
(one thread per element, one block per row or channel, the GEMM's tiles). ``notes/kernels-gpu.md``
draws the pictures. ``SCRATCHNET_KERNELS=cuda`` selects this tier for ``kernels.ops``; without a
GPU, ``NUMBA_ENABLE_CUDASIM=1`` (set before Python starts) runs the same kernels on Numba's
simulator, one Python thread per CUDA thread: that is how ``tests/cuda/`` checks each kernel
against its reference twin on a machine with no GPU.

Importing this package imports ``numba.cuda`` (not done by ``import scratchnet``).
"""

from __future__ import annotations

from .device import problem, simulated

__all__ = ["problem", "simulated"]
