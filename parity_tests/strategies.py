"""Hypothesis strategies shared by the parity tests: arrays with distinct values, upstream
gradients, sizes, MLP architectures and optimizer configurations.

Generic inputs have *unique* values (no accidental ties or kinks); ties and kinks are tested
on purpose elsewhere with exact values (ReLU at 0).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def _inward(x: float, toward: float, dtype) -> float:
    """``x`` rounded to ``dtype``, moved one step toward ``toward`` if rounding went outward."""
    r = np.dtype(dtype).type(x)
    if (toward > x and r < x) or (toward < x and r > x):
        r = np.nextafter(r, np.dtype(dtype).type(toward))
    return float(r)


def arrays(shape: tuple[int, ...], dtype, lo: float = -3.0, hi: float = 3.0, unique: bool = True):
    """Arrays of ``shape`` and ``dtype`` with finite values in ``[lo, hi]``, distinct by default.

    Values are drawn at the dtype's own width, so float32 arrays stay unique after the draw.
    """
    width = 64 if np.dtype(dtype) == np.float64 else 32
    elements = st.floats(_inward(lo, hi, dtype), _inward(hi, lo, dtype), allow_nan=False,
                         allow_infinity=False, width=width)
    return hnp.arrays(dtype, shape, elements=elements, unique=unique)


def seeds():
    """A seed for ``np.random.default_rng`` (Hypothesis shrinks it like any integer)."""
    return st.integers(0, 2**32 - 1)


def upstream(shape: tuple[int, ...], dtype, seed: int) -> np.ndarray:
    """A random upstream gradient ``dC/dY`` with distinct values (a seeded draw, never ``.sum()``).

    Distinct values matter: with all-equal upstream gradients the softmax gradient is identically
    zero and a wrong Jacobian passes unnoticed.
    """
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(int(np.prod(shape))).astype(dtype)
    while g.size and len(np.unique(g)) != g.size:  # a float32 collision: redraw (essentially never)
        g = rng.standard_normal(g.size).astype(dtype)
    return g.reshape(shape)


def batch() -> st.SearchStrategy[int]:
    """Batch sizes, including 1."""
    return st.integers(1, 8)


def features(lo: int = 1, hi: int = 12) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


def rows(max_cols: int = 12) -> st.SearchStrategy[tuple[int, int]]:
    """An ``(N, C)`` shape."""
    return st.tuples(batch(), features(1, max_cols))


# (N,), (N, F), (N, C, L), (N, C, H, W): element-wise layers and kernels take any shape
ANY_SHAPE = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


# ----------------------------------------------------------------------- module configurations


@st.composite
def linear_configs(draw) -> dict:
    """``Linear``: ``in``, ``out``, ``bias`` and the ``input_shape`` ``(N, in)``."""
    n, i = draw(batch(), label="N"), draw(st.integers(1, 40), label="in_features")
    o, bias = draw(features(), label="out_features"), draw(st.booleans(), label="bias")
    return {"in": i, "out": o, "bias": bias, "input_shape": (n, i)}


@st.composite
def mlp_module_configs(draw, activations: list[str]) -> dict:
    """``Sequential`` as a small MLP: ``sizes`` (even 1 wide), ``activation``, ``input_shape``."""
    sizes = draw(st.lists(st.integers(1, 16), min_size=2, max_size=5), label="sizes")
    act = draw(st.sampled_from(activations), label="activation")
    return {"sizes": sizes, "activation": act, "input_shape": (draw(batch(), label="N"), sizes[0])}


@st.composite
def mlp(draw, max_width: int = 12) -> dict:
    """An MLP: ``sizes`` ``[n_in, hidden..., n_out]``, hidden ``activation``, ``batch`` size."""
    hidden = draw(st.lists(st.integers(2, max_width), min_size=1, max_size=3), label="hidden sizes")
    n_in = draw(st.integers(1, 20), label="n_in")
    n_out = draw(st.integers(2, 6), label="classes")
    return {"sizes": [n_in, *hidden, n_out],
            "activation": draw(st.sampled_from(["sigmoid", "tanh", "relu"]), label="activation"),
            "batch": draw(batch(), label="batch")}


# Optimizer configurations, by trajectory variant. Every one is a valid torch.optim configuration.
_LR = st.sampled_from([0.01, 0.1, 0.5])
_WD = st.sampled_from([0.0, 1e-2, 0.1])
OPTIMIZER_CONFIGS: dict[str, st.SearchStrategy[dict]] = {
    "sgd": st.fixed_dictionaries({"lr": _LR, "weight_decay": _WD}),
    "momentum": st.fixed_dictionaries({"lr": _LR, "momentum": st.sampled_from([0.5, 0.9]),
                                       "dampening": st.sampled_from([0.0, 0.1, 0.5]),
                                       "weight_decay": _WD}),
    # Nesterov needs zero dampening (torch raises otherwise).
    "nesterov": st.fixed_dictionaries({"lr": _LR, "momentum": st.sampled_from([0.5, 0.9]),
                                       "nesterov": st.just(True), "weight_decay": _WD}),
    "adam": st.fixed_dictionaries({"lr": st.sampled_from([1e-3, 1e-2, 0.1]),
                                   "betas": st.sampled_from([(0.9, 0.999), (0.5, 0.9)]),
                                   "eps": st.sampled_from([1e-8, 1e-6]), "weight_decay": _WD}),
}
OPTIMIZER_CONFIGS["adamw"] = OPTIMIZER_CONFIGS["adam"]


# ----------------------------------------------------------------------- loss inputs, by dtype


def _nc() -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(batch(), st.integers(2, 10))


def _labels(n: int, c: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.integers(0, c - 1), min_size=n, max_size=n).map(
        lambda lab: np.array(lab, dtype=np.int64))


def sigmoid_outputs_onehot(dtype):
    """The book's costs: sigmoid outputs in (0, 1) against one-hot targets, ``(N, C)`` each."""
    return _nc().flatmap(lambda s: st.tuples(
        arrays(s, dtype, 1e-3, 1 - 1e-3), _labels(*s).map(lambda y: np.eye(s[1], dtype=dtype)[y])))


def probabilities_soft_targets(dtype):
    """``BCELoss``: probabilities in (0, 1) against soft targets in [0, 1]."""
    return _nc().flatmap(lambda s: st.tuples(arrays(s, dtype, 1e-3, 1 - 1e-3),
                                             arrays(s, dtype, 0.0, 1.0)))


def logits_labels(dtype):
    """``CrossEntropyLoss``: logits up to +-700 against class indices ``(N,)``."""
    return _nc().flatmap(lambda s: st.tuples(arrays(s, dtype, -700.0, 700.0), _labels(*s)))


def real_pairs(dtype):
    """``MSELoss``: predictions and targets in [-10, 10]."""
    return _nc().flatmap(lambda s: st.tuples(arrays(s, dtype, -10.0, 10.0),
                                             arrays(s, dtype, -10.0, 10.0)))


# ----------------------------------------------------------------------- kernel inputs


def gemm_sizes() -> st.SearchStrategy[dict]:
    """``m, k, n``, ``beta`` and a seed for the matrices. ``k`` crosses the GEMM's K_TILE (256),
    ``n = 530`` its J_TILE (512), ``m >= 64`` with ``k`` large its threaded path."""
    return st.fixed_dictionaries({
        "m": st.integers(1, 70), "k": st.integers(1, 300),
        "n": st.one_of(st.integers(1, 70), st.just(530)),
        "beta": st.sampled_from([0.0, 1.0]), "seed": seeds()})


def optimizer_states() -> st.SearchStrategy[dict]:
    """A parameter's ``shape``, a ``seed`` for its values and state, and ``steps_before`` (0-3)."""
    return st.fixed_dictionaries({"shape": ANY_SHAPE, "seed": seeds(),
                                  "steps_before": st.integers(0, 3)})
