"""What every cuda kernel's launcher shares: the ``numba.cuda`` module, the check that it can run,
and the grid arithmetic.

``numba.cuda`` runs either on a real GPU or on Numba's simulator (``NUMBA_ENABLE_CUDASIM=1``,
read when ``numba.cuda`` is first imported: one Python thread per CUDA thread, on the CPU). The
kernels are the same code on both; :func:`problem` says why neither is there.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

#: threads per block of the element-wise kernels (a multiple of the 32-thread warp)
THREADS = 128
#: the most blocks an element-wise launch uses (4096 of 128 threads: an H100's 132 SMs hold 2,112
#: such blocks at once); past ``MAX_BLOCKS * THREADS`` elements each thread takes several
MAX_BLOCKS = 4096
#: the most threads a block-reduction kernel uses (a power of two; fewer for short sums) and the
#: fewest (a warp)
REDUCE_THREADS, REDUCE_MIN_THREADS = 256, 32


def simulated() -> bool:
    """True when ``numba.cuda`` is Numba's CPU simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    # which module ``numba.cuda`` took its API from when it was imported (the switch is read once)
    return "simulator" in cuda.is_available.__module__


def problem() -> str | None:
    """Why the cuda kernels cannot run here (no GPU and no simulator), or ``None`` when they can."""
    if simulated() or cuda.is_available():
        return None
    reason = " ".join(str(cuda.cuda_error() or "cuda.is_available() is False").split())
    return (f"numba.cuda finds no usable GPU ({reason}); "
            f"set NUMBA_ENABLE_CUDASIM=1 before starting Python to run the cuda kernels on "
            f"Numba's CPU simulator (slow: one Python thread per CUDA thread)")


def blocks(n: int, threads: int | None = None) -> int:
    """Blocks of ``threads`` (default ``THREADS``) that cover ``n`` items: ``ceil(n / threads)``, at
    least one."""
    return max(1, -(-n // (threads or THREADS)))


# --8<-- [start:elementwise]
def elementwise(kernel, n: int, *args) -> None:
    """Launch an element-wise ``kernel`` over ``n`` items: ``THREADS`` to a block, a block for each
    ``THREADS`` items up to ``MAX_BLOCKS``. The kernel walks its items with a grid-stride loop,

        for i in range(cuda.grid(1), n, cuda.gridsize(1)):   # i, i + all threads, ...

    so any grid covers them: one item a thread when the grid is large enough, several when not.
    (The sizes are read at each launch: the simulator's tests shrink them, one Python thread per
    CUDA thread being what a simulated launch costs.)"""
    kernel[min(blocks(n), MAX_BLOCKS), THREADS](*args)
# --8<-- [end:elementwise]


def reduce_threads(n: int) -> int:
    """Threads for a block that sums ``n`` terms: the power of two >= n, from ``REDUCE_MIN_THREADS``
    (32, a warp) to ``REDUCE_THREADS``. Short sums get small blocks (on the simulator, every thread
    costs)."""
    return min(REDUCE_THREADS, max(REDUCE_MIN_THREADS, 1 << math.ceil(math.log2(max(n, 1)))))


def shared_bytes(threads: int) -> int:
    """Dynamic shared memory for a block reduction: one float64 per thread (three for three sums)."""
    return 8 * threads


def flat(x):
    """A 1-D view of the C-contiguous array ``x`` (device or host): element-wise kernels walk it."""
    return x.reshape(x.size)


def first_bad(sentinel: int):
    """A one-element device array holding ``sentinel``, for ``cuda.atomic.min`` of bad indices."""
    return cuda.to_device(np.array([sentinel], np.int64))


def found(bad, sentinel: int) -> int:
    """The index the kernel left in ``first_bad(sentinel)``'s array, or ``-1`` if none was found."""
    index = int(bad.copy_to_host()[0])
    return -1 if index >= sentinel else index
