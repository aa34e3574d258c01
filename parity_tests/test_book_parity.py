"""scratchnet.book vs torchnet.book: seeded alike, trained alike, the same numbers afterwards.

The two libraries share only the book's initial NumPy draws and the data formats: scratchnet
trains in its fused kernel and monitors with NumPy, torchnet trains with autograd and monitors,
shuffles, stops early and schedules eta in torch on its own. After training, every weight and
bias (float64, notes/architecture.md's gradient tolerance), the monitored training and evaluation costs,
the accuracy lists, the printed lines and the order the training list is left in must agree.

The data are hard on purpose (overlapping classes, noise, 3/4 of the pixels zero like MNIST's),
so the accuracies sit between saturation and chance and move from epoch to epoch: an accuracy
list that is the same for any network would compare nothing.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
from dataclasses import dataclass

import numpy as np
import pytest
from helpers import DEVICE, assert_close

from scratchnet.book import network as s_network
from scratchnet.book import network2 as s_network2
from scratchnet.data.datasets import cache_root
from torchnet.book import network as t_network
from torchnet.book import network2 as t_network2

N_TRAIN, N_EVAL, N_IN = 600, 300, 784


def hard(n: int, seed: int, overlap: float = 0.35, noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped rows ``(n, 784)`` float32 in [0, 1] and labels ``(n,)``: each sample is
    ``(1 - overlap)`` of its class's sparse prototype plus ``overlap`` of a random class's, plus
    uniform noise, with 3/4 of its pixels then set to 0."""
    rng = np.random.default_rng(seed)
    proto = np.random.default_rng(0).random((10, N_IN)) * (np.random.default_rng(1).random((10, N_IN)) < 0.3)
    y = rng.integers(0, 10, n)
    X = (1 - overlap) * proto[y] + overlap * proto[rng.integers(0, 10, n)] + noise * rng.random((n, N_IN))
    X[rng.random((n, N_IN)) < 0.75] = 0.0
    return np.clip(X, 0.0, 1.0).astype(np.float32), y


def book_data(n_train: int = N_TRAIN, n_eval: int = N_EVAL, seed: int = 1) -> tuple[list, list]:
    """The book's formats: training pairs with one-hot ``(10, 1)`` labels, evaluation pairs with
    int labels; ``x`` columns ``(784, 1)``."""
    X, y = hard(n_train + n_eval, seed)
    train = [(x.reshape(N_IN, 1), np.eye(10)[c].reshape(10, 1)) for x, c in zip(X[:n_train], y[:n_train], strict=True)]
    evaluation = [(x.reshape(N_IN, 1), int(c)) for x, c in zip(X[n_train:], y[n_train:], strict=True)]
    return train, evaluation


def real(n: int) -> tuple[list, list]:
    from scratchnet.book import mnist_loader

    training_data, _, test_data = mnist_loader.load_data_wrapper()
    return training_data[:n], test_data[:n]


def seeded(factory):
    """``factory()`` after the book's seeds (the initial weights come from ``np.random``)."""
    random.seed(12345678)
    np.random.seed(12345678)
    return factory()


def numpy_params(net) -> list[np.ndarray]:
    """Weights then biases, as float64 NumPy arrays in the book's shapes."""
    return [np.asarray(p.detach().cpu().numpy() if hasattr(p, "detach") else p, dtype=np.float64)
            for p in list(net.weights) + list(net.biases)]


@dataclass
class Run:
    """What one ``network2.SGD`` call returned and printed, and the network it left."""

    net: object
    evaluation_cost: list[float]
    evaluation_accuracy: list[int]
    training_cost: list[float]
    training_accuracy: list[int]
    printed: list[str]
    order: list[int]            # training_data afterwards, as positions in the list passed in
    params: list[np.ndarray]
    mini_batch_size: int


def run_network2(module, train: list, evaluation: list, large: bool = False, cost: str = "CrossEntropyCost",
                 activation: str = "sigmoid", sizes: tuple = (N_IN, 30, 10), epochs: int = 4, m: int = 10,
                 eta: float = 0.5, lmbda: float = 1.0, **options) -> Run:
    """A seeded ``SGD`` run with every quantity monitored; the shuffle is seeded apart (7)."""
    kwargs = {"device": DEVICE} if module is t_network2 else {}
    net = seeded(lambda: module.Network(list(sizes), cost=getattr(module, cost), activation=activation,
                                        **kwargs))
    if large:
        net.large_weight_initializer()
    random.seed(7)
    data = list(train)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        ec, ea, tc, ta = net.SGD(data, epochs, m, eta, lmbda=lmbda, evaluation_data=evaluation,
                                 monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                                 monitor_training_cost=True, monitor_training_accuracy=True, **options)
    position = {id(x): i for i, (x, _) in enumerate(train)}
    return Run(net, ec, ea, tc, ta, out.getvalue().splitlines(), [position[id(x)] for x, _ in data],
               numpy_params(net), m)


NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


def assert_same_lines(ours: list[str], theirs: list[str], k_terms: int) -> None:
    """The same printed lines; the costs' digits within the tolerance, everything else exact."""
    assert len(ours) == len(theirs), "printed lines:\n" + "\n".join(ours) + "\n--- torch:\n" + "\n".join(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if a.startswith("Cost on "):
            assert NUMBER.sub("#", a) == NUMBER.sub("#", b), f"printed line {i}: {a!r} vs {b!r}"
            assert_close(f"printed line {i} {a!r}", float(NUMBER.findall(a)[-1]), float(NUMBER.findall(b)[-1]),
                         np.float64, "grad", k_terms=k_terms)
        else:
            assert a == b, f"printed line {i}: scratchnet {a!r} vs torch {b!r}"


def assert_same_run(ours: Run, theirs: Run, train: list, evaluation: list, lmbda: float) -> None:
    """Everything the two runs left agrees: parameters, momentum buffers, costs, accuracies,
    printed lines, the training list's order.

    Tolerances: notes/architecture.md's float64 gradient tolerance (every value here comes out of optimizer
    updates), ``K`` = the mini-batch size, the samples summed into one gradient of one step.
    """
    k = ours.mini_batch_size
    for i, (a, b) in enumerate(zip(ours.params, theirs.params, strict=True)):
        layers = len(ours.params) // 2
        what = f"weights[{i}]" if i < layers else f"biases[{i - layers}]"
        assert_close(f"{what} after training", a, b, np.float64, "grad", k_terms=k)
    velocities = getattr(ours.net, "_velocities", None), getattr(theirs.net, "_velocities", None)
    assert (velocities[0] is None) == (velocities[1] is None), f"momentum buffers: {velocities}"
    if velocities[0] is not None:  # scratchnet: (weights', flat biases'); torchnet: one list of tensors
        for i, (a, b) in enumerate(zip([*velocities[0][0], *velocities[0][1]], velocities[1], strict=True)):
            assert_close(f"velocity {i} after training", a, b.reshape(a.shape), np.float64, "grad", k_terms=k)
    assert ours.evaluation_accuracy == theirs.evaluation_accuracy, "evaluation accuracies"
    assert ours.training_accuracy == theirs.training_accuracy, "training accuracies"
    assert_close("training costs", ours.training_cost, theirs.training_cost, np.float64, "grad", k_terms=k)
    assert_close("evaluation costs", ours.evaluation_cost, theirs.evaluation_cost, np.float64, "grad", k_terms=k)
    assert_same_lines(ours.printed, theirs.printed, k)
    assert ours.order == theirs.order, "training_data's order after SGD (the book's shuffle)"
    # the public monitoring methods, on both kinds of labels
    o, t = ours.net, theirs.net
    assert o.accuracy(evaluation) == t.accuracy(evaluation)
    assert o.accuracy(train, convert=True) == t.accuracy(train, convert=True)
    assert_close("total_cost(train)", o.total_cost(train, lmbda), t.total_cost(train, lmbda), np.float64, "grad",
                 k_terms=k)
    assert_close("total_cost(evaluation, convert=True)", o.total_cost(evaluation, lmbda, convert=True),
                 t.total_cost(evaluation, lmbda, convert=True), np.float64, "grad", k_terms=k)
    x = evaluation[0][0]
    assert_close("feedforward", o.feedforward(x), t.feedforward(x), np.float64, "grad", k_terms=k)


def assert_accuracies_move(run: Run, n: int) -> None:
    """The comparison means something: neither saturated nor at chance, and changing."""
    acc = run.evaluation_accuracy
    assert len(set(acc)) > 1, f"evaluation accuracies never move: {acc}"
    assert 0.2 * n < max(acc) < 0.95 * n, f"evaluation accuracies {acc} of {n}: saturated or at chance"


OPTIONS = {
    "default-init": dict(),
    "large-init": dict(large=True, eta=1.0),
    "no-regularization": dict(lmbda=0.0),
    "L2": dict(lmbda=5.0),
    "L1": dict(regularization="L1", lmbda=0.5),
    "momentum": dict(mu=0.5, eta=0.1),
    "momentum-L1": dict(mu=0.5, eta=0.1, regularization="L1", lmbda=0.5),
    "quadratic": dict(cost="QuadraticCost", eta=3.0, epochs=6),
    "softmax-sigmoid": dict(cost="LogLikelihoodCost", eta=0.1),
    "softmax-tanh": dict(cost="LogLikelihoodCost", activation="tanh", eta=0.1),
    "softmax-relu": dict(cost="LogLikelihoodCost", activation="relu", eta=0.05),
    "two-hidden-tanh-momentum": dict(cost="LogLikelihoodCost", activation="tanh", sizes=(N_IN, 20, 12, 10),
                                     eta=0.05, mu=0.3, m=7),
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_network2_same_training(options: dict) -> None:
    train, evaluation = book_data()
    ours = run_network2(s_network2, train, evaluation, **options)
    theirs = run_network2(t_network2, train, evaluation, **options)
    assert_accuracies_move(ours, len(evaluation))
    assert_same_run(ours, theirs, train, evaluation, options.get("lmbda", 1.0))


def book_rules(accuracies: list[int], eta: float, early_stopping_n: int, lr_schedule_n: int) -> list[str]:
    """The lines chapter 3's rules print after each epoch's accuracy, derived here from the
    accuracies alone: early stopping after ``early_stopping_n`` epochs without a better accuracy
    (a tie is no improvement); eta halved after ``lr_schedule_n`` such epochs (counted again after
    each halving), and the run stopped once eta is down to eta0/128."""
    lines, best, since_best, since_change, eta0 = [], -1, 0, 0, eta
    for a in accuracies:
        if a > best:
            best, since_best, since_change = a, 0, 0
        else:
            since_best, since_change = since_best + 1, since_change + 1
        if early_stopping_n and since_best == early_stopping_n:
            return lines + [f"Early stopping: no improvement in {early_stopping_n} epochs"]
        if lr_schedule_n and since_change == lr_schedule_n:
            eta, since_change = eta / 2, 0
            lines.append(f"Learning rate halved to {eta}")
            if eta <= eta0 / 128:
                return lines + ["Learning rate is down to 1/128 of its first value: stopping"]
    return lines


RULES = {
    # early stopping fires before the epochs run out
    "early-stopping": dict(early_stopping_n=2, epochs=30, eta=2.0, stop="Early stopping"),
    # the schedule halves eta seven times and stops, each halving changing the updates after it
    "schedule": dict(lr_schedule_n=1, epochs=40, eta=2.0, stop="down to 1/128"),
    "schedule-and-early-stopping": dict(lr_schedule_n=2, early_stopping_n=5, epochs=40, eta=2.0,
                                        stop="Early stopping"),
}


@pytest.mark.parametrize("rules", RULES.values(), ids=RULES.keys())
def test_network2_same_early_stopping_and_schedule(rules: dict) -> None:
    rules = dict(rules)
    stop = rules.pop("stop")
    train, evaluation = book_data(200, 100, seed=5)
    ours = run_network2(s_network2, train, evaluation, **rules)
    theirs = run_network2(t_network2, train, evaluation, **rules)
    acc = ours.evaluation_accuracy
    expected = book_rules(acc, rules["eta"], rules.get("early_stopping_n", 0), rules.get("lr_schedule_n", 0))
    assert expected and stop in expected[-1], f"the rules never fired on accuracies {acc}"
    assert len(acc) < rules["epochs"], "the run should have stopped before its last epoch"
    for run in (ours, theirs):
        printed = [line for line in run.printed if line.startswith(("Early", "Learning"))]
        assert printed == expected, f"{type(run.net).__module__}: printed {printed} for accuracies {acc}"
    if rules.get("lr_schedule_n"):
        assert sum(line.startswith("Learning rate halved") for line in expected) >= 2
    assert_same_run(ours, theirs, train, evaluation, 1.0)


ETA = 0.8  # halving a float is exact, so the expected etas ETA / 2**k compare with ==


def scripted_run(module, accuracies: list[int], epochs: int, **rules) -> tuple[list[float], Run]:
    """``SGD`` training for real, but with the evaluation accuracy after epoch j forced to
    ``accuracies[j]`` (scratchnet through ``_output``, torchnet through ``_correct``: the hooks
    their ``SGD`` computes it with); returns the eta each epoch was trained with (through
    ``_epoch``) and the run."""
    train, evaluation = book_data(120, 100, seed=6)
    labels = np.array([y for _, y in evaluation])
    kwargs = {"device": DEVICE} if module is t_network2 else {}
    net = seeded(lambda: module.Network([N_IN, 10, 10], **kwargs))
    script, etas = iter(accuracies), []
    real_epoch = net._epoch

    def epoch(X, Y, order, mini_batch_size, eta, *rest):
        etas.append(eta)
        return real_epoch(X, Y, order, mini_batch_size, eta, *rest)

    if module is t_network2:
        def correct(X, y) -> int:
            assert len(X) == len(evaluation), "only the evaluation accuracy is monitored"
            return next(script)

        net._correct = correct
    else:
        real_output = net._output

        def output(X: np.ndarray) -> np.ndarray:
            if len(X) != len(evaluation):
                return real_output(X)
            k = next(script)                                   # the first k right, the rest wrong
            return np.eye(10)[np.where(np.arange(len(X)) < k, labels, (labels + 1) % 10)]

        net._output = output
    net._epoch = epoch
    random.seed(7)
    data = list(train)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        _, acc, _, _ = net.SGD(data, epochs, 10, ETA, lmbda=1.0, evaluation_data=evaluation,
                               monitor_evaluation_accuracy=True, **rules)
    position = {id(x): i for i, (x, _) in enumerate(train)}
    return etas, Run(net, [], acc, [], [], out.getvalue().splitlines(), [position[id(x)] for x, _ in data],
                     numpy_params(net), 10)


SCRIPTS = {
    # a tie with the best is no improvement: stop after epoch 1
    "early-stopping-tie": (dict(early_stopping_n=1), [5, 5, 9, 9, 9], 30, [ETA] * 2),
    # best 10, 20 best, 20 (1), 25 best, 24 (1), 25 (2), 23 (3): stop after epoch 6
    "early-stopping-3": (dict(early_stopping_n=3), [10, 20, 20, 25, 24, 25, 23, 30, 31], 30, [ETA] * 7),
    # never better after epoch 0: halve after epochs 1..7, the 7th reaches ETA/128: stop
    "schedule-1": (dict(lr_schedule_n=1), [50] + [40] * 40, 40, [ETA, ETA] + [ETA / 2 ** k for k in range(1, 7)]),
    # ties only: each is no improvement
    "schedule-ties": (dict(lr_schedule_n=1), [50] * 41, 40, [ETA, ETA] + [ETA / 2 ** k for k in range(1, 7)]),
    # 50 best | 40 | 60 best | 40 | 40: halve | 70 best | 40 | 40: halve | then every 2 epochs
    "schedule-2-counts-again": (dict(lr_schedule_n=2), [50, 40, 60, 40, 40, 70, 40, 40] + [40] * 30, 40,
                                [ETA] * 5 + [ETA / 2] * 3 + [ETA / 2 ** k for k in range(2, 7) for _ in range(2)]),
    # halve after epochs 2 and 4; epoch 5 is the 5th without improvement: stop
    "both": (dict(early_stopping_n=5, lr_schedule_n=2), [50] + [40] * 20, 20, [ETA] * 3 + [ETA / 2] * 2 + [ETA / 4]),
    # the epochs run out before the schedule ends: halved once, no stop line
    "epochs-run-out": (dict(lr_schedule_n=2), [50] * 6, 5, [ETA] * 3 + [ETA / 2] * 2),
}


@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_network2_rules_on_scripted_accuracies(script: tuple) -> None:
    """Both libraries' early stopping and schedule against scripted accuracies: the exact epochs
    trained, the eta of each, the lines printed, and the same network at the end."""
    rules, accuracies, epochs, etas = script
    expected = book_rules(accuracies[:len(etas)], ETA, rules.get("early_stopping_n", 0), rules.get("lr_schedule_n", 0))
    runs = []
    for module in (s_network2, t_network2):
        trained, run = scripted_run(module, accuracies, epochs, **rules)
        assert trained == etas, f"{module.__name__}: trained at etas {trained}"
        assert run.evaluation_accuracy == accuracies[:len(etas)], module.__name__
        printed = [line for line in run.printed if line.startswith(("Early", "Learning"))]
        assert printed == expected, f"{module.__name__}: printed {printed}"
        runs.append(run)
    assert_same_lines(runs[0].printed, runs[1].printed, 10)
    for l, (a, b) in enumerate(zip(runs[0].params, runs[1].params, strict=True)):
        assert_close(f"parameter {l} after the scripted run", a, b, np.float64, "grad", k_terms=10)
    assert runs[0].order == runs[1].order


@pytest.mark.needs_data
@pytest.mark.skipif(not (cache_root() / "mnist" / "mnist.npz").is_file(),
                    reason="MNIST not in the cache: run `scratchnet data fetch mnist`")
def test_network2_same_training_real_mnist() -> None:
    train, test = real(1000)
    ours = run_network2(s_network2, train, test, large=True, epochs=3, lmbda=5.0)
    theirs = run_network2(t_network2, train, test, large=True, epochs=3, lmbda=5.0)
    assert_same_run(ours, theirs, train, test, 5.0)


def test_network_chapter1_same_training() -> None:
    train, test = book_data(400, 200, seed=2)
    ours = seeded(lambda: s_network.Network([N_IN, 20, 10]))
    theirs = seeded(lambda: t_network.Network([N_IN, 20, 10], device=DEVICE))
    printed, orders = [], []
    for net in (ours, theirs):
        random.seed(3)
        data = list(train)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            net.SGD(data, 3, 10, 3.0, test_data=test)
        printed.append(out.getvalue().splitlines())
        orders.append([id(x) for x, _ in data])
    k = 10  # the mini-batch: the samples summed into one gradient of one step
    for l, (a, b) in enumerate(zip(numpy_params(ours), numpy_params(theirs), strict=True)):
        assert_close(f"parameter {l} after training", a, b, np.float64, "grad", k_terms=k)
    assert printed[0] == printed[1] and len(printed[0]) == 3, f"{printed[0]} vs {printed[1]}"
    counts = [int(line.split()[2]) for line in printed[0]]
    assert len(set(counts)) > 1 and max(counts) < 0.95 * len(test), f"accuracies {counts} do not move"
    assert orders[0] == orders[1], "training_data's order after SGD"
    assert ours.evaluate(test) == theirs.evaluate(test)
    assert_close("feedforward", ours.feedforward(test[0][0]), theirs.feedforward(test[0][0]), np.float64, "grad",
                 k_terms=k)


@pytest.mark.parametrize("cost,activation", [("QuadraticCost", "sigmoid"), ("CrossEntropyCost", "sigmoid"),
                                             ("LogLikelihoodCost", "tanh"), ("LogLikelihoodCost", "relu")])
def test_network2_backprop_matches_autograd(cost: str, activation: str) -> None:
    """The book's per-sample ``backprop`` (BP1-BP4 by hand) against torch's autograd, float64;
    ``K`` = 784, the longest sum behind a value (the first layer's ``z``)."""
    train, _ = book_data(4, 1, seed=4)
    ours = seeded(lambda: s_network2.Network([N_IN, 9, 8, 10], cost=getattr(s_network2, cost),
                                             activation=activation))
    theirs = seeded(lambda: t_network2.Network([N_IN, 9, 8, 10], cost=getattr(t_network2, cost),
                                               activation=activation, device=DEVICE))
    for x, y in train:
        x = x.astype(np.float64)
        (b_ours, w_ours), (b_theirs, w_theirs) = ours.backprop(x, y), theirs.backprop(x, y)
        for l in range(3):
            assert_close(f"nabla_b[{l}] ({cost}, {activation})", b_ours[l], b_theirs[l], np.float64, "grad",
                         k_terms=N_IN)
            assert_close(f"nabla_w[{l}] ({cost}, {activation})", w_ours[l], w_theirs[l], np.float64, "grad",
                         k_terms=N_IN)
