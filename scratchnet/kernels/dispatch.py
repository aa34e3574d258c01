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

from numba import njit


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
