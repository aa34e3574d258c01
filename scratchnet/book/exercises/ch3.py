"""Chapter 3's exercises that compute something: the spread of a neuron's weighted input
(exercise 8), softmax with a temperature (problem 6), momentum outside ``0 <= mu < 1`` (exercises 11
and 12), L1 regularisation on MNIST (problem 10), the weight decay of the first epochs (problem 9)
and stopping rules (problems 12 and 13)."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Callable

import numpy as np

from .. import network2

Rule = Callable[[list[int]], bool]


def weighted_input_std(n_in: int = 1000, samples: int = 20000, seed: int = 0) -> float:
    """Exercise 8, by sampling: the standard deviation of ``z = sum_j w_j x_j + b`` over neurons with
    weights ``N(0, 1/n_in)`` and bias ``N(0, 1)``, half the ``n_in`` inputs 1 and half 0 (the book's
    setting; the answer is ``sqrt(n_in/2 * 1/n_in + 1) = sqrt(3/2)``)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n_in)
    x[: n_in // 2] = 1.0
    w = rng.normal(0.0, 1.0 / np.sqrt(n_in), (samples, n_in))          # (samples, n_in)
    return float(np.std(w @ x + rng.normal(0.0, 1.0, samples)))


# --8<-- [start:softmax_c]
def softmax_c(z: np.ndarray, c: float) -> np.ndarray:
    """Problem 6: ``a_j = e^{c z_j} / sum_k e^{c z_k}`` (``c = 1`` is the softmax), computed with the
    largest ``c z_k`` subtracted first. As ``c -> infinity`` it tends to 1 / (number of maxima) on
    each maximum of ``z`` and 0 elsewhere: a "hard" max, of which ``c = 1`` is a softened version."""
    e = np.exp(c * (z - np.max(z)))
    return e / e.sum()
# --8<-- [end:softmax_c]


# --8<-- [start:momentum]
def momentum_on_a_bowl(mu: float, eta: float, steps: int, w0: float = 1.0) -> np.ndarray:
    """Exercises 11 and 12: the book's momentum, ``v <- mu v - eta C'(w)``, ``w <- w + v``, on the
    bowl ``C(w) = w^2 / 2`` from ``w0`` at rest; the ``steps + 1`` positions. One step maps
    ``(w, v)`` by a matrix whose eigenvalues multiply to ``mu``: for ``mu > 1`` one of them exceeds 1
    in size and the iterates grow for every ``eta``; for ``mu < 0`` they alternate in sign."""
    w, v, path = w0, 0.0, [w0]
    for _ in range(steps):
        v = mu * v - eta * w                                            # C'(w) = w
        w = w + v
        path.append(w)
    return np.array(path)
# --8<-- [end:momentum]


# --8<-- [start:rules]
def no_improvement_in(n: int) -> Rule:
    """The book's rule (``network2.SGD(early_stopping_n=n)``): stop once the last ``n`` epochs
    brought no accuracy above the best before them (a tie is no improvement)."""
    return lambda acc: len(acc) > n and max(acc[-n:]) <= max(acc[:-n])


def gain_below(delta: float, n: int) -> Rule:
    """Ours (problem 13): stop once the last ``n`` epochs raised the best accuracy by less than
    ``delta`` (a count of images): patience, but a gain of a few images no longer buys ``n`` more
    epochs. ``gain_below(1, n)`` is the book's ``no_improvement_in(n)``."""
    return lambda acc: len(acc) > n and max(acc[-n:]) < max(acc[:-n]) + delta


def stopping_epoch(accuracies: list[int], rule: Rule) -> int:
    """How many epochs a run whose evaluation accuracies were ``accuracies`` trains under ``rule``
    (the first ``k`` with ``rule(accuracies[:k])``, else all of them). Stopping changes nothing
    before it, so applying the rule to a longer run's record is the same as stopping that run."""
    return next((k for k in range(1, len(accuracies) + 1) if rule(accuracies[:k])), len(accuracies))


def train_until(net: network2.Network, training_data: list, evaluation_data: list, rule: Rule,
                max_epochs: int, mini_batch_size: int, eta: float, lmbda: float = 0.0, **options) -> list[int]:
    """``net.SGD`` one epoch at a time until ``rule`` says stop (or ``max_epochs``); the evaluation
    accuracy after each epoch. Without momentum this trains exactly as one ``SGD`` call would."""
    accuracies: list[int] = []
    while len(accuracies) < max_epochs and not rule(accuracies):
        with contextlib.redirect_stdout(io.StringIO()):
            _, acc, _, _ = net.SGD(training_data, 1, mini_batch_size, eta, lmbda=lmbda,
                                   evaluation_data=evaluation_data, monitor_evaluation_accuracy=True, **options)
        accuracies += acc
    return accuracies
# --8<-- [end:rules]


def seeded_network(sizes: list[int], seed: int = 12345678, large: bool = False) -> network2.Network:
    """``network2.Network(sizes)`` (cross-entropy) drawn after seeding ``random`` and ``np.random``."""
    random.seed(seed)
    np.random.seed(seed)
    net = network2.Network(sizes, cost=network2.CrossEntropyCost)
    if large:
        net.large_weight_initializer()
    return net


# --8<-- [start:l1]
def l1_sweep(training_data: list, validation_data: list, lmbdas: tuple[float, ...], epochs: int,
             eta: float = 0.5, hidden: int = 30) -> dict[float, list[int]]:
    """Problem 10: ``[784, hidden, 10]``, cross-entropy, trained with ``regularization="L1"`` at each
    ``lmbda`` (0: unregularised) from the same seeded start; validation accuracy per epoch."""
    return {lmbda: train_until(seeded_network([784, hidden, 10]), list(training_data), validation_data,
                               lambda acc: False, epochs, 10, eta, lmbda, regularization="L1")
            for lmbda in lmbdas}
# --8<-- [end:l1]


def weight_decay_epochs(training_data: list, epochs: int, eta: float = 0.5, lmbda: float = 5.0,
                        mini_batch_size: int = 10) -> list[float]:
    """Problem 9, measured: the root mean square of the hidden weights of ``[784, 30, 10]`` started
    with the *large* initialisation ``N(0, 1)``, before training and after each epoch."""
    net = seeded_network([784, 30, 10], large=True)
    rms = [float(np.sqrt(np.mean(net.weights[0] ** 2)))]
    training_data = list(training_data)          # SGD shuffles it in place: leave the caller's alone
    for _ in range(epochs):
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(training_data, 1, mini_batch_size, eta, lmbda=lmbda)
        rms.append(float(np.sqrt(np.mean(net.weights[0] ** 2))))
    return rms
