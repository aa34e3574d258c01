"""``python -m scratchnet.book.exercises chN [--quick] [--out DIR]``: the experiments of chapter N's
computational exercises, on MNIST from the cache (chapter 4: none needed), printed as the notes
quote them. ``--quick`` runs each on a small subset for a few epochs (not comparable); ``--out``
(chapter 4) is where ``ch4-problems.png`` goes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from .. import mnist_loader, network, network2
from ..experiments import SEED, _seed
from . import ch1, ch2, ch3, ch4, ch5, ch6


def _mnist(quick: bool) -> tuple[list, list, list]:
    training, validation, test = (list(d) for d in mnist_loader.load_data_wrapper())
    return (training[:1000], validation[:1000], test[:1000]) if quick else (training, validation, test)


def run_ch1(quick: bool, out_dir: Path | None) -> None:
    training, _, test = _mnist(quick)
    epochs = 2 if quick else 30
    for eta in (3.0,) if quick else (0.3, 1.0, 3.0, 10.0):
        correct = ch1.no_hidden_layer(training, test, epochs, eta)
        best = int(np.argmax(correct))
        print(f"exercise 8: Network([784, 10]), eta {eta}: test accuracy after epoch 1 {correct[0] / len(test):.2%}, "
              f"best {correct[best] / len(test):.2%} (epoch {best + 1}), last {correct[-1] / len(test):.2%}")
    for eta in (0.5,) if quick else (0.1, 0.5, 2.0):
        correct = ch1.no_hidden_layer(training, test, epochs, eta, improved=True)
        best = int(np.argmax(correct))
        print(f"exercise 8: network2.Network([784, 10]) (cross-entropy, N(0, 1/784)), eta {eta}: after epoch 1 "
              f"{correct[0] / len(test):.2%}, best {correct[best] / len(test):.2%} (epoch {best + 1}), "
              f"last {correct[-1] / len(test):.2%}")
    for m, (correct, seconds) in ch1.online_against_mini_batches(training, test).items():
        print(f"exercise 6: [784, 30, 10], mini-batch {m:>2}: one epoch in {seconds:.1f} s, "
              f"test accuracy {correct[0] / len(test):.2%}")


def run_ch2(quick: bool, out_dir: Path | None) -> None:
    training = _mnist(quick)[0][:1000 if quick else 10000]
    _seed()
    net = network.Network([784, 30, 10])
    result = ch2.epoch_timings(net, training)
    for name, (seconds, params) in result.items():
        gap = max(float(np.max(np.abs(a - b))) for a, b in zip(params, result["per-sample"][1], strict=True))
        print(f"problem 2: one epoch of {len(training)} images, mini-batch 10, {name:>11}: {seconds:7.3f} s "
              f"(largest difference from the per-sample weights {gap:.1e})")


def run_ch3(quick: bool, out_dir: Path | None) -> None:
    print(f"exercise 8: std of z over 20000 sampled neurons {ch3.weighted_input_std():.4f}; sqrt(3/2) = "
          f"{np.sqrt(1.5):.4f}")
    training, validation, _ = _mnist(quick)
    epochs = 2 if quick else 30
    rms = ch3.weight_decay_epochs(training, epochs)
    m, decay = 10, np.exp(-0.5 * 5.0 / 10)
    print(f"problem 9: RMS of the hidden weights, N(0, 1) start, eta 0.5, lmbda 5, m {m}, after epochs 0-10: "
          + ", ".join(f"{r:.4f}" for r in rms[:11]) + "; after 15, 20, 25, 30: "
          + ", ".join(f"{r:.4f}" for r in rms[15::5]) + f"; exp(-eta lmbda / m) = {decay:.4f}, "
          f"1/sqrt(n_in) = {1 / np.sqrt(784):.4f}; mean sum_j x_j^2 of the training images "
          f"{np.mean([float(np.sum(x**2)) for x, _ in training]):.1f}")
    lmbdas = (0.0, 5.0) if quick else (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
    for lmbda, acc in ch3.l1_sweep(training, validation, lmbdas, 2 if quick else 30).items():
        print(f"problem 10: [784, 30, 10], L1 lmbda {lmbda:>4}: best validation accuracy "
              f"{max(acc) / len(validation):.2%} (epoch {int(np.argmax(acc)) + 1}), "
              f"last {acc[-1] / len(validation):.2%}")
    settings = [("[784, 30, 10], eta 0.5, lmbda 5", [784, 30, 10], 0.5, 5.0),
                ("[784, 100, 10], eta 0.1, lmbda 5", [784, 100, 10], 0.1, 5.0),
                ("[784, 30, 10], eta 0.5, lmbda 0", [784, 30, 10], 0.5, 0.0)]
    rules = [("no-improvement-in-10 (book)", ch3.no_improvement_in(10)),
             ("gain below 10 images in 10 (ours)", ch3.gain_below(10, 10)),
             ("gain below 10 images in 5 (ours)", ch3.gain_below(10, 5))]
    for name, sizes, eta, lmbda in settings:
        acc = ch3.train_until(ch3.seeded_network(sizes), list(training), validation, lambda acc: False,
                              3 if quick else 60, 10, eta, lmbda)
        print(f"problem 13: {name}, {len(acc)} epochs recorded, best {max(acc) / len(validation):.2%}")
        for label, rule in rules:
            k = ch3.stopping_epoch(acc, rule)
            print(f"    {label:<34} stops after epoch {k:>2}: best so far {max(acc[:k]) / len(validation):.2%}")


def run_ch4(quick: bool, out_dir: Path | None) -> None:
    from ..universality import goal, square_goal
    g = np.linspace(0, 1, 201)
    P = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    for order, bumps in ((2, 10), (2, 40)) if quick else ((1, 40), (2, 10), (2, 40), (2, 160), (3, 160)):
        net, bound = ch4.ridge_network(square_goal, order, bumps, 2000.0)
        error = float(np.max(np.abs(net(P)[:, 0] - square_goal(P[:, 0], P[:, 1]))))
        print(f"problem 1: ridges up to order {order}, {bumps} bumps each: {net[0].out_features} hidden neurons, "
              f"sup |error| {error:.4f}, bound {bound:.4f}")
    x = np.linspace(0, 1, 100001).reshape(-1, 1)
    for knots in (10, 40, 160):
        error = float(np.max(np.abs(ch4.relu_interpolant(goal, knots)(x) - goal(x))))
        print(f"problem 2: ReLU broken line with {knots} hidden neurons: sup |error| {error:.2e}, "
              f"bound 202.3 / (8 n^2) = {202.3 / (8 * knots**2):.2e}")
    if out_dir is not None:
        from ...viz.universality import problems
        print(f"wrote {problems(Path(out_dir) / 'ch4-problems.png')}")


def run_ch5(quick: bool, out_dir: Path | None) -> None:
    w, width = ch5.widest_window()
    print(f"problem 1: the window is widest at |w| = {w:.3f}, width {width:.4f} (book: about 6.9 and 0.45)")
    for w1 in (1.0, 0.3, 0.1):
        w1, b, w2, c = ch5.identity_neuron(w1)
        x = np.linspace(0, 1, 10001)
        error = np.max(np.abs(w2 / (1 + np.exp(-(w1 * x + b))) - c - x))
        print(f"problem 2: w1 = {w1}: b = {b}, w2 = {w2:.1f}, constant {c:.2f}; max |w2 sigma(w1 x + b) - c - x| "
              f"= {error:.2e} <= w1^2/96 = {w1**2 / 96:.2e}")
    training = _mnist(quick)[0]
    probe = training[:1000]
    for activation in ("sigmoid", "tanh", "relu"):
        _seed()
        net = network2.Network([784, 30, 30, 30, 30, 10], activation=activation)
        start = ch5.layer_speeds(net, probe)
        ch3.train_until(net, list(training), probe, lambda acc: False, 1 if quick else 5, 10, 0.1, 5.0)
        print(f"exercise 1: [784, 30, 30, 30, 30, 10] {activation:>7}, speeds first to last hidden layer: at the "
              "start " + ", ".join(f"{s:.3g}" for s in start) + f"; after {1 if quick else 5} epochs "
              + ", ".join(f"{s:.3g}" for s in ch5.layer_speeds(net, probe)))


def run_ch6(quick: bool, out_dir: Path | None) -> None:
    from .. import network3 as n3
    training, validation, test = n3.load_data_shared()
    n_eval = 500 if quick else 3000
    validation, test = ((X[:n_eval], y[:n_eval]) for X, y in (validation, test))
    n, epochs = (500, 1) if quick else (3000, 20)
    train = (training[0][:n], training[1][:n])
    print(f"the first {n} training images, {len(validation[0])} validation, {len(test[0])} test, mini-batch 10, "
          f"{epochs} epochs (the book: 50,000 images, 10,000 each, 60 epochs)")
    for label, make, eta in (("conv-pool + FC 100 + softmax", lambda: ch6.conv_net(10, 100), 0.1),
                             ("conv-pool + softmax (exercise 1)", lambda: ch6.conv_net(10, None), 0.1),
                             ("2 conv-pool + FC 100, sigmoid", lambda: ch6.conv_net(10, 100, 2), 0.1),
                             ("2 conv-pool + FC 100, tanh (problem 2)",
                              lambda: ch6.conv_net(10, 100, 2, n3.tanh), 0.1),
                             ("2 conv-pool + FC 100, sigmoid, eta 0.4", lambda: ch6.conv_net(10, 100, 2), 0.4)):
        _seed()
        start = time.perf_counter()
        history = ch6.train(make(), train, epochs, 10, eta, validation, test)
        best, at_best = history.best()
        print(f"{label:<40} validation by epoch " + " ".join(f"{v:.2%}" for v in history.validation)
              + f"; best {best:.2%}, test there {at_best:.2%} ({time.perf_counter() - start:.0f} s)")
    n, epochs = (200, 1) if quick else (2000, 10)
    train = (training[0][:n], training[1][:n])
    for label, augment in (("plain", None), ("distorted on the fly (problem 7)", ch6.distort)):
        _seed()
        net = ch6.conv_net(10, 100, 2, n3.ReLU)
        history = ch6.train(net, train, epochs, 10, 0.03, validation, test, lmbda=0.1, augment=augment,
                            seed=SEED, diagnostics=n)
        print(f"problem 9, ReLU 2 conv-pool + FC 100 on {n} images, {label}: training accuracy by epoch "
              + " ".join(f"{v:.1%}" for v in history.training) + "; validation "
              + " ".join(f"{v:.1%}" for v in history.validation))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scratchnet.book.exercises", description=__doc__)
    parser.add_argument("chapter", choices=["ch1", "ch2", "ch3", "ch4", "ch5", "ch6"])
    parser.add_argument("--quick", action="store_true", help="a small subset, a few epochs: not comparable")
    parser.add_argument("--out", metavar="DIR", help="chapter 4: where ch4-problems.png goes")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"== exercises of {args.chapter}{' (quick)' if args.quick else ''}; seed {SEED}")
    globals()[f"run_{args.chapter}"](args.quick, Path(args.out) if args.out else None)
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
