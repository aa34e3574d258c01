"""Input checks shared by the layers: clear errors that name the layer and both shapes."""

from __future__ import annotations

import numpy as np

from ..kernels import ops


def check_input(
    layer: str,
    x: np.ndarray,
    ndim: int,
    dtype: np.dtype,
    features: int | None = None,
    axis: int = 1,
    what: str = "features",
    weight_shape: tuple[int, ...] | None = None,
) -> None:
    """Raise a ValueError/TypeError naming ``layer``, expected and actual, if ``x`` does not fit.

    ``x`` is a NumPy array or an array of the active kernel tier (``ops.ARRAYS``: on the cuda tier,
    a device array)."""
    if not isinstance(x, ops.ARRAYS):
        raise TypeError(f"{layer}: expected a NumPy array, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{layer}: expected a {ndim}-D input, got shape {x.shape}")
    if x.dtype != dtype:
        raise TypeError(
            f"{layer}: input dtype {x.dtype} does not match the layer's {dtype} "
            f"(cast with x.astype(np.{dtype}) or call .to(np.{x.dtype}) on the model)"
        )
    if features is not None and x.shape[axis] != features:
        weight = f" for weight of shape {weight_shape}" if weight_shape is not None else ""
        raise ValueError(
            f"{layer}: expected {features} input {what} (axis {axis}), "
            f"got input of shape {x.shape}{weight}"
        )


def check_grad(layer: str, grad: np.ndarray, expected_shape: tuple[int, ...]) -> None:
    """``backward`` must get a gradient shaped like the last forward's output."""
    if not isinstance(grad, ops.ARRAYS):
        raise TypeError(f"{layer}: backward expected a NumPy array, got {type(grad).__name__}")
    if grad.shape != expected_shape:
        raise ValueError(
            f"{layer}: backward got a gradient of shape {grad.shape}, "
            f"but the forward output had shape {expected_shape}"
        )


def as_pair(layer: str, argument: str, value: object, minimum: int) -> tuple[int, int]:
    """PyTorch's ``int or (h, w)`` argument as a pair ``(h, w)``, each at least ``minimum``.

    ``3 -> (3, 3)``, ``(3, 2) -> (3, 2)``; anything else (a bool, a float, a string, a pair of the
    wrong length, a value below ``minimum``) raises a ValueError that names the layer, the argument,
    what was expected and what was given.
    """
    expected = f"an int >= {minimum} or a pair (h, w) of ints >= {minimum}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{layer}: {argument} must be {expected}, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{layer}: {argument} must be {expected}, got {value!r}")
    return pair


def pair_repr(pair: tuple[int, int]) -> str:
    """``(3, 3) -> "3"``, ``(3, 2) -> "(3, 2)"``: how messages show a pair."""
    return str(pair[0]) if pair[0] == pair[1] else str(tuple(pair))
