"""``scratchnet book chN``: the book's experiments, printed row by row beside its figures.

The book's figures come from its text (chapter 1's run, chapter 3's 97.92 % / 98.04 %,
chapter 5's depths and speeds) and from ``fig/regularized_full.json`` (the values DESIGN.md
quotes). That run is seeded in the book's ``fig/`` scripts, so ours is the same epoch for
epoch; the book's other runs were not seeded, so ours agree with them in size only. Our runs
seed ``random`` and ``np.random`` with 12345678, as the ``fig/`` scripts do.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections.abc import Callable

import numpy as np

from . import mnist_loader, network, network2, speed

SEED = 12345678
# Chapter 1's printed run, "Epoch j: correct / 10000" ([784, 30, 10], eta 3.0, mini-batch 10).
BOOK_CH1 = {0: 9129, 1: 9295, 2: 9348, 27: 9528, 28: 9542, 29: 9534}
# fig/regularized_full.json, test accuracy per epoch (the epochs DESIGN.md quotes).
BOOK_REGULARIZED_FULL = {0: 9212, 1: 9341, 2: 9375, 3: 9424, 4: 9532, 28: 9649, 29: 9561}
# Chapter 3: [784, 100, 10], lmbda 5.0, eta 0.1, validation accuracy after 30 and 60 epochs.
BOOK_CH3_100 = {30: 0.9792, 60: 0.9804}
# Chapter 5's text: validation accuracy after 30 epochs (eta 0.1, lmbda 5.0), and the speed of
# learning ||dC/db^l|| of each hidden layer at the start, on 1,000 training images.
BOOK_CH5_ACCURACY = {2: 0.9690, 3: 0.9657, 4: 0.9653}
BOOK_CH5_SPEEDS = {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283], 4: [0.003, 0.017, 0.070, 0.285]}


def _modules(backend: str):
    if backend == "torch":
        from torchnet.book import network as t_network
        from torchnet.book import network2 as t_network2

        return t_network, t_network2
    if backend != "scratch":
        raise ValueError(f"run_chapter: backend must be 'scratch' or 'torch', got {backend!r}")
    return network, network2


def _quiet(fn: Callable):
    """Run fn with the book's per-epoch prints captured (we print our own table)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def _seed() -> None:
    random.seed(SEED)
    np.random.seed(SEED)


def _book(value) -> str:
    return "" if value is None else (f"{value:.2%}" if isinstance(value, float) else str(value))


def ch1(data, quick: bool, net_mod, net2_mod, out) -> dict:
    """Chapter 1: ``Network([784, 30, 10])``, ``SGD(training_data, 30, 10, 3.0, test_data)``."""
    training_data, _, test_data = data
    _seed()
    net = net_mod.Network([784, 30, 10])
    out(f"{'epoch':>5}  {'ours / 10000':>12}  {'book':>6}")
    rows = []
    for j in range(3 if quick else 30):
        _quiet(lambda: net.SGD(training_data, 1, 10, 3.0))
        rows.append(net.evaluate(test_data))
        out(f"{j:>5}  {rows[-1]:>12}  {_book(BOOK_CH1.get(j)):>6}")
    out(f"best: ours {max(rows) / len(test_data):.2%}; book 95.42% (its epoch 28), 'about 95%'")
    return {"test_correct": rows}


def ch3(data, quick: bool, net_mod, net2_mod, out) -> dict:
    """Chapter 3: the seeded ``regularized_full`` run, then ``[784, 100, 10]`` at lmbda 5.0."""
    training_data, validation_data, test_data = data
    out("regularized_full: [784, 30, 10], cross-entropy, large_weight_initializer, eta 0.5, "
        "lmbda 5.0 (seeded as the book's fig/ script: the same run)")
    _seed()
    net = net2_mod.Network([784, 30, 10], cost=net2_mod.CrossEntropyCost)
    net.large_weight_initializer()
    out(f"{'epoch':>5}  {'ours / 10000':>12}  {'book':>6}")
    full = []
    for j in range(5 if quick else 30):
        _, acc, _, _ = _quiet(lambda: net.SGD(training_data, 1, 10, 0.5, lmbda=5.0,
                                              evaluation_data=test_data,
                                              monitor_evaluation_accuracy=True))
        full.append(acc[0])
        book = BOOK_REGULARIZED_FULL.get(j)
        mark = "" if book is None else ("  same" if book == acc[0] else "  DIFFERENT")
        out(f"{j + 1:>5}  {acc[0]:>12}  {_book(book):>6}{mark}")
    out("[784, 100, 10], cross-entropy, eta 0.1, lmbda 5.0, on the validation data")
    _seed()
    net = net2_mod.Network([784, 100, 10], cost=net2_mod.CrossEntropyCost)
    out(f"{'epoch':>5}  {'ours':>8}  {'book':>7}")
    accs = []
    for j in range(2 if quick else 60):
        _, acc, _, _ = _quiet(lambda: net.SGD(training_data, 1, 10, 0.1, lmbda=5.0,
                                              evaluation_data=validation_data,
                                              monitor_evaluation_accuracy=True))
        accs.append(acc[0] / len(validation_data))
        out(f"{j + 1:>5}  {accs[-1]:>8.2%}  {_book(BOOK_CH3_100.get(j + 1)):>7}")
    out(f"best: ours {max(accs):.2%}; book 98.04% after 60 epochs")
    return {"regularized_full": full, "validation_accuracy": accs}


def ch5(data, quick: bool, net_mod, net2_mod, out) -> dict:
    """Chapter 5: speeds of learning per hidden layer (``generate_gradient.py``), and depth."""
    training_data, validation_data, _ = data
    probe = training_data[:1000]          # the book's generate_gradient.py: the first 1,000 images
    epochs = 20 if quick else 500
    result = {}
    out(f"speed of learning ||dC/db^l||, hidden layers first to last; trained as the book's "
        f"generate_gradient.py: SGD(first 1000 images, 1, 1000, 0.1, lmbda=5.0) x {epochs}")
    for hidden in (2, 3, 4):
        _seed()
        net = net2_mod.Network([784] + [30] * hidden + [10])
        history = _quiet(lambda net=net: speed.training_speeds(net, probe, epochs, 1000, 0.1,
                                                               lmbda=5.0))
        result[hidden] = history
        out(f"[784, {'30, ' * hidden}10]")
        out(f"  {'start':>11}: ours " + "  ".join(f"{s:.3f}" for s in history[0])
            + "   book " + "  ".join(f"{s:.3f}" for s in BOOK_CH5_SPEEDS[hidden]))
        for e in sorted({1, 10, 100, epochs} & set(range(1, epochs + 1))):
            s = history[e]
            out(f"  after {e:>5}: ours " + "  ".join(f"{v:.1e}" for v in s)
                + f"   first/last {s[0] / s[-1]:.2f}")
    if not quick:
        out("validation accuracy after 30 epochs, eta 0.1, lmbda 5.0, mini-batch 10")
        for hidden in (2, 3, 4):
            _seed()
            net = net2_mod.Network([784] + [30] * hidden + [10])
            _, acc, _, _ = _quiet(lambda net=net: net.SGD(training_data, 30, 10, 0.1, lmbda=5.0,
                                                          evaluation_data=validation_data,
                                                          monitor_evaluation_accuracy=True))
            result[f"accuracy_{hidden}"] = acc
            out(f"  {hidden} hidden layers: ours {acc[-1] / len(validation_data):.2%}, "
                f"book {BOOK_CH5_ACCURACY[hidden]:.2%}")
    out("book: each hidden layer learns more slowly than the one after it, the more so the "
        "deeper the net")
    return result


CHAPTERS = {"ch1": ch1, "ch3": ch3, "ch5": ch5}


def run_chapter(chapter: str, quick: bool = False, backend: str = "scratch",
                out: Callable[[str], None] = print, data: tuple | None = None) -> dict:
    """Run ``chapter`` ("ch1", "ch3", "ch5"); print our figures beside the book's; return ours.

    ``quick``: a few epochs (well under a minute); ``data`` defaults to
    ``mnist_loader.load_data_wrapper()``.
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"run_chapter: chapter must be one of {sorted(CHAPTERS)}, got {chapter!r}")
    net_mod, net2_mod = _modules(backend)
    data = data if data is not None else mnist_loader.load_data_wrapper()
    start = time.perf_counter()
    out(f"== {chapter} ({backend}{', quick' if quick else ''}; seed {SEED})")
    result = CHAPTERS[chapter]([list(d) for d in data], quick, net_mod, net2_mod, out)
    out(f"({time.perf_counter() - start:.1f} s)")
    return result
