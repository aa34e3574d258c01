"""Serial or threaded: one kernel body, two compilations, chosen by the size of the work.

A ``prange`` loop wakes the thread pool on every call; for a mini-batch of ten small images that
costs more than the work. ``serial_or_parallel`` compiles a body both ways and calls the
threaded one only when the first array argument holds at least ``min_elements`` values (the
threaded one is compiled on its first such call).
"""

from __future__ import annotations

from collections.abc import Callable

from numba import njit


def serial_or_parallel(min_elements: int = 1 << 16) -> Callable:
    """Decorator: ``fn`` jitted serially and with ``parallel=True``; dispatch on ``args[0].size``."""

    def wrap(fn: Callable) -> Callable:
        serial = njit(cache=True)(fn)
        # Not cached: Numba's cache keys a function by its source and signature, not its options,
        # so a second cached compilation of the same body would overwrite the serial one.
        threaded = njit(parallel=True)(fn)

        def dispatch(*args):
            return (threaded if args[0].size >= min_elements else serial)(*args)

        dispatch.__name__, dispatch.__qualname__, dispatch.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        dispatch.__module__ = fn.__module__
        dispatch.serial, dispatch.threaded = serial, threaded
        return dispatch

    return wrap
