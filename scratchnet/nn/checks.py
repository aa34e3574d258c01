"""Input checks shared by the layers: clear errors that name the layer and both shapes."""

from __future__ import annotations

import numpy as np


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
    """Raise a ValueError/TypeError naming ``layer``, expected and actual, if ``x`` does not fit."""
    if not isinstance(x, np.ndarray):
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
    if not isinstance(grad, np.ndarray):
        raise TypeError(f"{layer}: backward expected a NumPy array, got {type(grad).__name__}")
    if grad.shape != expected_shape:
        raise ValueError(
            f"{layer}: backward got a gradient of shape {grad.shape}, "
            f"but the forward output had shape {expected_shape}"
        )
