"""cuda tier: the array helpers of ``kernels.ops`` (allocation, copies, casts, a few element-wise
operations and checks), on ``numba.cuda`` device arrays, with NumPy's names and arguments.

A device array has a shape, a dtype and ``copy_to_host``, but none of NumPy's arithmetic: what the
layers do to an array besides calling a kernel is here, each one a small kernel or a copy. The CPU
tiers bind NumPy's functions under the same names (``ops.ARRAY_HELPERS``):

    empty(shape, dtype)        zeros(shape, dtype)        fill(X, value)
    contiguous(X, dtype=None)  the device array of X: a NumPy array is copied there, another dtype cast
    to_host(X)                 a NumPy copy of X
    reshape(X, shape)          a view, which keeps X alive (``reuse_or_new`` counts references to X)
    copy_into(X, values)       X[...] = values (cast to X's dtype)
    add(A, B, out)             multiply(A, B, out)        out = A + B, A * B (B an array or a number)
    all_finite(X)              outside(X, lo, hi)         checks that return a bool

Element-wise kernels walk the flattened arrays with a grid-stride loop (``device.elementwise``:
one element a thread when the grid is large enough); the two checks record the first offending
index with ``cuda.atomic.min`` and copy back that one number.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .device import elementwise, first_bad, flat, found, simulated

if simulated():  # the simulator's arrays wrap a NumPy array; a GPU's hold device memory
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray as DeviceArray
else:
    from numba.cuda.cudadrv.devicearray import DeviceNDArray as DeviceArray

#: what the layers accept as an array on this tier (a NumPy array is copied to the device first)
ARRAYS = (np.ndarray, DeviceArray)


def empty(shape, dtype=np.float64):
    """An uninitialised device array, ``np.empty``'s arguments."""
    return cuda.device_array(shape, np.dtype(dtype))


@cuda.jit
def _fill(X, value):
    for i in range(cuda.grid(1), X.size, cuda.gridsize(1)):
        X[i] = value


def fill(X, value) -> None:
    """``X[...] = value`` for a C-contiguous device array X (``ndarray.fill``). One thread per element."""
    elementwise(_fill, X.size, flat(X), X.dtype.type(value))


def zeros(shape, dtype=np.float64):
    """A device array of zeros, ``np.zeros``'s arguments."""
    X = empty(shape, dtype)
    if X.size:
        fill(X, 0)
    return X


@cuda.jit
def _copy(X, out):
    for i in range(cuda.grid(1), X.size, cuda.gridsize(1)):
        out[i] = X[i]  # converted to out's dtype on the store


def contiguous(X, dtype=None):
    """X as a C-contiguous device array of ``dtype`` (``np.ascontiguousarray``): X itself when it
    already is one; a NumPy array is converted on the host and copied over; a device array of
    another dtype is cast by a kernel, one thread per element."""
    dtype = X.dtype if dtype is None else np.dtype(dtype)
    if isinstance(X, np.ndarray) or not isinstance(X, DeviceArray):
        return cuda.to_device(np.ascontiguousarray(X, dtype))
    if not X.is_c_contiguous():
        raise ValueError(f"contiguous: a device array must be C-contiguous here, got shape {tuple(X.shape)} "
                         f"with strides {tuple(X.strides)}")
    if X.dtype == dtype:
        return X
    out = empty(X.shape, dtype)
    if X.size:
        elementwise(_copy, X.size, flat(X), flat(out))
    return out


def to_host(X) -> np.ndarray:
    """A NumPy copy of X (device or host)."""
    return X.copy_to_host() if isinstance(X, DeviceArray) else np.array(X)


def reshape(X, shape):
    """A view of the C-contiguous device array X in ``shape`` (``ndarray.reshape``; ``-1`` allowed).

    A NumPy view holds its base, so ``reuse_or_new`` sees a buffer as in use while a view of it is;
    a device view only shares the memory. Keeping X on the view restores NumPy's rule."""
    view = X.reshape(shape)
    if isinstance(X, DeviceArray):
        view.base = X
    return view


def copy_into(X, values) -> None:
    """``X[...] = values``, cast to X's dtype (``load_state_dict``); X device or host."""
    if not isinstance(X, DeviceArray):
        X[...] = values
        return
    values = np.asarray(values) if not isinstance(values, DeviceArray) else values
    if tuple(values.shape) != tuple(X.shape):
        raise ValueError(f"copy_into: values of shape {tuple(values.shape)} for an array of shape {tuple(X.shape)}")
    if isinstance(values, DeviceArray):
        values = contiguous(values, X.dtype)
        if X.size:
            elementwise(_copy, X.size, flat(values), flat(X))
    else:
        X.copy_to_device(np.ascontiguousarray(values, X.dtype))


@cuda.jit
def _add(A, B, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = A[i] + B[i]


@cuda.jit
def _multiply(A, B, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = A[i] * B[i]


@cuda.jit
def _scale(A, b, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = A[i] * b


def _same_shape(what: str, *arrays) -> None:
    shapes = [tuple(a.shape) for a in arrays]
    if len(set(shapes)) != 1:
        raise ValueError(f"{what}: the arrays must have one shape (no broadcasting on the device), got {shapes}")


def add(A, B, out):
    """``out = A + B`` element by element, all of one shape; ``out`` may be A or B. Returns ``out``."""
    _same_shape("add", A, B, out)
    elementwise(_add, out.size, flat(A), flat(B), flat(out))
    return out


def multiply(A, B, out):
    """``out = A * B``: B an array of A's shape or a number (taken in A's dtype, as NumPy takes a
    Python number); ``out`` may be A. Returns ``out``."""
    if isinstance(B, DeviceArray):
        _same_shape("multiply", A, B, out)
        elementwise(_multiply, out.size, flat(A), flat(B), flat(out))
    else:
        _same_shape("multiply", A, out)
        elementwise(_scale, out.size, flat(A), A.dtype.type(B), flat(out))
    return out


@cuda.jit
def _first_non_finite(X, bad):
    for i in range(cuda.grid(1), X.size, cuda.gridsize(1)):
        if not math.isfinite(X[i]):
            cuda.atomic.min(bad, 0, i)


def all_finite(X) -> bool:
    """Whether every value of X is finite (``np.isfinite(X).all()``); one number comes back."""
    bad = first_bad(X.size)
    if X.size:
        elementwise(_first_non_finite, X.size, flat(X), bad)
    return found(bad, X.size) < 0


@cuda.jit
def _first_outside(X, lo, hi, bad):
    for i in range(cuda.grid(1), X.size, cuda.gridsize(1)):
        if X[i] < lo or X[i] > hi:  # NaN is neither: it is not outside
            cuda.atomic.min(bad, 0, i)


def outside(X, lo: float, hi: float) -> bool:
    """Whether some value of X lies below ``lo`` or above ``hi`` (``X.min() < lo or X.max() > hi``
    for X without NaN); one number comes back."""
    bad = first_bad(X.size)
    if X.size:
        elementwise(_first_outside, X.size, flat(X), float(lo), float(hi), bad)
    return found(bad, X.size) >= 0
