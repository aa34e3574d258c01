"""``scratchnet book chN``: the book's experiments, printed row by row beside its figures.

The book's figures come from its text (chapter 1's run, chapter 3's 97.92 % / 98.04 %,
chapter 5's depths and speeds, chapter 6's table of convolutional networks) and from
``fig/regularized_full.json`` (the values notes/architecture.md quotes). That run is seeded in the book's
``fig/`` scripts, so ours is the same epoch for epoch; the book's other runs were not seeded (and
chapter 6's ran on Theano), so ours agree with them in size only. Our runs seed ``random`` and
``np.random`` with 12345678, as the ``fig/`` scripts do.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import expand_mnist, mnist_loader, network, network2, network3, speed, universality

SEED = 12345678
# Chapter 1's printed run, "Epoch j: correct / 10000" ([784, 30, 10], eta 3.0, mini-batch 10).
BOOK_CH1 = {0: 9129, 1: 9295, 2: 9348, 27: 9528, 28: 9542, 29: 9534}
# fig/regularized_full.json, test accuracy per epoch (the epochs notes/architecture.md quotes).
BOOK_REGULARIZED_FULL = {0: 9212, 1: 9341, 2: 9375, 3: 9424, 4: 9532, 28: 9649, 29: 9561}
# Chapter 3: [784, 100, 10], lmbda 5.0, eta 0.1, validation accuracy after 30 and 60 epochs.
BOOK_CH3_100 = {30: 0.9792, 60: 0.9804}
# Chapter 5's text: validation accuracy after 30 epochs (eta 0.1, lmbda 5.0), and the speed of
# learning ||dC/db^l|| of each hidden layer at the start, on 1,000 training images.
BOOK_CH5_ACCURACY = {2: 0.9690, 3: 0.9657, 4: 0.9653}
BOOK_CH5_SPEEDS = {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283], 4: [0.003, 0.017, 0.070, 0.285]}
# Chapter 6's text: test accuracy at the epoch of best validation accuracy, mini-batch 10.
BOOK_CH6 = {"shallow": 0.9780, "conv": 0.9878, "conv2": 0.9906, "relu": 0.9923, "expanded": 0.9937,
            "fc2": 0.9943, "dropout": 0.9960, "ensemble": 0.9967}
# Also in its text, not run here: the two fully connected layers with 300 and with 1,000 neurons.
BOOK_CH6_WIDER_FC = {300: 0.9946, 1000: 0.9948}
# Quick mode: the first images of each set, one epoch per row, an ensemble of three.
CH6_QUICK = {"train": 1000, "eval": 1000, "epochs": 1, "ensemble": 3}


def _library(backend: str, lib: Any) -> Any:
    """The modules ``network``, ``network2``, ``network3`` to run: ``lib``, else scratchnet.book's.

    scratchnet never imports torchnet: a torch run passes ``lib`` (the ``scratchnet book --backend
    torch`` command passes torchnet.book's modules, see ``scratchnet.cli.book_library``).
    """
    if backend not in ("scratch", "torch"):
        raise ValueError(f"run_chapter: backend must be 'scratch' or 'torch', got {backend!r}")
    if lib is not None:
        missing = [name for name in ("network", "network2", "network3") if not hasattr(lib, name)]
        if missing:
            raise ValueError(f"run_chapter: lib must have the modules network, network2 and network3; "
                             f"{lib!r} lacks {missing}")
        return lib
    if backend == "torch":
        raise ValueError("run_chapter: backend 'torch' needs lib, the torch book modules (e.g. "
                         "scratchnet.cli.book_library('torch')); scratchnet does not import torchnet itself")
    return SimpleNamespace(network=network, network2=network2, network3=network3)


@contextlib.contextmanager
def _one_thread():
    """Numba's kernels and NumPy's BLAS on one thread each, restored afterwards.

    network3 works on mini-batches of 10: no kernel call has enough work for threads, and its
    ``x @ w`` (BLAS) threads spin beside Numba's. Measured here (2 cores, shared): an epoch of 500
    images in 13 s with both pools at 2 threads, 2.3 s with BLAS at 1, 0.17 s with both at 1.
    """
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        numba.set_num_threads(before)


def _quiet(fn: Callable):
    """Run fn with the book's per-epoch prints captured (we print our own table)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def _seed(seed: int = SEED) -> None:
    random.seed(seed)
    np.random.seed(seed)


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


# --8<-- [start:ch6_networks]
def ch6_networks(n3, m: int) -> dict[str, Callable[[], list]]:
    """Chapter 6's networks, layer for layer as the book writes them, for mini-batch size ``m``."""
    def conv1(fn):
        return n3.ConvPoolLayer(image_shape=(m, 1, 28, 28), filter_shape=(20, 1, 5, 5),
                                poolsize=(2, 2), activation_fn=fn)

    def conv2(fn):
        return n3.ConvPoolLayer(image_shape=(m, 20, 12, 12), filter_shape=(40, 20, 5, 5),
                                poolsize=(2, 2), activation_fn=fn)

    FC, Softmax, ReLU = n3.FullyConnectedLayer, n3.SoftmaxLayer, n3.ReLU
    return {
        "shallow": lambda: [FC(n_in=784, n_out=100), Softmax(n_in=100, n_out=10)],
        "conv": lambda: [conv1(n3.sigmoid), FC(n_in=20 * 12 * 12, n_out=100),
                         Softmax(n_in=100, n_out=10)],
        "conv2": lambda: [conv1(n3.sigmoid), conv2(n3.sigmoid), FC(n_in=40 * 4 * 4, n_out=100),
                          Softmax(n_in=100, n_out=10)],
        "relu": lambda: [conv1(ReLU), conv2(ReLU),
                         FC(n_in=40 * 4 * 4, n_out=100, activation_fn=ReLU),
                         Softmax(n_in=100, n_out=10)],
        "fc2": lambda: [conv1(ReLU), conv2(ReLU),
                        FC(n_in=40 * 4 * 4, n_out=100, activation_fn=ReLU),
                        FC(n_in=100, n_out=100, activation_fn=ReLU),
                        Softmax(n_in=100, n_out=10)],
        "dropout": lambda: [conv1(ReLU), conv2(ReLU),
                            FC(n_in=40 * 4 * 4, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
                            FC(n_in=1000, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
                            Softmax(n_in=1000, n_out=10, p_dropout=0.5)],
    }


# (row, network, training set, epochs, eta, lmbda, what the book changed): the book's SGD calls.
CH6_ROWS = [
    ("shallow", "shallow", "standard", 60, 0.1, 0.0, "[784, 100, 10] fully connected, sigmoid"),
    ("conv", "conv", "standard", 60, 0.1, 0.0, "+ conv-pool layer 20 x 5x5, pool 2x2"),
    ("conv2", "conv2", "standard", 60, 0.1, 0.0, "+ second conv-pool layer 40 x 5x5"),
    ("relu", "relu", "standard", 60, 0.03, 0.1, "ReLU, eta 0.03, lmbda 0.1"),
    ("expanded", "relu", "expanded", 60, 0.03, 0.1, "+ expanded training data (x5)"),
    ("fc2", "fc2", "expanded", 60, 0.03, 0.1, "+ second FC layer of 100"),
    ("dropout", "dropout", "expanded", 40, 0.03, 0.0, "dropout 0.5, two FC 1000 (book: 40 epochs)"),
]
# --8<-- [end:ch6_networks]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 3600:.1f} h" if seconds >= 7200 else f"{seconds / 60:.0f} min"


# --8<-- [start:ch6]
def ch6(data, quick: bool, n3, out, expanded=None) -> dict:
    """Chapter 6's table: ``network3`` nets from shallow to an ensemble of dropout conv nets.

    ``data``: ``load_data_shared()``'s ``[training, validation, test]``; ``expanded``: the
    expanded training set (default: ``expand_mnist`` of ``training``, in memory). Each row is
    seeded as the book's ``fig/`` scripts are; the ensemble's other members with SEED + 1, ....
    """
    training, validation, test = data
    m = 10                                                   # the book's mini_batch_size
    if quick:
        n, n_eval = CH6_QUICK["train"], CH6_QUICK["eval"]
        training = (training[0][:n], training[1][:n])
        validation, test = ((X[:n_eval], y[:n_eval]) for X, y in (validation, test))
        expanded = None                                      # the subset's own shifts
        n_members = CH6_QUICK["ensemble"]
        out(f"QUICK: {CH6_QUICK['epochs']} epoch per row on the first {len(training[0])} training "
            f"images ({5 * len(training[0])} expanded), {len(validation[0])} validation and "
            f"{len(test[0])} test images, an ensemble of {n_members}. These figures are NOT "
            "comparable with the book's (60 epochs on 50,000 images).")
    else:
        n_members = 5
        out("the book's settings: mini-batch 10, 60 epochs (dropout: 40) on 50,000 training images "
            "(250,000 expanded); on a CPU each row takes hours")
    if expanded is None:
        expanded = expand_mnist.shuffle(*expand_mnist.expand(*training))
    sets = {"standard": training, "expanded": expanded}
    networks = ch6_networks(n3, m)
    result: dict = {"test_accuracy": {}, "validation_accuracy": {}, "seconds": {}}
    out(f"{'':<42}  {'ours':>7}  {'book':>7}  {'time':>8}")

    def row(key: str, label: str, accuracy: float, seconds: float) -> None:
        result["test_accuracy"][key], result["seconds"][key] = accuracy, seconds
        out(f"{label:<42}  {accuracy:>7.2%}  {BOOK_CH6[key]:>7.2%}  {_duration(seconds):>8}")

    def train(net_key: str, train_set: str, epochs: int, eta: float, lmbda: float, seed: int):
        _seed(seed)
        net = n3.Network(networks[net_key](), m)
        epochs = CH6_QUICK["epochs"] if quick else epochs
        best_validation, test_accuracy = _quiet(lambda: net.SGD(
            sets[train_set], epochs, m, eta, validation, test, lmbda=lmbda))
        return net, best_validation, test_accuracy

    for key, net_key, train_set, epochs, eta, lmbda, label in CH6_ROWS:
        start = time.perf_counter()
        net, best_validation, test_accuracy = train(net_key, train_set, epochs, eta, lmbda, SEED)
        result["validation_accuracy"][key] = best_validation
        row(key, label, test_accuracy, time.perf_counter() - start)
    # The ensemble: the dropout net just trained and n_members - 1 more, trained the same way.
    start = time.perf_counter()
    members, accuracies = [net], [test_accuracy]
    for i in range(1, n_members):
        member, _, member_accuracy = train("dropout", "expanded", 40, 0.03, 0.0, SEED + i)
        members.append(member)
        accuracies.append(member_accuracy)
    result["ensemble_members"] = accuracies
    row("ensemble", f"ensemble of {n_members} such nets, majority vote",
        n3.ensemble_vote(members, test), time.perf_counter() - start)
    out("members alone: " + ", ".join(f"{a:.2%}" for a in accuracies))
    out("book, not run here: the two FC layers with 300 / 1,000 neurons: "
        + " / ".join(f"{v:.2%}" for v in BOOK_CH6_WIDER_FC.values()))
    return result
# --8<-- [end:ch6]


CHAPTERS = {"ch1": ch1, "ch3": ch3, "ch4": universality.chapter, "ch5": ch5, "ch6": ch6}


def run_chapter(chapter: str, quick: bool = False, backend: str = "scratch",
                out: Callable[[str], None] = print, data: tuple | None = None, lib: Any = None,
                out_dir: str | Path | None = None) -> dict:
    """Run ``chapter`` (ch1, ch3, ch4, ch5, ch6); print our figures beside the book's; return ours.

    ``backend`` labels the run (``"scratch"`` or ``"torch"``); ``lib`` holds the modules
    ``network``, ``network2``, ``network3`` to run (default: scratchnet.book's; a torch run must
    pass torchnet.book's, e.g. ``scratchnet.cli.book_library("torch")``).

    ``out_dir``: where the chapter's plots go (ch4: ``ch4-*.png``, the construction of universality;
    ch5: ``speeds.png``, the speed of learning of each hidden layer); none are written without it.
    ch4 needs no data and runs on scratchnet only.

    ``quick``: a few epochs on a subset (a minute or two), not comparable with the book. ``data``
    defaults to ``mnist_loader.load_data_wrapper()``; for ch6, to ``network3.load_data_shared()``
    and, in full mode, ``load_data_shared("../data/mnist_expanded.pkl.gz")``'s training set.
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"run_chapter: chapter must be one of {sorted(CHAPTERS)}, got {chapter!r}")
    lib = _library(backend, lib)
    if chapter == "ch4":
        if backend != "scratch":
            raise ValueError(f"run_chapter: ch4 builds its networks on scratchnet.nn only; got backend {backend!r}")
        run = lambda: universality.chapter(quick, out)
    elif chapter == "ch6":
        n3 = lib.network3
        expanded = None
        if data is None:
            data = n3.load_data_shared()
            if not quick:
                expanded = n3.load_data_shared("../data/mnist_expanded.pkl.gz")[0]

        def run():
            with _one_thread():
                return ch6(list(data), quick, n3, out, expanded)
    else:
        net_mod, net2_mod = lib.network, lib.network2
        data = data if data is not None else mnist_loader.load_data_wrapper()
        run = lambda: CHAPTERS[chapter]([list(d) for d in data], quick, net_mod, net2_mod, out)
    start = time.perf_counter()
    out(f"== {chapter} ({backend}{', quick' if quick else ''}; seed {SEED})")
    result = run()
    if out_dir is not None and chapter == "ch5":
        from ..viz.book import speeds

        out(f"wrote {speeds(result, Path(out_dir) / 'speeds.png')}")
    if out_dir is not None and chapter == "ch4":
        from ..viz.universality import draw_chapter

        out("wrote " + ", ".join(str(path) for path in draw_chapter(result, Path(out_dir))))
    out(f"({time.perf_counter() - start:.1f} s)")
    return result
