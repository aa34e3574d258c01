"""Device functions every cuda kernel that sums shares: the block reduction through shared memory,
and the IEEE ``log`` the simulator needs.

A block reduction: each thread first adds up its own strided share of the terms in a register
(thread ``t`` takes terms ``t, t + blockDim, t + 2 blockDim, ...``: neighbouring threads read
neighbouring addresses), writes that partial sum to shared memory, and then the block halves the
number of partial sums ``log2(blockDim)`` times, ``buf[t] += buf[t + h]`` for ``t < h``, with a
barrier between halvings. ``blockDim`` must be a power of two (``device.reduce_threads``).

The buffer is the block's *dynamic* shared memory (``cuda.shared.array(0, float64)``, sized at the
launch: ``device.shared_bytes``): every such array of a kernel starts at the same address, so a
kernel declares one and runs its sums one after another; each sum ends with a barrier so the next
may overwrite the buffer. Sums are in float64, whatever the arrays' dtype, like the CPU kernels'.
"""

from __future__ import annotations

import math

from numba import cuda


# --8<-- [start:block_sum]
@cuda.jit(device=True)
def block_sum(buf, value):
    """The sum of ``value`` over the block's threads, returned to every thread (all must call)."""
    t = cuda.threadIdx.x
    buf[t] = value
    cuda.syncthreads()
    h = cuda.blockDim.x // 2
    while h > 0:  # log2(blockDim) halvings: buf[t] holds the sum of 2^(levels done) partials
        if t < h:
            buf[t] += buf[t + h]
        cuda.syncthreads()
        h //= 2
    total = buf[0]
    cuda.syncthreads()  # everyone has read buf[0] before the buffer is used again
    return total
# --8<-- [end:block_sum]


@cuda.jit(device=True)
def block_max(buf, value):
    """The largest ``value`` over the block's threads, returned to every thread (all must call)."""
    t = cuda.threadIdx.x
    buf[t] = value
    cuda.syncthreads()
    h = cuda.blockDim.x // 2
    while h > 0:
        if t < h:
            buf[t] = larger(buf[t], buf[t + h])
        cuda.syncthreads()
        h //= 2
    top = buf[0]
    cuda.syncthreads()
    return top


@cuda.jit(device=True)
def ieee_log(x):
    """``log(x)`` with ``log(0) = -inf`` and ``log(x < 0) = log(NaN) = NaN``, as IEEE and the GPU's
    ``log`` give them (on the simulator ``math.log`` is Python's, which raises there instead)."""
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


@cuda.jit(device=True)
def larger(a, b):
    """``max(a, b)`` as Python takes it (``a`` unless ``b > a``); Numba 0.68's CUDA target cannot
    compile the builtin ``max`` of two scalars."""
    return b if b > a else a


@cuda.jit(device=True)
def smaller(a, b):
    """``min(a, b)`` as Python takes it (``a`` unless ``b < a``)."""
    return b if b < a else a
