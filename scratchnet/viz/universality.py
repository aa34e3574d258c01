"""Chapter 4's pictures: steps, bumps, the constructed and the trained network against the goal, towers.

``scratchnet book ch4 --out DIR`` writes them into ``DIR`` as ``ch4-*.png`` (the notes' names:
``--out notes/figures`` redraws the notes' copies).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..book import universality as u
from ..book.common import sigmoid
from .frames import COLOURS, pyplot


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    pyplot().close(fig)
    return path


def steps(path: Path) -> Path:
    """A hidden neuron ``sigma(w (x - 0.4))`` growing steeper with ``w``; a bump from a pair."""
    plt = pyplot()
    x = np.linspace(0, 1, 1001)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for colour, w in zip(COLOURS, (5, 20, 100, 1000), strict=False):
        weight, bias = u.step_neuron(0.4, w)
        left.plot(x, sigmoid(weight * x + bias), color=colour, label=f"w = {w}, b = {bias:g}")
    left.axvline(0.4, color="grey", lw=0.6, ls=":")
    left.set(title="one hidden neuron: a step at s = -b/w = 0.4", xlabel="x", ylabel="output")
    left.legend(fontsize=7)
    for colour, (s, h) in zip(COLOURS[:2], ((0.4, 0.8), (0.6, -0.8)), strict=True):
        weight, bias = u.step_neuron(s, 1000)
        right.plot(x, h * sigmoid(weight * x + bias), color=colour, ls="--", lw=1,
                   label=f"step at {s}, output weight {h:+g}")
    right.plot(x, u.bump(x, 0.4, 0.6, 0.8, 1000), color="black", label="their sum: a bump of height 0.8")
    right.set(title="a pair of hidden neurons: a bump", xlabel="x", ylabel="weighted output")
    right.legend(fontsize=7)
    return _save(fig, path)


def construction(result: dict, path: Path) -> Path:
    """Left: ``sigma^{-1} o f`` and the weighted output of 5 bumps (the book's picture); right: the
    network's output for 5 and 20 bumps and the trained network's, against ``f``."""
    plt = pyplot()
    x = np.linspace(0, 1, 2001).reshape(-1, 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(x, u.sigmoid_inverse(u.goal(x)), color="black", label="goal: sigma^-1 o f")
    five = u.bump_network(u.goal, 5)
    left.plot(x, five[2](five[1](five[0](x))), color=COLOURS[0], label="weighted output, 5 bumps")
    left.set(title="what the hidden layer must compute", xlabel="x")
    left.legend(fontsize=7)
    right.plot(x, u.goal(x), color="black", lw=2, label="goal f")
    for colour, n in zip(COLOURS[:2], (5, 20), strict=True):
        right.plot(x, u.bump_network(u.goal, n)(x), color=colour, lw=1, label=f"set: {n} bumps ({2 * n} hidden)")
    trained = result["trained"]
    right.plot(x, trained(x), color=COLOURS[3], lw=1,
               label=f"trained: {trained[0].out_features} hidden")
    right.set(title="the network's output", xlabel="x")
    right.legend(fontsize=7)
    return _save(fig, path)


def errors(result: dict, path: Path) -> Path:
    """``sup |error|`` against the number of bumps, with the bound, and the trained network's."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    n = sorted(result["bumps"])
    ax.loglog([2 * k for k in n], [result["bumps"][k][0] for k in n], "o-", color=COLOURS[0], label="measured")
    ax.loglog([2 * k for k in n], [result["bumps"][k][1] for k in n], "--", color=COLOURS[1], label="bound")
    hidden = result["trained"][0].out_features
    ax.loglog([hidden], [result["trained_error"]], "s", color=COLOURS[3], label="trained")
    ax.set(xlabel="hidden neurons (2 per bump)", ylabel="sup |network - f|", title="w = 1000")
    ax.legend(fontsize=7)
    return _save(fig, path)


def towers(path: Path, n: int = 8) -> Path:
    """A single tower (the book's ``h = 10`` and a steep ``h = 100``), and ``n x n`` towers against
    the goal of two inputs."""
    plt = pyplot()
    g = np.linspace(0, 1, 121)
    X, Y = np.meshgrid(g, g, indexing="ij")
    P = np.stack([X, Y], axis=-1).reshape(-1, 2)                        # (121^2, 2)
    fig = plt.figure(figsize=(12, 3.3))
    for k, h in enumerate((10.0, 100.0)):
        tower = u.tower_layers(np.array([0.3, 0.6]), np.array([0.4, 0.7]), 1000.0, h)
        Z = P
        for module in tower:
            Z = module(Z)
        ax = fig.add_subplot(1, 4, k + 1, projection="3d")
        ax.plot_surface(X, Y, Z.reshape(X.shape), cmap="viridis", linewidth=0, rstride=2, cstride=2)
        ax.set(title=f"one tower, h = {h:g}, bias -3h/2", xlabel="x", ylabel="y")
    for k, (Z, title) in enumerate(((u.square_goal(X, Y), "goal f(x, y)"),
                                     (u.tower_network(u.square_goal, n)(P).reshape(X.shape),
                                      f"{n} x {n} towers"))):
        ax = fig.add_subplot(1, 4, k + 3, projection="3d")
        ax.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, rstride=2, cstride=2, vmin=0.2, vmax=0.8)
        ax.set(title=title, xlabel="x", ylabel="y", zlim=(0.1, 0.9))
    return _save(fig, path)


def problems(path: Path) -> Path:
    """Chapter 4's problems: a circular tower from 64 directional steps, one hidden layer of ridges
    against the goal of two inputs, and a ReLU broken line against the book's goal."""
    from ..book.exercises import ch4

    plt = pyplot()
    g = np.linspace(0, 1, 161)
    X, Y = np.meshgrid(g, g, indexing="ij")
    P = np.stack([X, Y], axis=-1).reshape(-1, 2)                        # (161^2, 2)
    fig = plt.figure(figsize=(12, 3.4))
    ax = fig.add_subplot(1, 4, 1)
    image = ax.imshow(ch4.circular_tower(64, 0.15, 500.0)(P).reshape(X.shape).T, origin="lower",
                      extent=(0, 1, 0, 1), cmap="viridis")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set(title="64 directional steps: a circular tower", xlabel="x", ylabel="y")
    net, _ = ch4.ridge_network(u.square_goal, 2, 40, 2000.0)
    for k, (Z, title) in enumerate(((u.square_goal(X, Y), "goal f(x, y)"),
                                     (net(P).reshape(X.shape), f"one hidden layer, {net[0].out_features} neurons"))):
        ax = fig.add_subplot(1, 4, k + 2, projection="3d")
        ax.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, rstride=3, cstride=3, vmin=0.2, vmax=0.8)
        ax.set(title=title, xlabel="x", ylabel="y", zlim=(0.1, 0.9))
    ax = fig.add_subplot(1, 4, 4)
    x = np.linspace(0, 1, 1001).reshape(-1, 1)
    ax.plot(x, u.goal(x), color="black", lw=2, label="goal f")
    for colour, knots in zip(COLOURS[:2], (10, 40), strict=True):
        ax.plot(x, ch4.relu_interpolant(u.goal, knots)(x), color=colour, lw=1, label=f"{knots} ReLU neurons")
    ax.set(title="ReLU: a broken line", xlabel="x")
    ax.legend(fontsize=7)
    return _save(fig, path)


def draw_chapter(result: dict, out_dir: Path) -> list[Path]:
    """Every chapter 4 picture into ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    return [steps(out_dir / "ch4-steps.png"), construction(result, out_dir / "ch4-construction.png"),
            errors(result, out_dir / "ch4-errors.png"), towers(out_dir / "ch4-towers.png")]
