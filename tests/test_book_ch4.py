"""Chapter 4: the networks whose weights are set by the construction approximate their goal within
the bound, the bound and the error shrink with more bumps and steeper steps, towers stand where
they should, the trained network learns the goal, and ``scratchnet book ch4`` writes its pictures."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scratchnet import cli
from scratchnet.book import universality as u
from scratchnet.book.common import sigmoid
from scratchnet.book.experiments import run_chapter
from scratchnet.nn import Linear, Sigmoid


@pytest.fixture(scope="module")
def slope_size() -> tuple[float, float]:
    return u.inverse_slope()


def test_the_goals_derivatives_are_their_derivatives():
    """The bounds rest on goal_slope and square_goal_gradient: central differences agree."""
    x, h = np.linspace(0.01, 0.99, 97), 1e-6
    np.testing.assert_allclose(u.goal_slope(x), (u.goal(x + h) - u.goal(x - h)) / (2 * h), rtol=1e-6, atol=1e-8)
    X, Y = np.meshgrid(x, x, indexing="ij")
    fx, fy = u.square_goal_gradient(X, Y)
    np.testing.assert_allclose(fx, (u.square_goal(X + h, Y) - u.square_goal(X - h, Y)) / (2 * h), atol=1e-8)
    np.testing.assert_allclose(fy, (u.square_goal(X, Y + h) - u.square_goal(X, Y - h)) / (2 * h), atol=1e-8)


@pytest.mark.parametrize(("s", "w"), [(0.4, 100.0), (0.25, 1000.0), (0.8, 30.0)])
def test_a_steep_neuron_is_a_step_at_minus_b_over_w(s, w):
    weight, bias = u.step_neuron(s, w)
    assert -bias / weight == pytest.approx(s) and sigmoid(weight * s + bias) == pytest.approx(0.5)
    x = np.linspace(0, 1, 1001)
    gap = np.abs(sigmoid(weight * x + bias) - (x > s))
    assert np.all(gap <= np.exp(-w * np.abs(x - s)) + 1e-15)


def test_the_bump_network_is_pairs_of_steps_with_heights_sigma_inverse_of_f():
    n, w = 6, 500.0
    net = u.bump_network(u.goal, n, w)
    hidden, out = net[0], net[2]
    assert isinstance(hidden, Linear) and isinstance(net[1], Sigmoid) and isinstance(net[3], Sigmoid)
    assert hidden.weight.data.shape == (2 * n, 1) and out.weight.data.shape == (1, 2 * n)
    np.testing.assert_array_equal(hidden.weight.data[:, 0], w)
    steps = -hidden.bias.data / w                                       # s = -b / w
    edges = np.arange(n + 1) / n
    np.testing.assert_allclose(steps[1:-1], np.repeat(edges[1:-1], 2), atol=1e-15)
    assert steps[0] == -1.0 and steps[-1] == 2.0                        # the outer steps, outside [0, 1]
    heights = u.sigmoid_inverse(u.goal((edges[:-1] + edges[1:]) / 2))
    np.testing.assert_allclose(out.weight.data[0, 0::2], heights, rtol=1e-15)
    np.testing.assert_array_equal(out.weight.data[0, 1::2], -out.weight.data[0, 0::2])  # h, -h
    assert out.bias.data[0] == 0.0                                      # the book's output bias
    x = np.linspace(0, 1, 501)
    weighted = sum(u.bump(x, a, b, hj, w) for a, b, hj in zip(steps[0::2], steps[1::2], heights, strict=True))
    np.testing.assert_allclose(net(x.reshape(-1, 1))[:, 0], sigmoid(weighted), rtol=1e-12)


def test_an_output_bias_is_taken_off_the_heights():
    x = np.linspace(0, 1, 301).reshape(-1, 1)
    book, shifted = u.bump_network(u.goal, 12), u.bump_network(u.goal, 12, bias=-0.7)
    np.testing.assert_allclose(shifted[2].weight.data, book[2].weight.data + 0.7 * np.array([1, -1] * 12))
    np.testing.assert_allclose(shifted(x), book(x), atol=1e-12)


def test_more_bumps_the_error_stays_below_a_bound_that_shrinks(slope_size):
    slope, size = slope_size
    errors, bounds = [], []
    for n in (5, 10, 20, 40, 80):
        errors.append(u.sup_error(u.bump_network(u.goal, n), u.goal))
        bounds.append(u.error_bound(n, 1000.0, slope, size))
    assert all(e <= b for e, b in zip(errors, bounds, strict=True)), (errors, bounds)
    assert all(b2 < b1 / 1.9 for b1, b2 in zip(bounds, bounds[1:], strict=False))   # O(1/N)
    assert all(e2 < e1 for e1, e2 in zip(errors, errors[1:], strict=False)) and errors[-1] < 0.05


def test_steeper_steps_tighten_the_bound_and_reach_the_staircase(slope_size):
    slope, size = slope_size
    bounds = []
    for w in (10.0, 30.0, 100.0, 1000.0, 1e4):
        bounds.append(u.error_bound(20, w, slope, size))
        assert u.sup_error(u.bump_network(u.goal, 20, w), u.goal) <= bounds[-1]
    assert all(b2 < b1 for b1, b2 in zip(bounds, bounds[1:], strict=False))
    # as w grows the output becomes sigma(h_j) on piece j, away from the steps
    x = np.linspace(0, 1, 2001)
    piece = np.minimum((x * 20).astype(int), 19)
    away = np.abs(x * 20 - np.round(x * 20)) > 0.05
    heights = u.sigmoid_inverse(u.goal((np.arange(20) + 0.5) / 20))
    out = u.bump_network(u.goal, 20, 1e5)(x.reshape(-1, 1))[:, 0]
    np.testing.assert_allclose(out[away], sigmoid(heights[piece[away]]), atol=1e-12)


def test_a_tower_is_one_on_its_cell_and_zero_elsewhere():
    w, h, margin = 1000.0, 100.0, 0.01
    layers = u.tower_layers(np.array([0.3, 0.6]), np.array([0.4, 0.7]), w, h)
    g = np.linspace(0, 1, 201)
    P = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    steps = layers[1](layers[0](P))
    z = layers[2](steps)[:, 0]                                          # the tower's weighted input
    in_x, in_y = (P[:, 0] > 0.3) & (P[:, 0] < 0.6), (P[:, 1] > 0.4) & (P[:, 1] < 0.7)
    away = np.min(np.abs(P[:, :, None] - np.array([[0.3, 0.6], [0.4, 0.7]])), axis=(1, 2)) >= margin
    ideal = np.where(in_x & in_y, h / 2, np.where(in_x | in_y, -h / 2, -1.5 * h))
    assert np.all(np.abs(z - ideal)[away] <= 4 * h * np.exp(-w * margin))
    tower = layers[3](z.reshape(-1, 1))[:, 0]
    eps = np.exp(-h * (0.5 - 4 * np.exp(-w * margin)))
    assert np.all(np.abs(tower - (in_x & in_y))[away] <= eps) and eps < 1e-20


def test_many_towers_approximate_a_function_of_two_inputs():
    slope, size = u.square_inverse_slope()
    g = np.linspace(0, 1, 121)
    P = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    goal = u.square_goal(P[:, 0], P[:, 1])
    errors = []
    for n in (4, 8, 16):
        net = u.tower_network(u.square_goal, n)
        assert [m.weight.data.shape for m in net if isinstance(m, Linear)] == [(2 * n + 2, 2), (n * n, 2 * n + 2),
                                                                            (1, n * n)]
        away = u.edge_distance(P, n) >= 0.1 / n
        errors.append(np.abs(net(P)[:, 0] - goal)[away].max())
        assert errors[-1] <= u.tower_bound(n, 1000.0, 100.0, slope, size, 0.1 / n)
    assert errors[2] < errors[1] < errors[0]


def test_a_trained_network_learns_the_goal_better_than_the_construction_of_its_size():
    net, history = u.train_network(u.goal, **u.TRAINED)
    assert history[-1] < history[0] / 10
    error = u.sup_error(net, u.goal)
    assert error < 0.1
    assert error < u.sup_error(u.bump_network(u.goal, u.TRAINED["hidden"] // 2), u.goal)


def test_scratchnet_book_ch4_quick_prints_the_table_and_writes_the_pictures(tmp_path: Path, capsys):
    assert cli.main(["book", "ch4", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== ch4 (scratch, quick; seed 12345678)")
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("5 ", "10 ", "20 "))]
    assert [r[:2] for r in rows[:3]] == [["5", "10"], ["10", "20"], ["20", "40"]]
    assert all(float(r[2]) <= float(r[3]) for r in rows[:3])           # sup |error| <= bound
    for name in ("ch4-steps.png", "ch4-construction.png", "ch4-errors.png", "ch4-towers.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000, name


def test_ch4_runs_on_scratchnet_only():
    with pytest.raises(ValueError, match="ch4 builds its networks on scratchnet.nn only; got backend 'torch'"):
        run_chapter("ch4", backend="torch", lib=SimpleNamespace(network=None, network2=None, network3=None))
