"""Serial or threaded: one kernel body, two compilations, chosen by the size of the work.

A ``prange`` loop wakes the thread pool on every call; for a mini-batch of ten small images that
costs more than the work. ``serial_or_parallel`` compiles a body both ways and calls the
threaded one only when the first array argument holds at least ``min_elements`` values.

Both compilations are cached on disk. Numba names a cache entry after the function's qualified
name, so the threaded twin is the same code under the name ``<name>.threaded``; with one name,
the second compilation would overwrite the first one's entry.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import numba
from llvmlite import ir
from numba import njit
from numba import types as nbtypes
from numba.core import cgutils
from numba.extending import intrinsic


def _twin(fn: Callable, suffix: str) -> Callable:
    """A copy of ``fn`` (same code, globals and defaults) whose qualified name ends in ``suffix``."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    twin.__qualname__ = f"{fn.__qualname__}.{suffix}"
    twin.__module__, twin.__doc__ = fn.__module__, fn.__doc__
    return twin


def serial_or_parallel(min_elements: int = 1 << 16, fastmath: bool | set[str] = False, **options) -> Callable:
    """Decorator: ``fn`` jitted serially and with ``parallel=True``; dispatch on ``args[0].size``.

    ``fastmath`` and any other ``njit`` options (``error_model="numpy"``) are passed to both
    compilations (``fastmath={"reassoc"}`` lets a sum vectorise).
    """

    def wrap(fn: Callable) -> Callable:
        serial = njit(cache=True, fastmath=fastmath, **options)(fn)
        threaded = njit(cache=True, parallel=True, fastmath=fastmath, **options)(_twin(fn, "threaded"))

        def dispatch(*args):
            return (threaded if args[0].size >= min_elements else serial)(*args)

        dispatch.__name__, dispatch.__qualname__, dispatch.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        dispatch.__module__ = fn.__module__
        dispatch.serial, dispatch.threaded = serial, threaded
        return dispatch

    return wrap


# -- how many threads, asked at run time --------------------------------------------------------
# A kernel that splits its work in one share per thread must not read the count from a module
# constant: ``cache=True`` keeps the machine code on disk with the constant folded in, so a single
# process started with NUMBA_NUM_THREADS=1 (a one-thread benchmark, a test's worker) would leave
# every later process of the checkout on one thread. ``numba.get_num_threads()`` in jitted code
# calls the threading layer through a ctypes pointer, which Numba refuses to cache; the threading
# layer also exports the same function to LLVM under the name ``get_num_threads`` (how Numba's
# own parallel loops ask, in code it does cache), and ``_threads_now`` calls it by that name.
numba.get_num_threads()  # starts the threading layer, which registers the symbol


@intrinsic
def _get_num_threads(typingctx):
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "get_num_threads")
        return builder.sext(builder.call(fn, []), ir.IntType(64))

    return nbtypes.int64(), codegen


@njit(cache=True)
def _threads_now() -> int:
    """The threads Numba runs a parallel loop on now: ``numba.get_num_threads()`` (so
    ``numba.set_num_threads`` counts), read at each call and safe to cache."""
    return _get_num_threads()
