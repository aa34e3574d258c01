"""cuda tier: the activations of ``kernels/activations.py``, same signatures, on device arrays.

Element-wise kernels (sigmoid, tanh, ReLU and their derivatives, ``bias_act_forward``): one thread
per element of the flattened array (several past ``MAX_BLOCKS`` blocks: the grid-stride loop of
``device.elementwise``), ``THREADS`` to a block; a warp's 32 threads touch 32
neighbouring elements (one coalesced transaction per array). Each thread computes exactly the
reference's expression, so the results are the reference's to the last bit on the simulator and
to the GPU's ``exp``/``tanh`` rounding (libdevice, within 2 ulp) on a GPU.

``bias_backward`` gives each column of ``dZ`` to one thread, which adds the rows in order (the
reference's order: the same result); a warp reads 32 neighbouring columns of a row at a time.
Softmax, forward and backward, gives each row to one block: the row's maximum and sum (its dot
product, backward) are block reductions through shared memory (``reduce.py``).
"""

from __future__ import annotations

import math

from numba import cuda, float64

from ..activations import IDENTITY, RELU, SIGMOID, TANH
from .device import elementwise, flat, reduce_threads, shared_bytes
from .reduce import block_max, block_sum, larger


# --8<-- [start:sigmoid]
@cuda.jit
def _sigmoid_forward(Z, out):
    for i in range(cuda.grid(1), Z.size, cuda.gridsize(1)):
        z = Z[i]
        e = math.exp(-abs(z))  # in (0, 1]: never overflows
        r = 1.0 / (1.0 + e)  # sigma(|z|)
        out[i] = r if z >= 0 else e * r


def sigmoid_forward(Z, out):
    """``out = sigma(Z) = 1 / (1 + exp(-Z))`` without overflow; any shape. One thread per element."""
    elementwise(_sigmoid_forward, Z.size, flat(Z), flat(out))
    return out


@cuda.jit
def _sigmoid_backward(A, dA, dZ):
    for i in range(cuda.grid(1), A.size, cuda.gridsize(1)):
        dZ[i] = dA[i] * A[i] * (1.0 - A[i])


def sigmoid_backward(A, dA, dZ):
    """``dZ = dA * A (1 - A)``, ``A = sigma(Z)`` saved from the forward. One thread per element."""
    elementwise(_sigmoid_backward, A.size, flat(A), flat(dA), flat(dZ))
    return dZ
# --8<-- [end:sigmoid]


@cuda.jit
def _tanh_forward(Z, out):
    for i in range(cuda.grid(1), Z.size, cuda.gridsize(1)):
        out[i] = math.tanh(Z[i])


def tanh_forward(Z, out):
    """``out = tanh(Z)``; any shape. One thread per element."""
    elementwise(_tanh_forward, Z.size, flat(Z), flat(out))
    return out


@cuda.jit
def _tanh_backward(A, dA, dZ):
    for i in range(cuda.grid(1), A.size, cuda.gridsize(1)):
        dZ[i] = dA[i] * (1.0 - A[i] * A[i])


def tanh_backward(A, dA, dZ):
    """``dZ = dA * (1 - A^2)``, ``A = tanh(Z)`` saved from the forward. One thread per element."""
    elementwise(_tanh_backward, A.size, flat(A), flat(dA), flat(dZ))
    return dZ


# --8<-- [start:relu]
@cuda.jit
def _relu_forward(Z, out):
    for i in range(cuda.grid(1), Z.size, cuda.gridsize(1)):
        out[i] = 0.0 if Z[i] <= 0 else Z[i]  # NaN <= 0 is false: NaN stays NaN


def relu_forward(Z, out):
    """``out = max(Z, 0)``, NaN kept, as ``torch.relu``. One thread per element."""
    elementwise(_relu_forward, Z.size, flat(Z), flat(out))
    return out


@cuda.jit
def _relu_backward(Z, dA, dZ):
    for i in range(cuda.grid(1), Z.size, cuda.gridsize(1)):
        dZ[i] = dA[i] if Z[i] > 0 else 0.0  # ReLU'(0) = 0


def relu_backward(Z, dA, dZ):
    """``dZ = dA * [Z > 0]`` (ReLU'(0) = 0, PyTorch's); ``Z`` the input or the saved output."""
    elementwise(_relu_backward, Z.size, flat(Z), flat(dA), flat(dZ))
    return dZ
# --8<-- [end:relu]


@cuda.jit
def _bias_act_forward(Z, b, act, out):
    F = Z.shape[1]
    for i in range(cuda.grid(1), Z.size, cuda.gridsize(1)):
        n, f = i // F, i % F
        z = Z[n, f] + b[f]
        if act == SIGMOID:
            e = math.exp(-abs(z))
            r = 1.0 / (1.0 + e)
            z = r if z >= 0 else e * r
        elif act == TANH:
            z = math.tanh(z)
        elif act == RELU:
            z = 0.0 if z <= 0 else z
        out[n, f] = z


def bias_act_forward(Z, b, act, out):
    """``out = f(Z + b)``, b ``(F,)`` broadcast over the rows of Z ``(N, F)``; ``f`` by code
    (``IDENTITY`` .. ``RELU``); ``out`` may be ``Z``. One thread per element."""
    elementwise(_bias_act_forward, Z.size, Z, b, int(act), out)
    return out


# --8<-- [start:bias_backward]
@cuda.jit
def _bias_backward(dZ, db):
    N, F = dZ.shape
    for f in range(cuda.grid(1), F, cuda.gridsize(1)):
        s = 0.0  # float64, rows in order: the reference's sum
        for n in range(N):
            s += dZ[n, f]
        db[f] += s


def bias_backward(dZ, db):
    """``db += sum_n dZ[n]``: dZ ``(N, F)``, db ``(F,)``. One thread per column, rows in order."""
    elementwise(_bias_backward, dZ.shape[1], dZ, db)
    return db
# --8<-- [end:bias_backward]


# --8<-- [start:softmax]
@cuda.jit
def _softmax_forward(Z, out):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    C = Z.shape[1]
    m = Z[n, 0]
    for c in range(t, C, cuda.blockDim.x):  # this thread's columns t, t + blockDim, ...
        m = larger(m, Z[n, c])
    m = block_max(buf, m)
    s = 0.0
    for c in range(t, C, cuda.blockDim.x):
        e = math.exp(Z[n, c] - m)
        out[n, c] = e
        s += e
    s = block_sum(buf, s)
    for c in range(t, C, cuda.blockDim.x):
        out[n, c] /= s


def softmax_forward(Z, out):
    """Row-wise ``out[n] = exp(Z[n] - max Z[n]) / sum exp(Z[n] - max Z[n])``; Z, out ``(N, C)``.
    One block per row; its maximum and its sum are block reductions."""
    N, C = Z.shape
    threads = reduce_threads(C)
    _softmax_forward[N, threads, 0, shared_bytes(threads)](Z, out)
    return out


@cuda.jit
def _softmax_backward(S, dS, dZ):
    buf = cuda.shared.array(0, float64)
    n, t = cuda.blockIdx.x, cuda.threadIdx.x
    C = S.shape[1]
    dot = 0.0
    for c in range(t, C, cuda.blockDim.x):
        dot += dS[n, c] * S[n, c]
    dot = block_sum(buf, dot)
    for c in range(t, C, cuda.blockDim.x):
        dZ[n, c] = S[n, c] * (dS[n, c] - dot)


def softmax_backward(S, dS, dZ):
    """``dZ[n] = S[n] * (dS[n] - <dS[n], S[n]>)``; all ``(N, C)``. One block per row."""
    N, C = S.shape
    threads = reduce_threads(C)
    _softmax_backward[N, threads, 0, shared_bytes(threads)](S, dS, dZ)
    return dZ
# --8<-- [end:softmax]


__all__ = ["IDENTITY", "RELU", "SIGMOID", "TANH", "bias_act_forward", "bias_backward", "relu_backward",
           "relu_forward", "sigmoid_backward", "sigmoid_forward", "softmax_backward", "softmax_forward",
           "tanh_backward", "tanh_forward"]
