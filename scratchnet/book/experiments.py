"""``scratchnet book chN``: the book's experiments, printed row by row beside its figures.

The book's figures come from its text (chapter 1's run, chapter 3's 98.04 %) or, for ch5, its
qualitative finding. Unseeded runs in the book differ from ours by their random draws, so
epoch-by-epoch numbers agree only in size; the seeded ``fig/`` run that reproduces exactly is
checked in the tests (``regularized_full``).
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections.abc import Callable

import numpy as np

from . import mnist_loader, network, network2, speed

# Chapter 1, "Epoch j: correct / 10000" as printed in the book's text.
BOOK_CH1 = {0: 9129, 1: 9295, 2: 9348, 27: 9528, 28: 9542, 29: 9534}
BOOK_CH3_VALIDATION = 0.9804  # [784, 100, 10], cross-entropy, lmbda 5.0, eta 0.1, 60 epochs


def _modules(backend: str):
    if backend == "torch":
        from torchnet.book import network as t_network
        from torchnet.book import network2 as t_network2

        return t_network, t_network2
    return network, network2


def _quiet(fn: Callable):
    """Run fn with the book's per-epoch prints captured (we print our own table)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def run_chapter(chapter: str, quick: bool = False, backend: str = "scratch", out: Callable[[str], None] = print,
                seed: int = 12345678) -> dict:
    """Run ``chapter`` ("ch1", "ch3", "ch5"); print our figures beside the book's; return ours."""
    if chapter not in ("ch1", "ch3", "ch5"):
        raise ValueError(f"run_chapter: chapter must be 'ch1', 'ch3' or 'ch5', got {chapter!r}")
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    if quick:
        training_data, validation_data, test_data = training_data[:10000], validation_data[:2000], test_data[:2000]
    random.seed(seed)
    np.random.seed(seed)
    net_mod, net2_mod = _modules(backend)
    start = time.perf_counter()
    out(f"== {chapter} ({backend}{', quick: 10,000 training images' if quick else ''})")
    if chapter == "ch1":
        epochs = 3 if quick else 30
        net = net_mod.Network([784, 30, 10])
        rows = []
        out(f"{'epoch':>5}  {'ours':>12}  {'book':>12}")
        for j in range(epochs):
            _quiet(lambda: net.SGD(training_data, 1, 10, 3.0))
            correct = net.evaluate(test_data)
            rows.append(correct)
            book = f"{BOOK_CH1[j]} / 10000" if j in BOOK_CH1 else ""
            out(f"{j:>5}  {correct:>6} / {len(test_data):<5}  {book:>12}")
        result = {"test_correct": rows, "best": max(rows) / len(test_data)}
        out(f"best: ours {result['best']:.2%}, book about 95% (95.42% at its best epoch)")
    elif chapter == "ch3":
        epochs = 3 if quick else 60
        net = net2_mod.Network([784, 100, 10], cost=net2_mod.CrossEntropyCost)
        out(f"{'epoch':>5}  {'validation accuracy':>20}")
        accs = []
        for j in range(epochs):
            _, acc, _, _ = _quiet(lambda: net.SGD(training_data, 1, 10, 0.1, lmbda=5.0,
                                                  evaluation_data=validation_data, monitor_evaluation_accuracy=True))
            accs.append(acc[0] / len(validation_data))
            out(f"{j:>5}  {accs[-1]:>20.2%}")
        result = {"validation_accuracy": accs, "best": max(accs)}
        out(f"best: ours {result['best']:.2%}, book {BOOK_CH3_VALIDATION:.2%} (validation, after 60 epochs)")
    else:
        if backend == "torch":
            out("(chapter 5's gradient norms are computed with scratchnet.book.speed on either backend's weights)")
        epochs = 1 if quick else 5
        result = {}
        for sizes in ([784, 30, 30, 10], [784, 30, 30, 30, 10], [784, 30, 30, 30, 30, 10]):
            net = network2.Network(sizes)
            history = _quiet(lambda net=net: speed.training_speeds(net, training_data, epochs, 10, 0.1))
            result[str(sizes)] = history
            out(f"{str(sizes):<28} speed of learning ||dC/db^l|| per hidden layer, first to last")
            for e, speeds in enumerate(history):
                ordered = all(a < b for a, b in zip(speeds[:-1], speeds[1:], strict=False))
                out(f"  after epoch {e:<3} " + "  ".join(f"{s:.4f}" for s in speeds)
                    + f"   earlier layers slower: {'yes' if ordered else 'NO'}")
        out("book: in every network each hidden layer learns more slowly than the one after it "
            "(chapter 5's figures); the first layer of the 4-hidden-layer net about 100 times slower than the last")
    out(f"({time.perf_counter() - start:.1f} s)")
    return result
