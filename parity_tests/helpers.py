"""Tolerances, conversions and the side-by-side assertion every parity test uses.

Tolerances are notes/architecture.md's ("Tolerances"): float64 is the gate, float32 a smoke
test. An element passes when

    |ours - theirs| <= atol + rtol * |theirs|,   atol = base_atol * max(1, max|theirs|) * sqrt(K)

so ``atol`` is scaled by the reference's magnitude (an element that cancels to nearly zero is
judged against the size of its neighbours) and by ``sqrt(K)`` for a K-term reduction (rounding
errors of a K-term sum grow like a random walk).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest
import torch

DEVICE = torch.device(os.environ.get("PARITY_DEVICE")
                      or ("cuda" if torch.cuda.is_available() else "cpu"))
DTYPES = [np.float64, np.float32]
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}

#: ``@dtypes`` parametrizes a test over float64 (the gate) then float32 (the smoke test).
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)


@dataclass(frozen=True)
class Tol:
    """``rtol`` and the base ``atol`` (before the magnitude and ``sqrt(K)`` scaling)."""

    rtol: float
    atol: float


@dataclass(frozen=True)
class Tolerances:
    """One pair for forward values, one for gradients (and optimizer updates), per dtype."""

    forward64: Tol
    grad64: Tol
    forward32: Tol
    grad32: Tol

    def get(self, dtype, kind: str) -> Tol:
        """The tolerance for ``kind`` ("forward" or "grad") in ``dtype``."""
        if kind not in ("forward", "grad"):
            raise ValueError(f"Tolerances.get: kind must be 'forward' or 'grad', got {kind!r}")
        bits = "64" if np.dtype(dtype) == np.float64 else "32"
        return getattr(self, kind + bits)

    def no_looser_than(self, other: Tolerances) -> bool:
        """True when every tolerance here is at most ``other``'s (entries may only tighten)."""
        fields = ("forward64", "grad64", "forward32", "grad32")
        pairs = [(getattr(self, f), getattr(other, f)) for f in fields]
        return all(mine.rtol <= ref.rtol and mine.atol <= ref.atol for mine, ref in pairs)


# notes/architecture.md: float64 forward rtol 1e-10, gradients rtol 1e-8; float32 forward atol 1e-5 / rtol
# 1e-4, gradients atol 1e-4 / rtol 1e-3. float64's base atol is 1/100 of its rtol.
DESIGN_TOL = Tolerances(forward64=Tol(1e-10, 1e-12), grad64=Tol(1e-8, 1e-10),
                        forward32=Tol(1e-4, 1e-5), grad32=Tol(1e-3, 1e-4))


@dataclass(frozen=True)
class Terms:
    """The ``K`` of the ``sqrt(K)`` atol scaling, derived once per operation from its sums.

    ``forward``: the longest sum behind one output value; ``dx``: the most upstream values
    added into one input gradient; ``param``: the most terms added into one parameter gradient.
    Each is a count of the maths, never a fudge factor: a test passes the count of the operation
    it checks, from the functions below (or from a registry entry's ``k_terms``).
    """

    forward: int = 1
    dx: int = 1
    param: int = 1


def _cover(k: int, stride: int) -> int:
    """How many stride-``stride`` windows of length ``k`` can cover one input position."""
    return -(-k // stride)


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv_terms(C: int, Co: int, kh: int, kw: int, stride: int | tuple[int, int], N: int, Ho: int, Wo: int) -> Terms:
    """Conv2d: ``Y`` sums ``C kh kw`` products; ``dX`` gathers ``Co ceil(kh/sh) ceil(kw/sw)``;
    ``dW`` and ``db`` sum over the ``N Ho Wo`` output positions."""
    sh, sw = _pair(stride)
    return Terms(forward=C * kh * kw, dx=Co * _cover(kh, sh) * _cover(kw, sw), param=N * Ho * Wo)


def pool_terms(kind: str, k: int | tuple[int, int], stride: int | tuple[int, int]) -> Terms:
    """Pooling: average sums ``kh kw`` values (max sums none); an input gets ``ceil(kh/sh) ceil(kw/sw)`` gradients."""
    (kh, kw), (sh, sw) = _pair(k), _pair(stride)
    return Terms(forward=kh * kw if kind == "avg" else 1, dx=_cover(kh, sh) * _cover(kw, sw))


def batchnorm_terms(N: int, S: int) -> Terms:
    """BatchNorm: the mean, the variance and every gradient sum over the ``N S`` values of a channel."""
    return Terms(forward=N * S, dx=N * S, param=N * S)


def to_torch(a: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """The same numbers as a tensor on ``DEVICE`` (``torch.from_numpy``, no dtype change).

    On the CPU the tensor *shares memory* with ``a`` (a C-contiguous array is not copied): a
    torch reference that updates it in place updates ``a`` too, and a test comparing the two
    afterwards compares one array with itself. Pass a copy where either side writes.
    """
    t = torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE)
    return t.requires_grad_(requires_grad)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array (``.numpy()`` on the CPU)."""
    return t.detach().cpu().numpy()


def copy_torch_weights(ours, theirs: torch.nn.Module) -> None:
    """Load torch's ``state_dict`` into our module with ``.numpy()`` and nothing else.

    Also checks that both libraries name the same tensors in the same order.
    """
    state = {k: to_numpy(v) for k, v in theirs.state_dict().items()}
    keys = list(ours.state_dict())
    assert keys == list(state), \
        f"{type(ours).__name__}: state_dict keys\n  scratchnet {keys}\n  torch      {list(state)}"
    ours.load_state_dict(state)


class SharedDropout:
    """Every Dropout of a scratchnet model and of its torch twin drops the same units.

    Layers pair up in order. The first of the two libraries to run a layer draws its keep-mask
    from ``rng`` (``uniform >= p``); both use it until :meth:`new_masks`: scratchnet through
    ``Dropout.next_mask``, torch through a forward hook that returns ``x * (mask / (1 - p))``,
    torch's own formula, which autograd then differentiates. Evaluation mode is left alone.
    """

    def __init__(self, ours, theirs: torch.nn.Module, seed: int) -> None:
        import scratchnet.nn as snn

        self.rng, self.masks = np.random.default_rng(seed), {}
        mine = [m for m in ours._modules() if isinstance(m, snn.Dropout)]
        torch_ones = [m for m in theirs.modules() if isinstance(m, torch.nn.Dropout)]
        assert [m.p for m in mine] == [m.p for m in torch_ones], \
            f"Dropout layers: scratchnet p={[m.p for m in mine]}, torch p={[m.p for m in torch_ones]}"
        for i, (o, t) in enumerate(zip(mine, torch_ones, strict=True)):
            o.forward = self._ours_forward(i, o, o.forward)
            t.register_forward_hook(self._torch_hook(i))

    def new_masks(self) -> None:
        """The next forward pass of each library draws (and shares) fresh masks."""
        self.masks = {}

    def _mask(self, i: int, shape: tuple[int, ...], p: float) -> np.ndarray:
        if i not in self.masks:
            self.masks[i] = self.rng.random(shape) >= p
        assert self.masks[i].shape == shape, f"Dropout {i}: mask {self.masks[i].shape} for input {shape}"
        return self.masks[i]

    def _ours_forward(self, i: int, layer, forward):
        def shared(X: np.ndarray) -> np.ndarray:
            if layer.training and layer.p > 0:
                layer.next_mask = self._mask(i, X.shape, layer.p)
            return forward(X)
        return shared

    def _torch_hook(self, i: int):
        def hook(module: torch.nn.Dropout, inputs: tuple[torch.Tensor, ...], output: torch.Tensor):
            if not module.training or module.p == 0:
                return None
            x = inputs[0]
            keep = torch.from_numpy(self._mask(i, tuple(x.shape), module.p)).to(x.device, x.dtype)
            return x * (keep / (1 - module.p))
        return hook


def _fmt(x) -> str:
    return f"{x: .17g}" if np.isfinite(x) else str(float(x))


def assert_close(what: str, ours, theirs, dtype, kind: str = "forward", k_terms: int = 1,
                 tol: Tolerances = DESIGN_TOL) -> None:
    """Assert ``ours`` equals the torch reference ``theirs`` within ``tol`` (module docstring).

    On failure the message names ``what``, the dtype and the tolerance, and lists the worst
    elements with scratchnet's value beside torch's.
    """
    if not tol.no_looser_than(DESIGN_TOL):
        raise ValueError(f"assert_close({what!r}): tolerance {tol} is looser than notes/architecture.md's "
                         f"{DESIGN_TOL}; entries may only tighten it")
    if int(k_terms) != k_terms or k_terms < 1:
        raise ValueError(f"assert_close({what!r}): k_terms must be a positive count of summed terms, "
                         f"got {k_terms!r}")
    theirs = to_numpy(theirs) if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    name = np.dtype(dtype).name
    assert ours.shape == theirs.shape, \
        f"{what} ({name}): shape {ours.shape} (scratchnet) vs {theirs.shape} (torch)"
    t = tol.get(dtype, kind)
    ours64, theirs64 = ours.astype(np.float64), theirs.astype(np.float64)
    finite = theirs64[np.isfinite(theirs64)]
    scale = max(1.0, float(np.abs(finite).max(initial=0.0)))
    atol = t.atol * scale * float(np.sqrt(k_terms))
    bad = ~np.isclose(ours64, theirs64, rtol=t.rtol, atol=atol)
    if not bad.any():
        return
    diff = np.abs(ours64 - theirs64)
    # worst first: NaN and inf differences rank highest, passing elements last
    badness = np.where(bad, np.nan_to_num(diff, nan=np.inf, posinf=np.inf), -1.0)
    order = np.argsort(badness, axis=None)[::-1]
    rows = [f"    {'index':<16} {'scratchnet':>24}  {'torch':>24}  {'|diff|':>9}  {'allowed':>9}"]
    for flat in order[:8]:
        if not bad.flat[flat]:
            break
        ix = np.unravel_index(flat, bad.shape)
        allowed = atol + t.rtol * abs(theirs64[ix])
        rows.append(f"    {str(tuple(int(i) for i in ix)):<16} {_fmt(ours64[ix]):>24}  "
                    f"{_fmt(theirs64[ix]):>24}  {diff[ix]:9.2e}  {allowed:9.2e}")
    raise AssertionError(
        f"{what} ({name}, {kind}): {int(bad.sum())} of {bad.size} values differ beyond "
        f"rtol={t.rtol:g}, atol={atol:.3g} (= {t.atol:g} x scale {scale:.3g} x sqrt({k_terms}))\n"
        + "\n".join(rows))


def assert_equal(what: str, ours, theirs) -> None:
    """Exact equality (kinks and ties tested on purpose), printed side by side on failure."""
    theirs = to_numpy(theirs) if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, \
        f"{what}: shape {ours.shape} (scratchnet) vs {theirs.shape} (torch)"
    bad = ours != theirs
    if bad.any():
        rows = "\n".join(f"    {str(tuple(int(i) for i in ix)):<16} scratchnet "
                         f"{_fmt(ours[tuple(ix)])}  torch {_fmt(theirs[tuple(ix)])}"
                         for ix in np.argwhere(bad)[:8])
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} values are not exactly equal\n{rows}")
