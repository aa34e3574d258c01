"""Chapter 4's problems, computed: one hidden layer is enough in two dimensions (problem 1),
rectified linear units are universal (problem 2), linear neurons are not (problem 3)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...nn import Linear, Module, ReLU, Sequential, Sigmoid
from ..universality import Function, bump_layer, error_bound, sigmoid_inverse


# --8<-- [start:directions]
def directional_step(direction: tuple[float, float], s: float, w: float) -> tuple[np.ndarray, float]:
    """(a) A step across the line ``u . (x, y) = s``, ``u`` the unit vector along ``direction``:
    one neuron with weights ``w u`` and bias ``-w s``, ``sigma(w (u . p - s))``."""
    u = np.asarray(direction, dtype=np.float64) / np.hypot(*direction)
    return w * u, -w * s


def circular_tower(k: int, r: float, w: float, centre: tuple[float, float] = (0.5, 0.5)) -> Sequential:
    """(b) ``k`` directional steps ``sigma(w (r - u_k . (p - c)))``, ``u_k`` at angles ``2 pi i / k``,
    averaged to ``(2/k) sum - 1``: about 1 inside the disc of radius ``r`` round ``c`` and about
    ``(2/pi) arcsin(r/d)`` at distance ``d > r`` (the fraction of directions still "on" is
    ``1/2 + arcsin(r/d)/pi``). One hidden layer, ``k`` neurons; input ``(N, 2)``, output ``(N, 1)``."""
    angles = 2 * np.pi * np.arange(k) / k
    u = np.stack([np.cos(angles), np.sin(angles)], axis=1)              # (k, 2)
    hidden, out = Linear(2, k, dtype=np.float64), Linear(k, 1, dtype=np.float64)
    hidden.weight.data[...] = -w * u                                    # sigma(w r - w u . p + w u . c)
    hidden.bias.data[:] = w * (r + u @ np.asarray(centre))
    out.weight.data[...], out.bias.data[:] = 2.0 / k, -1.0
    return Sequential(hidden, Sigmoid(), out)
# --8<-- [end:directions]


# --8<-- [start:ridges]
def ridge_fit(g: Callable[[np.ndarray, np.ndarray], np.ndarray], order: int, points: int = 101) \
        -> tuple[float, np.ndarray, np.ndarray]:
    """``g(x, y)`` on the unit square, least-squares fitted by a constant plus
    ``alpha cos(pi t) + beta sin(pi t)``, ``t = a x + b y``, for the integer directions ``(a, b)``,
    ``|a|, |b| <= order``, one of each pair ``(a, b), (-a, -b)``: a sum of *ridge functions*, each
    a function of one number ``t``. Returns ``(c0, directions (K, 2), coefficients (K, 2))``."""
    pairs = [(a, b) for a in range(order + 1) for b in range(-order, order + 1) if a > 0 or b > 0]
    directions = np.array(pairs, dtype=np.float64)                      # (K, 2)
    grid = np.linspace(0, 1, points)
    X, Y = (v.reshape(-1) for v in np.meshgrid(grid, grid, indexing="ij"))
    T = np.pi * (np.outer(X, directions[:, 0]) + np.outer(Y, directions[:, 1]))  # (points^2, K)
    A = np.concatenate([np.ones((len(X), 1)), np.cos(T), np.sin(T)], axis=1)
    coef = np.linalg.lstsq(A, g(X, Y), rcond=None)[0]
    K = len(pairs)
    return float(coef[0]), directions, np.stack([coef[1:K + 1], coef[K + 1:]], axis=1)


def ridge_network(f: Callable[[np.ndarray, np.ndarray], np.ndarray], order: int, bumps: int,
                  w: float) -> tuple[Sequential, float]:
    """(c) One hidden layer for a function of two inputs: fit ``sigma^{-1} o f`` by ridge functions
    (:func:`ridge_fit`), build each ``phi(t)`` over its range of ``t`` from ``bumps`` bumps of
    chapter 4's construction (the neurons step across lines ``a x + b y = s``), add them in a
    sigmoid output neuron whose bias is the fit's constant. Returns the network and its
    :func:`error_bound` (the fit's error on a fine grid plus each ridge's staircase bound, over 4)."""
    c0, directions, coefs = ridge_fit(lambda x, y: sigmoid_inverse(f(x, y)), order)
    rows, biases, outputs, staircase = [], [], [], 0.0
    for (a, b), (alpha, beta) in zip(directions, coefs, strict=True):
        lo, hi = min(a, 0) + min(b, 0), max(a, 0) + max(b, 0)           # t = a x + b y on the square
        phi = lambda t, alpha=alpha, beta=beta: alpha * np.cos(np.pi * t) + beta * np.sin(np.pi * t)
        weights, bias, out = bump_layer(phi, bumps, w, lo, hi)
        rows.append(np.outer(weights, (a, b)))                         # w t = w (a x + b y)
        biases.append(bias)
        outputs.append(out)
        amplitude = float(np.hypot(alpha, beta))
        staircase += error_bound(bumps, w, np.pi * amplitude, amplitude, lo, hi, sigmoid_output=False)
    hidden_w = np.concatenate(rows)                                     # (H, 2)
    hidden, out = Linear(2, len(hidden_w), dtype=np.float64), Linear(len(hidden_w), 1, dtype=np.float64)
    hidden.weight.data[...], hidden.bias.data[:] = hidden_w, np.concatenate(biases)
    out.weight.data[0, :], out.bias.data[:] = np.concatenate(outputs), c0
    grid = np.linspace(0, 1, 301)
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    fitted = c0 + sum(al * np.cos(np.pi * (a * X + b * Y)) + be * np.sin(np.pi * (a * X + b * Y))
                      for (a, b), (al, be) in zip(directions, coefs, strict=True))
    fit_error = float(np.max(np.abs(fitted - sigmoid_inverse(f(X, Y)))))
    return Sequential(hidden, Sigmoid(), out, Sigmoid()), (fit_error + staircase) / 4
# --8<-- [end:ridges]


# --8<-- [start:relu]
def relu_interpolant(f: Function, knots: int) -> Sequential:
    """Problem 2: ``[1, knots, 1]`` with ReLU hidden neurons and a linear output, weights set so it
    is the broken line through ``(x_j, f(x_j))``, ``x_j = j / knots``: hidden neuron ``j`` is
    ``ReLU(x - x_j)``, its output weight the change of slope at ``x_j``, the output bias ``f(0)``.
    Its error is at most ``max |f''| / (8 knots^2)``."""
    x = np.arange(knots + 1) / knots
    slopes = np.diff(f(x)) * knots                                      # (knots,)
    hidden, out = Linear(1, knots, dtype=np.float64), Linear(knots, 1, dtype=np.float64)
    hidden.weight.data[:, 0], hidden.bias.data[:] = 1.0, -x[:-1]
    out.weight.data[0, :] = np.diff(slopes, prepend=0.0)                # s_0, s_1 - s_0, ...
    out.bias.data[:] = f(np.zeros(1))
    return Sequential(hidden, ReLU(), out)
# --8<-- [end:relu]


def goal_curvature(x: np.ndarray) -> np.ndarray:
    """``f''`` of the book's goal: ``0.8 + 9 cos 15x - 67.5 x sin 15x - 125 cos 50x``; on [0, 1]
    ``|f''| <= 0.8 + 9 + 67.5 + 125 = 202.3``."""
    return 0.8 + 9 * np.cos(15 * x) - 67.5 * x * np.sin(15 * x) - 125 * np.cos(50 * x)


# --8<-- [start:linear]
def collapse(layers: list[Module]) -> tuple[np.ndarray, np.ndarray]:
    """Problem 3: a network of linear neurons, ``Linear`` layers one after another, is one affine
    map: ``W_2 (W_1 x + b_1) + b_2 = (W_2 W_1) x + (W_2 b_1 + b_2)``. Returns ``(W, b)``."""
    W, b = np.eye(layers[0].in_features), np.zeros(layers[0].in_features)
    for layer in layers:
        W, b = layer.weight.data @ W, layer.weight.data @ b + layer.bias.data
    return W, b
# --8<-- [end:linear]
