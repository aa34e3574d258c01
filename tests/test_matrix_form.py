"""``book.matrix_form`` (the reference epoch, on ``scratchnet.nn``) against ``kernels.fused_mlp``
(the fast one) and against the book's per-sample ``update_mini_batch``. The book's recorded run,
on both tiers, is in ``test_book_network.py``.

The two epochs sum the same terms in different orders (``fused_mlp`` sums each ``z`` from the
nonzero pixels only, ``Linear`` over all of them), so they agree to float64 rounding, not bit for
bit: every parameter within rtol 1e-10 after a whole epoch, the gate of notes/architecture.md.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from scratchnet import kernels
from scratchnet.book import matrix_form, network, network2
from scratchnet.kernels import fused_mlp
from scratchnet.kernels.codes import Activation, Cost, Penalty

OUTPUTS = [(Activation.SIGMOID, Cost.QUADRATIC), (Activation.SIGMOID, Cost.CROSS_ENTROPY),
           (Activation.SOFTMAX, Cost.LOG_LIKELIHOOD)]
CASES = list(itertools.product([Activation.SIGMOID, Activation.TANH, Activation.RELU], OUTPUTS,
                               [Penalty.L2, Penalty.L1], [0.0, 0.6]))


def _problem(seed: int, sizes=(20, 7, 5, 4), n: int = 53):
    rng = np.random.default_rng(seed)
    X = rng.random((n, sizes[0])).astype(np.float32)
    X[rng.random(X.shape) < 0.6] = 0.0                        # zero pixels: fused_mlp's sparse path
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]       # (n, n_L) one-hot
    weights = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.standard_normal((b, 1)) for b in sizes[1:]]
    order = rng.permutation(n)
    return X, Y, weights, biases, order


@pytest.mark.parametrize("act, output, reg, mu", CASES, ids=lambda v: getattr(v, "name", str(v)))
def test_an_epoch_in_matrix_form_equals_the_fused_epoch(act, output, reg, mu):
    out_act, cost = output
    X, Y, weights, biases, order = _problem(int(act) * 100 + int(cost) * 10 + int(reg))
    results = []
    for module in (fused_mlp, matrix_form):
        w, b = [a.copy() for a in weights], [a.copy() for a in biases]
        velocities = (tuple(np.full_like(a, 0.01) for a in w), tuple(np.full(a.size, -0.01) for a in b))
        for _ in range(2):  # two epochs: the momentum buffers carry over
            module.train_epoch(X, Y, order, 10, 0.3, 4.0, len(X), w, b, act=act, out_act=out_act, cost=cost,
                               reg=reg, mu=mu, velocities=velocities if mu else None)
        results.append(w + b + list(velocities[0]) + list(velocities[1]))
    for i, (fast, ref) in enumerate(zip(*results, strict=True)):
        np.testing.assert_allclose(fast.reshape(-1), ref.reshape(-1), rtol=1e-10, atol=1e-13, err_msg=f"array {i}")
    changed = [not np.array_equal(a, w0) for a, w0 in zip(results[1], weights, strict=False)]
    assert all(changed), "the epoch must move every weight matrix"


@pytest.mark.parametrize("act, output", list(itertools.product([Activation.SIGMOID, Activation.RELU], OUTPUTS)))
def test_predict_in_matrix_form_equals_the_fused_predict(act, output):
    X, _, weights, biases, _ = _problem(3)
    fast = fused_mlp.predict(X, weights, biases, act, output[0])
    ref = matrix_form.predict(X, weights, biases, act, output[0])
    np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-15)


def _column_data(X: np.ndarray, Y: np.ndarray) -> list:
    return [(x.reshape(-1, 1), y.reshape(-1, 1)) for x, y in zip(X, Y, strict=True)]


# (module, the book's update_mini_batch arguments after the batch, SGD's keyword arguments)
BOOK_STEPS = {"network": (network, (3.0,), {}), "network2-L2": (network2, (0.5, 5.0, 10), {"lmbda": 5.0})}


@pytest.mark.parametrize("tier", ["fast", "reference"])
@pytest.mark.parametrize("book", sorted(BOOK_STEPS))
def test_sgd_on_either_tier_takes_the_books_per_sample_step(book, tier):
    """One epoch of one mini-batch = ``update_mini_batch``, the book's sum of per-sample backprops
    (network2: with its L2 decay, n = the 10 training images)."""
    module, update_args, sgd_kwargs = BOOK_STEPS[book]
    X, Y, _, _, _ = _problem(5, sizes=(20, 6, 4), n=10)
    data = _column_data(X.astype(np.float64), Y)
    np.random.seed(3)
    reference, ours = module.Network([20, 6, 4]), module.Network([20, 6, 4])
    ours.weights, ours.biases = [w.copy() for w in reference.weights], [b.copy() for b in reference.biases]
    reference.update_mini_batch(data, *update_args)
    random.seed(0)
    with kernels.use(tier):
        ours.SGD(list(data), 1, 10, update_args[0], **sgd_kwargs)
    for got, exp in zip(ours.weights + ours.biases, reference.weights + reference.biases, strict=True):
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-14)


def test_the_reference_epoch_refuses_a_bad_mini_batch_size():
    X, Y, weights, biases, order = _problem(7)
    with pytest.raises(ValueError, match=r"train_epoch: mini_batch_size must be a positive int, got 2.5"):
        matrix_form.train_epoch(X, Y, order, 2.5, 0.1, 0.0, len(X), weights, biases)
