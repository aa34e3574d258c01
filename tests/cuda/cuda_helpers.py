"""Run a cuda launcher and its reference twin on copies of the same arrays; compare the results.

``within_rounding`` is the tiers' bound (``tests/test_tiers.py``): an element of a ``K``-term sum
may differ from the reference by ``4 (K + 2) eps`` times the sum of its terms' magnitudes
(``scale``), the room that another order of the sums, or a fused multiply-add, needs. On the
simulator a kernel that sums in the reference's order (``same_order``) must give the reference's
float64 result exactly: there is no FMA there, so any difference is a bug, not rounding.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from scratchnet.kernels.cuda import simulated


def on_device(fn, *args):
    """``fn`` on device copies of the array arguments: ``(its return value, the arrays after)``."""
    dev = [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    result = fn(*dev)
    return result, [d.copy_to_host() if isinstance(a, np.ndarray) else d for a, d in zip(args, dev, strict=True)]


def on_host(fn, *args):
    """``fn`` on host copies of the array arguments: ``(its return value, the arrays after)``."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    return fn(*copies), copies


def twins(reference, launcher, *args):
    """The reference's and the launcher's ``(return value, arrays after)`` from the same inputs."""
    return on_host(reference, *args), on_device(launcher, *args)


def within_rounding(got, ref, scale, terms: int = 1, same_order: bool = False, what: str = "", dtype=None) -> None:
    """``|got - ref| <= 4 (terms + 2) eps scale`` element by element, NaN where the reference has
    NaN and infinities equal; exactly equal in float64 on the simulator when ``same_order``.
    ``eps`` is ``dtype``'s (by default the reference's: a loss value is a Python float, whatever
    precision its inputs had)."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape, (what, got.shape, ref.shape)
    assert np.array_equal(np.isnan(got), np.isnan(ref)), f"{what}: NaN in other places\ncuda {got}\nref  {ref}"
    finite = np.isfinite(ref)
    assert np.array_equal(got[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)]), what
    if same_order and simulated() and ref.dtype == np.float64:
        assert np.array_equal(got[finite], ref[finite]), f"{what}: not the reference's sum\ncuda {got}\nref  {ref}"
        return
    eps = np.finfo(dtype or ref.dtype).eps
    bound = 4 * (terms + 2) * eps * np.broadcast_to(np.abs(np.asarray(scale, np.float64)), ref.shape)[finite]
    err = np.abs(got[finite].astype(np.float64) - ref[finite])
    worst = int(np.argmax(err - bound)) if err.size else 0
    assert np.all(err <= bound), (f"{what}: |cuda - ref| {err[worst]:.3g} > bound {bound[worst]:.3g}\n"
                                  f"cuda {got[finite][worst]!r}\nref  {ref[finite][worst]!r}")
