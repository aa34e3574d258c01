"""``nn.module``'s one reuse mechanism: an output or gradient array comes back only when free."""

from __future__ import annotations

import numpy as np

from scratchnet import losses, models
from scratchnet.nn import Linear, Sigmoid
from scratchnet.nn.module import Parameter, reuse_or_new


def test_a_free_array_is_handed_out_again_and_a_held_one_never():
    work: dict[str, np.ndarray] = {}
    first = reuse_or_new(work, "y", (3, 4), np.float32)
    first_id = id(first)
    del first
    again = reuse_or_new(work, "y", (3, 4), np.dtype(np.float32))
    assert id(again) == first_id                       # nobody held it: the same array
    held = again
    fresh = reuse_or_new(work, "y", (3, 4), np.float32)
    assert fresh is not held                           # held by a caller: a new one
    assert reuse_or_new(work, "y", (3, 5), np.float32).shape == (3, 5)   # shape changed: new
    assert reuse_or_new(work, "y", (3, 5), np.float64).dtype == np.float64


def test_outputs_a_caller_keeps_are_never_overwritten():
    layer = Linear(4, 3, rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    X1, X2 = rng.random((5, 4), dtype=np.float32), rng.random((5, 4), dtype=np.float32)
    y1 = layer(X1)
    copy = y1.copy()
    y2 = layer(X2)
    np.testing.assert_array_equal(y1, copy)
    assert y2 is not y1


def test_a_training_step_at_a_fixed_batch_reuses_its_arrays():
    """After the first step, the model's outputs, gradients and the loss gradient come back."""
    model = models.book_mlp(rng=np.random.default_rng(0))
    loss = losses.QuadraticCost()
    X = np.random.default_rng(2).random((10, 1, 28, 28), dtype=np.float32)
    Y = np.eye(10, dtype=np.float32)[np.arange(10)]

    def step() -> tuple[set[int], list[np.ndarray]]:
        model.zero_grad()
        loss(model(X), Y)
        model.backward(loss.backward(), needs_input_grad=False)
        grads = [p.grad for p in model.parameters()]
        return {id(g) for g in grads}, [g.copy() for g in grads]

    ids1, grads1 = step()
    ids2, grads2 = step()
    assert ids1 == ids2
    for g1, g2 in zip(grads1, grads2, strict=True):
        np.testing.assert_array_equal(g1, g2)          # rewritten, not accumulated onto


def test_a_gradient_kept_across_zero_grad_is_not_written_into():
    p = Parameter(np.ones((2, 3), np.float32))
    g, beta = p.grad_to_write()
    assert beta == 0.0
    g[...] = 5.0
    kept = p.grad
    p.zero_grad()
    assert p.grad is None
    new, _ = p.grad_to_write()
    assert new is not kept and np.all(kept == 5.0)
    del kept, g, new
    p.zero_grad()
    added = p.grad_to_add()
    assert np.all(added == 0.0)                        # grad_to_add starts from zeros, even reused


def test_an_activation_output_saved_for_backward_is_not_reused():
    act = Sigmoid()
    Z = np.zeros((2, 2))
    A = act(Z)
    A_id = id(A)
    del A                       # the module still saves it for backward
    B = act(Z + 1.0)
    assert id(B) != A_id        # the saved A still held the old array when B was handed out
    np.testing.assert_allclose(act.backward(np.ones((2, 2))), B * (1 - B))
