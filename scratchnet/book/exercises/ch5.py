"""Chapter 5's problems, computed: how wide the window is in which ``|w sigma'(w a + b)| >= 1``
(problem 1), a sigmoid neuron used as an identity (problem 2), and the speed of learning of each
hidden layer for any activation (the exercise, and chapter 6's last problem)."""

from __future__ import annotations

import numpy as np

from .. import network2
from ..common import sigmoid, stack


# --8<-- [start:window]
def window_width(w: float) -> float:
    """Problem 1 (2): the width of the set of ``a`` with ``|w sigma'(w a + b)| >= 1`` (any ``b``),
    ``(2/|w|) ln(|w| (1 + sqrt(1 - 4/|w|)) / 2 - 1)`` for ``|w| >= 4``, and 0 below 4."""
    w = abs(w)
    if w < 4:
        return 0.0
    return float(2 / w * np.log(w * (1 + np.sqrt(1 - 4 / w)) / 2 - 1))


def measured_window(w: float, b: float = 0.0, points: int = 2_000_001, span: float = 4.0) -> float:
    """The same width measured: the length of ``{a in [-span, span]: |w sigma'(w a + b)| >= 1}``
    on a grid (for ``|b|`` small enough that the window lies inside the span)."""
    a = np.linspace(-span, span, points)
    s = sigmoid(w * a + b)
    return float(np.count_nonzero(np.abs(w) * s * (1 - s) >= 1) * (a[1] - a[0]))


def widest_window() -> tuple[float, float]:
    """Problem 1 (3): ``(|w|, width)`` where :func:`window_width` is largest, by a fine scan of
    ``|w|`` in [4, 20] refined by golden-section search (the width is unimodal there)."""
    ws = np.linspace(4.0, 20.0, 16001)
    k = int(np.argmax([window_width(w) for w in ws]))
    lo, hi = ws[max(k - 1, 0)], ws[min(k + 1, len(ws) - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(80):
        m1, m2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        lo, hi = (m1, hi) if window_width(m1) < window_width(m2) else (lo, m2)
    w = (lo + hi) / 2
    return float(w), window_width(w)
# --8<-- [end:window]


# --8<-- [start:identity]
def identity_neuron(w1: float) -> tuple[float, float, float, float]:
    """Problem 2: ``(w1, b, w2, c)`` with ``w2 sigma(w1 x + b) = x + c + r(x)`` on [0, 1]: centre the
    input, ``b = -w1/2`` (so ``w1 x + b = w1 Delta``, ``x = 1/2 + Delta``), and undo the slope
    ``sigma'(0) = 1/4``, ``w2 = 4/w1``; the constant is ``c = 2/w1 - 1/2`` (for the next layer's bias)
    and Taylor's theorem with ``|sigma'''| <= 1/8`` gives ``|r| <= w1^2 / 96``."""
    return w1, -w1 / 2, 4 / w1, 2 / w1 - 0.5
# --8<-- [end:identity]


# --8<-- [start:speeds_any]
def layer_speeds(net: network2.Network, data: list) -> list[float]:
    """``||mean_x dC_x/db^l||`` for each hidden layer of a ``network2.Network`` with any hidden
    activation (sigmoid, tanh, ReLU) and its cost; ``data`` a list of ``(x, one-hot y)``.
    Book.speed.layer_speeds does the same for sigmoid networks; here ``f'`` is the network's own."""
    f, df = network2.HIDDEN[net.activation]
    X, Y = stack(data, "data", net.sizes[0], net.sizes[-1])
    a, zs = X.astype(np.float64), []
    for w, b in zip(net.weights, net.biases, strict=True):
        zs.append(a @ w.T + b.reshape(-1))                              # (n, n_l)
        a = f(zs[-1])                                                   # (the last one is not used)
    out = net._output(X)                                                # (n, n_L), the network's own output layer
    delta = (out - Y) * out * (1 - out) if net.cost is network2.QuadraticCost else out - Y   # BP1
    speeds = []
    for l in range(len(net.weights) - 1, 0, -1):
        delta = (delta @ net.weights[l]) * df(zs[l - 1])                # BP2, (n, n_{l-1})
        speeds.append(float(np.linalg.norm(delta.mean(axis=0))))       # BP3, averaged
    return speeds[::-1]
# --8<-- [end:speeds_any]
