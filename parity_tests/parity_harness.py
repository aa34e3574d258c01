"""Shared machinery of the parity suite: tolerances, the side-by-side assertion, strategies."""

from __future__ import annotations

import os

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

DEVICE = torch.device(os.environ.get("PARITY_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))
DTYPES = [np.float64, np.float32]

# DESIGN.md: float64 is the gate, float32 a smoke test.
TOL = {
    np.float64: {"forward": dict(rtol=1e-10, atol=1e-12), "grad": dict(rtol=1e-8, atol=1e-10)},
    np.float32: {"forward": dict(rtol=1e-4, atol=1e-5), "grad": dict(rtol=1e-3, atol=1e-4)},
}


def to_torch(a: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE)
    return t.requires_grad_(requires_grad)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def assert_close(what: str, ours: np.ndarray, theirs, dtype, kind: str = "forward", k_terms: int = 1) -> None:
    """Compare ours with the torch reference; on failure print both side by side.

    ``atol`` is scaled by the reference's magnitude and by ``sqrt(k_terms)`` for reductions.
    """
    theirs = to_numpy(theirs) if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} (scratchnet) vs {theirs.shape} (torch)"
    tol = TOL[np.dtype(dtype).type][kind]
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    atol = tol["atol"] * scale * np.sqrt(k_terms)
    bad = ~np.isclose(ours, theirs, rtol=tol["rtol"], atol=atol)
    if bad.any():
        idx = np.argwhere(bad)[:5]
        rows = "\n".join(f"    at {tuple(int(i) for i in ix)}: scratchnet {ours[tuple(ix)]!r:>24}  "
                         f"torch {theirs[tuple(ix)]!r:>24}" for ix in idx)
        raise AssertionError(f"{what} ({np.dtype(dtype).name}, {kind}): {int(bad.sum())} of {bad.size} values differ "
                             f"beyond rtol={tol['rtol']}, atol={atol:.3g}\n{rows}")


def arrays(shape, dtype, lo: float = -3.0, hi: float = 3.0, unique: bool = True):
    """Arrays of ``shape`` with distinct finite values in [lo, hi] (no accidental ties)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, width=64),
                      unique=unique).map(lambda a: a.astype(dtype))


def upstream(shape, dtype, seed: int) -> np.ndarray:
    """A random upstream gradient with distinct values (never only ``.sum()``)."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(int(np.prod(shape)))
    assert len(np.unique(g)) == g.size
    return g.reshape(shape).astype(dtype)
