"""``scratchnet.losses``: the checks on its inputs and the dtype it computes in.

These close gaps that mutmut found (``make mutants-tool``): a non-finite value in the *first*
row went unreported, the error did not have to name the array at fault, the targets did not
have to be cast to the predictions' dtype, and the book's ``nan_to_num`` cap did not have to be
the predictions' own float maximum.
"""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.losses import BCELoss, CrossEntropyCost, CrossEntropyLoss, MSELoss, QuadraticCost

ELEMENTWISE = [QuadraticCost, CrossEntropyCost, MSELoss, BCELoss]
PREDICTIONS = {QuadraticCost: "predictions", CrossEntropyCost: "predictions", MSELoss: "predictions",
               BCELoss: "inputs"}


def _pair(dtype=np.float64, n: int = 4, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    a = rng.uniform(0.05, 0.95, (n, c)).astype(dtype)
    y = np.eye(c, dtype=dtype)[rng.integers(0, c, n)]
    return a, y


@pytest.mark.parametrize("loss", ELEMENTWISE, ids=lambda c: c.__name__)
@pytest.mark.parametrize("where", ["predictions", "targets"])
def test_a_non_finite_value_in_the_first_row_is_named(loss, where) -> None:
    """A NaN at index (0, 0) is an error that names the array, its shape and the index."""
    a, y = _pair()
    (a if where == "predictions" else y)[0, 0] = np.nan
    label = PREDICTIONS[loss] if where == "predictions" else "targets"
    with pytest.raises(ValueError, match=rf"{loss.__name__}: {label} of shape \(4, 3\) are not all finite "
                                         r"\(first at \(0, 0\): nan\)"):
        loss()(a, y)


def test_cross_entropy_loss_names_non_finite_logits_in_the_first_row() -> None:
    z = np.zeros((3, 4))
    z[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: logits of shape \(3, 4\) are not all finite"):
        CrossEntropyLoss()(z, np.array([0, 1, 2]))


@pytest.mark.parametrize("loss", ELEMENTWISE, ids=lambda c: c.__name__)
def test_targets_that_are_not_an_array_name_their_type(loss) -> None:
    a, _ = _pair()
    with pytest.raises(TypeError, match=rf"{loss.__name__}: targets must be a real NumPy array, got list"):
        loss()(a, a.tolist())


@pytest.mark.parametrize("loss", [CrossEntropyCost, BCELoss], ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [-0.5, 1.5])
def test_probabilities_outside_zero_one_are_refused(loss, bad) -> None:
    a, y = _pair()
    a[1, 2] = bad
    with pytest.raises(ValueError, match=rf"{loss.__name__}: .* must lie in \[0, 1\]"):
        loss()(a, y)


@pytest.mark.parametrize("loss", ELEMENTWISE, ids=lambda c: c.__name__)
def test_targets_are_cast_to_the_predictions_dtype(loss) -> None:
    """float32 predictions with float64 targets compute exactly as with float32 targets."""
    a, y = _pair(np.float32, n=64, c=10)
    y64 = y.astype(np.float64) * 0.75 + 0.1   # not exactly representable in float32
    ref = loss()
    value_ref = ref(a, y64.astype(np.float32))
    got = loss()
    value = got(a, y64)
    assert value == value_ref
    assert got.backward().dtype == np.float32
    assert np.array_equal(got.backward(), ref.backward())


def test_the_books_nan_to_num_cap_is_the_outputs_own_float_maximum() -> None:
    """An output of exactly 0 with target 1 costs ``nan_to_num(inf)``: float32's maximum in float32."""
    a = np.array([[0.0, 0.5], [0.25, 1.0]], np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        book = np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))) / 2
    assert CrossEntropyCost()(a, y) == float(book) == float(np.finfo(np.float32).max) / 2


@pytest.mark.parametrize("loss, what", [*PREDICTIONS.items(), (CrossEntropyLoss, "logits")],
                         ids=lambda v: getattr(v, "__name__", v))
def test_predictions_of_the_wrong_rank_or_dtype_are_named_as_the_loss_calls_them(loss, what) -> None:
    """``BCELoss`` calls its predictions "inputs", ``CrossEntropyLoss`` "logits" (torch's words)."""
    with pytest.raises(ValueError, match=rf"{loss.__name__}: {what} must be \(N, C\), got shape \(5,\)"):
        loss()(np.zeros(5), np.zeros(5))
    with pytest.raises(TypeError, match=rf"{loss.__name__}: {what} must be float32 or float64, got int64"):
        loss()(np.zeros((2, 3), np.int64), np.zeros((2, 3)))
    with pytest.raises(TypeError, match=rf"{loss.__name__}: {what} must be a NumPy array, got list"):
        loss()([[0.5]], np.zeros((1, 1)))


@pytest.mark.parametrize("y, message", [
    ([0, 1, 2], r"got list $"),
    (np.zeros((3, 1), np.int64), r"got int64 \(3, 1\)"),
    (np.zeros(3), r"got float64 \(3,\)"),
], ids=["list", "2-D", "float"])
def test_cross_entropy_loss_names_what_is_wrong_with_its_targets(y, message) -> None:
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: targets must be a 1-D integer array of class "
                                         r"indices, " + message):
        CrossEntropyLoss()(np.zeros((3, 4)), y)


def test_cross_entropy_loss_refuses_an_out_of_range_class_in_the_first_row() -> None:
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: class index 4 is out of range \[0, 4\) .* \(row 0 "):
        CrossEntropyLoss()(np.zeros((3, 4)), np.array([4, 0, 1]))
