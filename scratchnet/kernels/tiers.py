"""Which tier of kernels runs: ``reference`` (plain loops, the code the notes teach) or ``fast``.

Every fast kernel has a reference twin with the same signature and the same result (bit for bit
where the order of the sums is the same, to rounding otherwise; ``tests/test_tiers.py`` checks
it). The library calls every kernel through :mod:`.ops`, whose names are rebound at each switch,
so one switch moves the whole library:

    SCRATCHNET_KERNELS=reference scratchnet train book_mlp      # the whole process
    with scratchnet.kernels.use("reference"): model.forward(X)  # one block

The default is ``fast``, except under ``NUMBA_DISABLE_JIT=1``: the fast tier's micro-kernels are
LLVM IR that only exists compiled, while the reference tier then runs as plain Python, which is
what a learner stepping through a model in a debugger wants. ``cuda`` (``kernels.cuda``: the same
kernels in ``numba.cuda``) needs a GPU, or Numba's simulator (``NUMBA_ENABLE_CUDASIM=1`` set
before Python starts); without either it is refused with what to set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import numba

REFERENCE, FAST, CUDA = "reference", "fast", "cuda"
TIERS = (REFERENCE, FAST, CUDA)
ENV = "SCRATCHNET_KERNELS"


def check(tier: str, where: str) -> str:
    """``tier`` if it can run here, else a ValueError that starts with ``where`` and says what to set."""
    if tier not in TIERS:
        raise ValueError(f"{where}: kernel tier must be one of {', '.join(TIERS)}, got {tier!r}")
    if tier == CUDA:
        from .cuda.device import problem  # imports numba.cuda: only when the tier is asked for

        if (why := problem()) is not None:
            raise ValueError(f"{where}: the cuda kernel tier cannot run here: {why}")
    if tier == FAST and numba.config.DISABLE_JIT:
        raise ValueError(f"{where}: the fast tier needs compiled kernels, but NUMBA_DISABLE_JIT=1; "
                         f"use the reference tier (unset {ENV} or set it to 'reference')")
    return tier


def default_cpu_tier() -> str:
    """The tier the library runs on when nothing chooses one: ``fast`` (``reference`` under
    ``NUMBA_DISABLE_JIT=1``)."""
    return REFERENCE if numba.config.DISABLE_JIT else FAST


def _from_environment() -> str:
    return check(os.environ.get(ENV, "").strip() or default_cpu_tier(), f"environment variable {ENV}")


_active = [_from_environment()]
_binders: list[Callable[[str], None]] = []


def current() -> str:
    """The tier the library's kernels run on now: ``"reference"``, ``"fast"`` or ``"cuda"``."""
    return _active[0]


def _switch(tier: str) -> None:
    _active[0] = tier
    for bind in _binders:
        bind(tier)


@contextlib.contextmanager
def use(tier: str) -> Iterator[str]:
    """Run the block on ``tier`` (``"reference"``, ``"fast"`` or ``"cuda"``), then restore the previous tier.

    Process-wide, not per thread: Numba's threads never read it, and the library has no Python
    threads that call kernels.
    """
    previous = _active[0]
    _switch(check(tier, "kernels.use"))
    try:
        yield tier
    finally:
        _switch(previous)


def on_switch(bind: Callable[[str], None]) -> Callable[[str], None]:
    """Register ``bind(tier)``, called now and at every switch (``kernels.ops`` rebinds its names).

    Rebinding names at the switch, rather than asking the tier on every call, keeps a kernel
    call from Python as cheap as with one tier (a wrapper would add about 0.3 us to each of the
    five kernel calls of a small training step).
    """
    _binders.append(bind)
    bind(_active[0])
    return bind
