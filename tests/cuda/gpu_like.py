"""Make Numba's simulator as strict as a GPU about device arrays, and record what crosses to the host.

The simulator's device array (``FakeCUDAArray``) wraps a NumPy array and hands any attribute it
lacks to it: ``X.sum()``, ``X + Y``, ``X.fill(0)``, ``np.isfinite(X)`` all work there, and none of
them works on a GPU's ``DeviceNDArray`` (or each copies the whole array to the host). A kernel
launched with a NumPy array is copied to the device and back at every launch. Under
:func:`gpu_like` each of these fails on the simulator too, so a test that passes there exercises
only what a GPU runs; and every copy between host and device is recorded in ``transfers``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
from numba import cuda
from numba.cuda.simulator import kernel as sim_kernel
from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

from scratchnet.kernels.cuda import device, gemm

#: attributes a GPU's DeviceNDArray has that the simulator's array takes from its NumPy array
#: (the others it defines itself: shape, reshape, copy_to_host, ...)
DEVICE_ARRAY_ATTRIBUTES = {"dtype", "ndim", "size", "strides", "flags", "squeeze", "nbytes"}
NUMPY_OPERATORS = ("__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__", "__pow__",
                   "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__")


class HostOnly(TypeError):
    """A NumPy operation on a device array (a GPU's device array has no such thing)."""


def _strict_getattr(self, name: str):
    if name in DEVICE_ARRAY_ATTRIBUTES:
        return getattr(self._ary, name)
    raise HostOnly(f"a device array has no {name!r} on a GPU (the simulator would take NumPy's)")


def _refuse(name: str):
    def operator(self, other):
        raise HostOnly(f"a device array has no operator {name} on a GPU")
    return operator


class Transfers(list):
    """``(direction, shape)`` of every copy: ``"to device"`` or ``"to host"``."""

    def shapes(self, direction: str) -> list[tuple[int, ...]]:
        return [shape for d, shape in self if d == direction]


@contextlib.contextmanager
def gpu_like(monkeypatch: pytest.MonkeyPatch) -> Iterator[Transfers]:
    """Within the block: device arrays refuse NumPy's attributes and operators, a kernel refuses a
    NumPy array argument, and every host <-> device copy is recorded (the value yielded)."""
    transfers = Transfers()
    monkeypatch.setattr(FakeCUDAArray, "__getattr__", _strict_getattr)
    for name in NUMPY_OPERATORS:
        monkeypatch.setattr(FakeCUDAArray, name, _refuse(name))
    to_device, to_host, copy_to_device = cuda.to_device, FakeCUDAArray.copy_to_host, FakeCUDAArray.copy_to_device

    def recorded_to_device(ary, *args, **kwargs):
        transfers.append(("to device", np.shape(ary)))
        return to_device(ary, *args, **kwargs)

    def recorded_to_host(self, *args, **kwargs):
        transfers.append(("to host", tuple(self.shape)))
        return to_host(self, *args, **kwargs)

    def recorded_copy_to_device(self, ary, *args, **kwargs):
        transfers.append(("to device", tuple(np.shape(ary))))
        return copy_to_device(self, ary, *args, **kwargs)

    monkeypatch.setattr(cuda, "to_device", recorded_to_device)
    monkeypatch.setattr(FakeCUDAArray, "copy_to_host", recorded_to_host)
    monkeypatch.setattr(FakeCUDAArray, "copy_to_device", recorded_copy_to_device)
    launch = sim_kernel.FakeCUDAKernel.__call__

    def device_arrays_only(self, *args):
        if not self._device:  # a kernel launch, not a device function called from one
            for arg in args:
                if isinstance(arg, np.ndarray) and arg.ndim > 0:
                    raise HostOnly(f"{self.fn.__name__} launched with a NumPy array {arg.shape}: on a GPU "
                                   f"it is copied to the device and back at every launch")
        return launch(self, *args)

    monkeypatch.setattr(sim_kernel.FakeCUDAKernel, "__call__", device_arrays_only)
    yield transfers


def small_launches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Launch geometry for the simulator, where every CUDA thread is a Python thread (about half a
    millisecond each): element-wise launches of at most 2 blocks of 32 threads (each thread takes
    every 64th element: ``device.elementwise``'s grid-stride loop), block reductions of 8 to 32
    threads, and the GEMM's register-blocked step at a 16 x 32 x 8 tile (8 threads of 8 x 8 outputs;
    chosen by timing the VAE's and ``book_mlp``'s products, 784 deep and 784 wide, on the
    simulator). The kernels are the same; only how many threads share the work changes."""
    monkeypatch.setattr(device, "THREADS", 32)
    monkeypatch.setattr(device, "MAX_BLOCKS", 2)
    monkeypatch.setattr(device, "REDUCE_THREADS", 32)
    monkeypatch.setattr(device, "REDUCE_MIN_THREADS", 8)
    monkeypatch.setattr(gemm, "FASTEST", gemm.register_blocked(16, 32, 8, 8, 8))
