"""scratchnet.book.network3 vs torchnet.book.network3: seeded alike, the same training run.

Both draw their weights, biases and dropout masks from ``np.random`` in the same order, so two
epochs of the book's SGD on a conv-pool / dropout-FC / softmax net give the same parameters
(explicit backward passes against autograd), the same accuracies and the same printed lines.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from helpers import DEVICE, assert_close

from scratchnet.book import network3 as s3
from torchnet.book import network3 as t3


def blocks(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images whose class (0-3) lights one quadrant."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    X = rng.random((n, 8, 8)) * 0.3
    for i, c in enumerate(y):
        X[i, (c // 2) * 4:(c // 2) * 4 + 4, (c % 2) * 4:(c % 2) * 4 + 4] += 0.7
    return X.reshape(n, 64), y


def seeded_net(n3, act_name: str, m: int, filt: tuple[int, int] = (3, 3), pool: tuple[int, int] = (2, 2),
               **device):
    np.random.seed(7)
    act = getattr(n3, act_name)
    maps = ((8 - filt[0] + 1) // pool[0]) * ((8 - filt[1] + 1) // pool[1])
    return n3.Network([n3.ConvPoolLayer(filter_shape=(4, 1, *filt), image_shape=(m, 1, 8, 8), poolsize=pool,
                                        activation_fn=act, **device),
                       n3.FullyConnectedLayer(n_in=4 * maps, n_out=12, activation_fn=act, p_dropout=0.3, **device),
                       n3.SoftmaxLayer(n_in=12, n_out=4, p_dropout=0.2, **device)], m)


def train(net, data, lmbda: float) -> tuple[tuple[float, float], str]:
    np.random.seed(11)  # the dropout masks
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        result = net.SGD(data[0], 2, net.mini_batch_size, 0.2, data[1], data[2], lmbda=lmbda)
    return result, buf.getvalue()


@pytest.mark.parametrize(("act_name", "filt", "pool"), [("ReLU", (3, 3), (2, 2)), ("sigmoid", (3, 3), (2, 2)),
                                                        ("tanh", (3, 3), (2, 2)), ("ReLU", (3, 2), (2, 3))],
                         ids=["ReLU", "sigmoid", "tanh", "ReLU-rectangular"])
def test_seeded_runs_match(act_name: str, filt: tuple[int, int], pool: tuple[int, int]) -> None:
    m = 5
    data = (blocks(60, 0), blocks(20, 1), blocks(20, 2))
    ours = seeded_net(s3, act_name, m, filt, pool)
    theirs = seeded_net(t3, act_name, m, filt, pool, device=DEVICE)
    for i, (p, t) in enumerate(zip(ours.params, theirs.params, strict=True)):
        assert_close(f"network3 initial parameter {i}", p, t.detach(), np.float64)
    (ours_result, ours_text), (theirs_result, theirs_text) = train(ours, data, 0.5), train(theirs, data, 0.5)
    for i, (p, t) in enumerate(zip(ours.params, theirs.params, strict=True)):
        assert_close(f"network3 parameter {i} after two epochs ({act_name})", p, t.detach(), np.float64,
                     "grad", k_terms=m)
    assert ours_result == theirs_result and ours_text == theirs_text
    assert s3.ensemble_vote([ours], data[2]) == t3.ensemble_vote([theirs], data[2])
