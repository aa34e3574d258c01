"""Chapter 4's problems: directional steps and circular towers, one hidden layer of ridges for a
function of two inputs (within its bound), ReLU networks as broken lines, linear networks as one
affine map."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.book import universality as u
from scratchnet.book.common import sigmoid
from scratchnet.book.exercises import ch4
from scratchnet.nn import Linear, Sequential


def test_directional_steps_and_the_circular_tower():
    weights, bias = ch4.directional_step((3.0, 4.0), 0.5, 1000.0)
    np.testing.assert_allclose(weights, [600.0, 800.0])
    p = np.array([[0.3, 0.3], [0.5, 0.5], [0.1, 0.7]])                   # u . p = 0.42, 0.7, 0.62
    np.testing.assert_allclose(sigmoid(p @ weights + bias), [0.0, 1.0, 1.0], atol=1e-30)
    k, r, w = 400, 0.1, 2000.0
    tower = ch4.circular_tower(k, r, w)
    angles = np.linspace(0, 2 * np.pi, 37)
    for d in (0.0, 0.04, 0.08):                                           # inside the disc: 1
        P = 0.5 + d * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        np.testing.assert_allclose(tower(P)[:, 0], 1.0, atol=1e-12)
    for d in (0.15, 0.25, 0.45):                                          # outside: (2/pi) arcsin(r/d)
        P = 0.5 + d * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        np.testing.assert_allclose(tower(P)[:, 0], 2 / np.pi * np.arcsin(r / d), atol=4 / k + 1e-6)


def test_one_hidden_layer_of_ridges_approximates_within_its_bound():
    g = np.linspace(0, 1, 81)
    P = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    goal = u.square_goal(P[:, 0], P[:, 1])
    errors = []
    for bumps in (10, 40):
        net, bound = ch4.ridge_network(u.square_goal, 2, bumps, 2000.0)
        assert [type(m).__name__ for m in net] == ["Linear", "Sigmoid", "Linear", "Sigmoid"]   # one hidden layer
        errors.append(float(np.max(np.abs(net(P)[:, 0] - goal))))
        assert errors[-1] <= bound
    assert errors[1] < errors[0] / 2 and errors[1] < 0.05


def test_a_relu_network_is_the_broken_line_within_its_bound():
    x = np.linspace(0, 1, 20001).reshape(-1, 1)
    curvature = np.max(np.abs(ch4.goal_curvature(np.linspace(0, 1, 100001))))
    assert curvature <= 202.3
    h = 1e-6
    np.testing.assert_allclose(ch4.goal_curvature(x), (u.goal_slope(x + h) - u.goal_slope(x - h)) / (2 * h),
                               atol=1e-5)
    for knots in (10, 40, 160):
        net = ch4.relu_interpolant(u.goal, knots)
        nodes = np.arange(knots + 1).reshape(-1, 1) / knots
        np.testing.assert_allclose(net(nodes), u.goal(nodes), atol=1e-12)    # through every (x_j, f(x_j))
        assert np.max(np.abs(net(x) - u.goal(x))) <= curvature / (8 * knots**2)


def test_a_linear_network_is_one_affine_map():
    rng = np.random.default_rng(0)
    layers = [Linear(3, 7, dtype=np.float64, rng=rng), Linear(7, 5, dtype=np.float64, rng=rng),
              Linear(5, 2, dtype=np.float64, rng=rng)]
    W, b = ch4.collapse(layers)
    X = rng.standard_normal((50, 3))
    np.testing.assert_allclose(Sequential(*layers)(X), X @ W.T + b, rtol=1e-12)
    # and no affine map comes within 1/8 of x^2 on [0, 1]: e(0) - 2 e(1/2) + e(1) = -1/2 for e = a x + b - x^2
    x = np.linspace(0, 1, 1001)
    for a, c in rng.uniform(-2, 2, (500, 2)).tolist() + [(1.0, -0.125)]:
        assert np.max(np.abs(a * x + c - x**2)) >= 0.125 - 1e-12
    assert np.max(np.abs(x - 0.125 - x**2)) == pytest.approx(0.125)      # the best one: x - 1/8


def test_the_chapter_4_runner_prints_the_tables_and_draws(tmp_path, capsys):
    from scratchnet.book.exercises.__main__ import main

    assert main(["ch4", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("problem 1:")]
    assert len(rows) == 2 and all(float(r.split("sup |error| ")[1].split(",")[0]) <= float(r.split("bound ")[1])
                                  for r in rows)
    assert out.count("problem 2: ReLU broken line") == 3
    data = (tmp_path / "ch4-problems.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000
