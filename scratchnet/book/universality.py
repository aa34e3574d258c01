"""Chapter 4: networks whose weights are *set*, not learned, to approximate a continuous function.

The book's visual proof of universality, as code on ``scratchnet.nn``:

- a hidden sigmoid neuron with a large weight ``w`` is a step at ``s = -b/w`` (:func:`step_neuron`);
- two such neurons with output weights ``h`` and ``-h`` make a bump of height ``h`` (:func:`bump`);
- ``N`` bumps whose heights are ``sigma^{-1}(f)`` at the middle of each piece make the weighted output
  a staircase close to ``sigma^{-1} o f``, so a sigmoid output neuron outputs about ``f``
  (:func:`bump_network`, with the bound :func:`error_bound`);
- in two dimensions, a step in ``x`` and a step in ``y`` per side, thresholded by a second hidden
  layer with weights ``+-h`` and bias ``-3h/2``, make towers; a tower per cell approximates any
  ``f(x, y)`` (:func:`tower_network`).

Then the same one-dimensional function *learned* by a small network (:func:`train_network`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..losses import MSELoss
from ..nn import Linear, Sequential, Sigmoid
from ..optim import Adam
from .common import sigmoid

Function = Callable[[np.ndarray], np.ndarray]


# --8<-- [start:goal]
def goal(x: np.ndarray) -> np.ndarray:
    """The book's goal function (its equation 113): ``0.2 + 0.4 x^2 + 0.3 x sin 15x + 0.05 cos 50x``."""
    return 0.2 + 0.4 * x**2 + 0.3 * x * np.sin(15 * x) + 0.05 * np.cos(50 * x)


def goal_slope(x: np.ndarray) -> np.ndarray:
    """``f'(x) = 0.8 x + 0.3 sin 15x + 4.5 x cos 15x - 2.5 sin 50x``."""
    return 0.8 * x + 0.3 * np.sin(15 * x) + 4.5 * x * np.cos(15 * x) - 2.5 * np.sin(50 * x)


def square_goal(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A goal of two inputs for the towers: ``0.5 + 0.3 sin(2 pi x) cos(pi y)`` on the unit square."""
    return 0.5 + 0.3 * np.sin(2 * np.pi * x) * np.cos(np.pi * y)


def square_goal_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(df/dx, df/dy)`` of :func:`square_goal`."""
    return (0.6 * np.pi * np.cos(2 * np.pi * x) * np.cos(np.pi * y),
            -0.3 * np.pi * np.sin(2 * np.pi * x) * np.sin(np.pi * y))


def sigmoid_inverse(y: np.ndarray) -> np.ndarray:
    """``sigma^{-1}(y) = ln(y / (1 - y))`` for ``y`` in (0, 1)."""
    y = np.asarray(y, dtype=np.float64)
    if np.any((y <= 0) | (y >= 1)):
        raise ValueError(f"sigmoid_inverse: values must lie in (0, 1), got range [{y.min()}, {y.max()}]")
    return np.log(y) - np.log1p(-y)
# --8<-- [end:goal]


# --8<-- [start:step]
def step_neuron(s: float, w: float) -> tuple[float, float]:
    """``(weight, bias)`` of a hidden neuron whose output ``sigma(w x + b)`` steps from 0 to 1 at
    ``x = s``: the step sits where ``w x + b = 0``, ``s = -b / w``, so ``b = -w s``. The larger
    ``w``, the closer to a step: ``|sigma(w (x - s)) - [x > s]| <= e^{-w |x - s|}``."""
    return w, -w * s


def bump(x: np.ndarray, s1: float, s2: float, h: float, w: float) -> np.ndarray:
    """The weighted output of a pair of hidden neurons stepping at ``s1 < s2`` with output weights
    ``h`` and ``-h``: ``h sigma(w (x - s1)) - h sigma(w (x - s2))``, about ``h`` on ``(s1, s2)``
    and 0 elsewhere."""
    return h * sigmoid(w * (x - s1)) - h * sigmoid(w * (x - s2))
# --8<-- [end:step]


# --8<-- [start:bumps]
def bump_layer(g: Function, n_bumps: int, w: float, lo: float = 0.0, hi: float = 1.0) \
        -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hidden weights, hidden biases and output weights, each ``(2 n_bumps,)``, of ``n_bumps`` pairs
    whose weighted output ``sum_k v_k sigma(w_k x + b_k)`` is a staircase close to ``g`` on ``[lo, hi]``.

    Bump ``j`` covers the ``j``-th of ``n_bumps`` equal pieces ``[s_j, s_{j+1}]`` and has height
    ``h_j = g(m_j)``, ``m_j`` the middle of its piece: neurons ``2j`` and ``2j + 1`` step at ``s_j``
    and ``s_{j+1}`` with output weights ``+h_j`` and ``-h_j``. The first bump starts, and the last
    ends, one interval's length outside ``[lo, hi]``, so that no half-step sits at ``lo`` or ``hi``.
    """
    if int(n_bumps) != n_bumps or n_bumps < 1:
        raise ValueError(f"bump_layer: n_bumps must be a positive int, got {n_bumps!r}")
    if not (w > 0 and hi > lo):
        raise ValueError(f"bump_layer: need w > 0 and hi > lo, got w={w}, lo={lo}, hi={hi}")
    edges = lo + (hi - lo) * np.arange(n_bumps + 1) / n_bumps           # (n + 1,)
    heights = np.asarray(g((edges[:-1] + edges[1:]) / 2), dtype=np.float64)  # h_j = g(m_j), (n,)
    edges[0], edges[-1] = lo - (hi - lo), hi + (hi - lo)
    steps = np.stack([edges[:-1], edges[1:]], axis=1).reshape(-1)       # s_0, s_1, s_1, s_2, ... (2n,)
    weights = np.full(2 * n_bumps, float(w))
    outputs = np.stack([heights, -heights], axis=1).reshape(-1)         # +h_0, -h_0, +h_1, ... (2n,)
    return weights, -weights * steps, outputs


def bump_network(f: Function, n_bumps: int, w: float = 1000.0, bias: float = 0.0) -> Sequential:
    """A ``[1, 2 n_bumps, 1]`` sigmoid network, weights set (no training), whose output on
    ``[0, 1]`` approximates ``f`` (values in (0, 1)).

    The output neuron computes ``sigma(weighted output + bias)``, so the weighted output is built
    to approximate ``sigma^{-1} o f - bias`` (the book sets ``bias = 0``). Input ``(N, 1)``,
    output ``(N, 1)``, float64. The error is at most :func:`error_bound`.
    """
    weights, biases, outputs = bump_layer(lambda x: sigmoid_inverse(f(x)) - bias, n_bumps, w)
    hidden, out = Linear(1, 2 * n_bumps, dtype=np.float64), Linear(2 * n_bumps, 1, dtype=np.float64)
    hidden.weight.data[:, 0], hidden.bias.data[:] = weights, biases    # (2n, 1), (2n,)
    out.weight.data[0, :], out.bias.data[:] = outputs, bias            # (1, 2n), (1,)
    return Sequential(hidden, Sigmoid(), out, Sigmoid())
# --8<-- [end:bumps]


# --8<-- [start:bound]
def error_bound(n_bumps: int, w: float, slope: float, size: float, lo: float = 0.0, hi: float = 1.0,
                sigmoid_output: bool = True) -> float:
    """An upper bound on ``sup |output - target|`` over ``[lo, hi]`` for :func:`bump_layer`'s
    staircase (``sigmoid_output``: through the sigmoid output neuron of :func:`bump_network`).

    With ``g`` the function the weighted output follows (``sigma^{-1} o f - bias``), ``slope`` a
    Lipschitz constant of ``g``, ``size >= max |g|``, ``d = (hi - lo) / n_bumps`` and
    ``q = e^{-w d}``:  ``sup |G - g| <= slope d (1 + 2 sqrt(q) / (1 - q)) + 2 size e^{-w (hi - lo)}``.
    The first term is the staircase (the step nearest ``x`` leaves ``G`` between two neighbouring
    heights, each within ``slope d`` of ``g(x)``) plus the tails of the other steps, the second
    the two outer steps; the sigmoid is 1/4-Lipschitz, so the network's error is a quarter of it.
    """
    d = (hi - lo) / n_bumps
    q = np.exp(-w * d)
    staircase = slope * d * (1 + 2 * np.sqrt(q) / (1 - q)) + 2 * size * np.exp(-w * (hi - lo))
    return float(staircase / 4 if sigmoid_output else staircase)
# --8<-- [end:bound]


def sup_error(net: Sequential, f: Function, points: int = 20001) -> float:
    """``max |net(x) - f(x)|`` over ``points`` equally spaced ``x`` in ``[0, 1]``."""
    x = np.linspace(0.0, 1.0, points).reshape(-1, 1)                   # (points, 1)
    return float(np.max(np.abs(net(x) - f(x))))


# --8<-- [start:towers]
def tower_layers(x_steps: np.ndarray, y_steps: np.ndarray, w: float, h: float) -> list:
    """The two hidden layers that make a tower over every cell ``[x_i, x_{i+1}] x [y_j, y_{j+1}]``.

    Layer 1 (``2 (n + 1)`` neurons, n = len(steps) - 1): a step in ``x`` at each ``x_i`` (weights
    ``(w, 0)``, bias ``-w x_i``), then a step in ``y`` at each ``y_j``. Layer 2 (``n_x n_y``
    neurons, cell ``(i, j)`` at ``i n_y + j``): weights ``+h, -h`` on the x-steps ``i, i + 1`` and on the
    y-steps ``j, j + 1``, bias ``-3h/2``. Its weighted input is ``h/2`` inside the cell, ``-h/2``
    on the two strips through it and ``-3h/2`` elsewhere, so for large ``h`` the neuron outputs 1
    on the cell and 0 elsewhere: a tower. Neighbouring towers share their step neurons.
    """
    nx, ny = len(x_steps) - 1, len(y_steps) - 1
    steps = Linear(2, nx + ny + 2, dtype=np.float64)
    steps.weight.data[...] = 0.0
    steps.weight.data[:nx + 1, 0] = w                                  # x-steps  (nx + 1, 2)
    steps.weight.data[nx + 1:, 1] = w                                  # y-steps  (ny + 1, 2)
    steps.bias.data[:] = -w * np.concatenate([x_steps, y_steps])
    towers = Linear(nx + ny + 2, nx * ny, dtype=np.float64)
    towers.weight.data[...] = 0.0
    for i in range(nx):
        for j in range(ny):
            row = towers.weight.data[i * ny + j]                       # (nx + ny + 2,)
            row[[i, i + 1, nx + 1 + j, nx + 2 + j]] = h, -h, h, -h
    towers.bias.data[:] = -1.5 * h
    return [steps, Sigmoid(), towers, Sigmoid()]


def tower_network(f: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, w: float = 1000.0,
                  h: float = 100.0) -> Sequential:
    """A ``[2, 2 (n + 1), n^2, 1]`` sigmoid network, weights set, approximating ``f(x, y)`` (values
    in (0, 1)) on the unit square with ``n x n`` towers.

    The output neuron weighs tower ``(i, j)`` by ``sigma^{-1}(f)`` at the cell's centre, bias 0, so
    inside a cell the output is about ``f`` at its centre. As in one dimension, the outer steps sit
    one unit outside the square. Input ``(N, 2)`` rows ``(x, y)``, output ``(N, 1)``.
    """
    edges = np.arange(n + 1) / n
    centres = (edges[:-1] + edges[1:]) / 2
    edges[0], edges[-1] = -1.0, 2.0
    cx, cy = np.meshgrid(centres, centres, indexing="ij")               # (n, n): cell (i, j)
    out = Linear(n * n, 1, dtype=np.float64)
    out.weight.data[0, :] = sigmoid_inverse(f(cx, cy)).reshape(-1)      # row i n + j
    out.bias.data[:] = 0.0
    return Sequential(*tower_layers(edges, edges, w, h), out, Sigmoid())
# --8<-- [end:towers]


def tower_bound(n: int, w: float, h: float, slope: float, size: float, margin: float) -> float:
    """An upper bound on ``|output - f|`` of :func:`tower_network` at points at least ``margin``
    from every cell edge; ``slope`` bounds ``|grad sigma^{-1} o f|``, ``size`` bounds ``|sigma^{-1} o f|``.

    Each step is within ``e^{-w margin}`` of 0 or 1 there, so each tower's weighted input is within
    ``4 h e^{-w margin}`` of ``h/2``, ``-h/2`` or ``-3h/2`` and the tower within
    ``eps = e^{-h (1/2 - 4 e^{-w margin})}`` of 1 or 0; the ``n^2`` towers move the output neuron's
    input by at most ``n^2 size eps``, and the centre's value is within ``slope sqrt(2) / (2 n)``.
    """
    eps = np.exp(-h * (0.5 - 4 * np.exp(-w * margin)))
    return float((slope * np.sqrt(2) / (2 * n) + n * n * size * eps) / 4)


# --8<-- [start:train]
def train_network(f: Function, hidden: int, steps: int, lr: float = 0.05, points: int = 200,
                  seed: int = 0) -> tuple[Sequential, list[float]]:
    """The same architecture *trained*: ``[1, hidden, 1]``, sigmoid hidden and output neurons,
    PyTorch's default initialisation, Adam on the mean squared error against ``f`` at ``points``
    equally spaced ``x`` in ``[0, 1]``, full batch, ``steps`` steps. Returns the network and the
    loss before each step."""
    rng = np.random.default_rng(seed)
    X = np.linspace(0.0, 1.0, points).reshape(-1, 1)                   # (points, 1)
    Y = f(X)                                                           # (points, 1)
    net = Sequential(Linear(1, hidden, dtype=np.float64, rng=rng), Sigmoid(),
                     Linear(hidden, 1, dtype=np.float64, rng=rng), Sigmoid())
    optimizer, loss = Adam(net.parameters(), lr=lr), MSELoss()
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        history.append(loss(net(X), Y))
        net.backward(loss.backward(), needs_input_grad=False)
        optimizer.step()
    return net, history
# --8<-- [end:train]


def inverse_slope(points: int = 1_000_001) -> tuple[float, float]:
    """``(max |g'|, max |g|)`` of ``g = sigma^{-1} o goal`` on a grid of ``[0, 1]``, ``g' = f' / (f (1 - f))``.

    Grid maxima are at most the true suprema, so a bound computed from them is, if anything,
    too small: checking a measured error against it is strict."""
    x = np.linspace(0.0, 1.0, points)
    f = goal(x)
    return float(np.max(np.abs(goal_slope(x) / (f * (1 - f))))), float(np.max(np.abs(sigmoid_inverse(f))))


def square_inverse_slope(points: int = 1001) -> tuple[float, float]:
    """``(max |grad g|, max |g|)`` of ``g = sigma^{-1} o square_goal`` on a grid of the unit square."""
    x, y = np.meshgrid(np.linspace(0, 1, points), np.linspace(0, 1, points), indexing="ij")
    f = square_goal(x, y)
    fx, fy = square_goal_gradient(x, y)
    return float(np.max(np.hypot(fx, fy) / (f * (1 - f)))), float(np.max(np.abs(sigmoid_inverse(f))))


def edge_distance(P: np.ndarray, n: int) -> np.ndarray:
    """Distance of each row ``(x, y)`` of ``P`` ``(N, 2)`` to the nearest inner cell edge ``k / n``."""
    inner = np.arange(1, n) / n
    if not len(inner):
        return np.full(len(P), np.inf)
    return np.abs(P[:, :, None] - inner).min(axis=(1, 2))               # (N,)


# --8<-- [start:chapter]
BUMPS, QUICK_BUMPS = (5, 10, 20, 40, 80, 160), (5, 10, 20)
STEEPNESS = (10.0, 30.0, 100.0, 1000.0, 10000.0)
TOWERS, QUICK_TOWERS = (4, 8, 16), (4, 8)
TRAINED = dict(hidden=20, steps=4000, lr=0.05)


def chapter(quick: bool = False, out: Callable[[str], None] = print) -> dict:
    """``scratchnet book ch4``: the construction's error against the number of bumps and the
    steepness, the trained network's, and the towers'; returns what it printed, the trained network too."""
    slope, size = inverse_slope()
    out("the book's goal f(x) = 0.2 + 0.4 x^2 + 0.3 x sin 15x + 0.05 cos 50x on [0, 1]; hidden weights "
        f"w = 1000, output bias 0 (the book's); max |(sigma^-1 o f)'| = {slope:.2f}")
    out(f"{'bumps':>5}  {'hidden':>6}  {'sup |error|':>11}  {'bound':>7}")
    result: dict = {"bumps": {}, "steepness": {}, "towers": {}}
    for n in QUICK_BUMPS if quick else BUMPS:
        error, bound = sup_error(bump_network(goal, n), goal), error_bound(n, 1000.0, slope, size)
        result["bumps"][n] = (error, bound)
        out(f"{n:>5}  {2 * n:>6}  {error:>11.4f}  {bound:>7.4f}")
    out("20 bumps, steeper and steeper hidden neurons:")
    for w in STEEPNESS:
        error, bound = sup_error(bump_network(goal, 20, w), goal), error_bound(20, w, slope, size)
        result["steepness"][w] = (error, bound)
        out(f"  w = {w:>7g}  sup |error| {error:.4f}  bound {bound:.4f}")
    settings = dict(TRAINED, steps=500) if quick else TRAINED
    net, history = train_network(goal, **settings)
    result["trained"], result["trained_error"] = net, sup_error(net, goal)
    out(f"trained [1, {settings['hidden']}, 1] (Adam lr {settings['lr']}, {settings['steps']} full-batch "
        f"steps on 200 points, mean squared error {history[0]:.4f} -> {history[-1]:.5f}): sup |error| "
        f"{result['trained_error']:.4f}; the construction with as many hidden neurons "
        f"({settings['hidden'] // 2} bumps): {sup_error(bump_network(goal, settings['hidden'] // 2), goal):.4f}")
    slope2, size2 = square_inverse_slope()
    out("towers on the unit square, f(x, y) = 0.5 + 0.3 sin(2 pi x) cos(pi y); w = 1000, h = 100; "
        "error at points at least 0.1 / n from a cell edge, and anywhere")
    out(f"{'n':>3}  {'towers':>6}  {'away':>7}  {'bound':>7}  {'anywhere':>8}")
    grid = np.linspace(0.0, 1.0, 201)
    P = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)   # (201^2, 2)
    for n in QUICK_TOWERS if quick else TOWERS:
        error = np.abs(tower_network(square_goal, n)(P)[:, 0] - square_goal(P[:, 0], P[:, 1]))
        away = edge_distance(P, n) >= 0.1 / n
        row = (float(error[away].max()), tower_bound(n, 1000.0, 100.0, slope2, size2, 0.1 / n), float(error.max()))
        result["towers"][n] = row
        out(f"{n:>3}  {n * n:>6}  {row[0]:>7.4f}  {row[1]:>7.4f}  {row[2]:>8.4f}")
    out("book: with enough hidden neurons the error is as small as we like, except in the windows "
        "where a step is not yet a step")
    return result
# --8<-- [end:chapter]
