"""What the loop needs from a library (the ``Backend`` protocol) and how state crosses as NumPy.

A backend reports *named metrics*: ``train_step`` returns a dict with at least ``"loss"``
(a VAE adds ``"reconstruction"`` and ``"kl"``), ``evaluate`` returns whatever it measures
(a classifier: ``"loss"`` and ``"acc"``). The loop, the logs and the epoch table carry those
names through unchanged, so no task is a special case.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

#: Evaluation batch size: large enough to be quick, small enough for the CNNs' im2col buffers.
EVAL_BATCH_SIZE = 250


class Backend(Protocol):
    """What the loop needs from a library. Arrays in and out are NumPy.

    ``train_step`` runs the model in training mode (BatchNorm batch statistics, dropout on)
    on ``X`` ``(N, ...)`` and ``y`` ``(N, ...)`` and returns named metrics of that mini-batch,
    ``"loss"`` among them; ``evaluate`` returns the mean of each named metric over ``(X, y)``
    in evaluation mode; ``predict`` gives class predictions ``(N,)`` (classifiers only).
    ``augment`` transforms a training batch, drawing its randomness from the run's generator.
    ``state`` holds the model, the optimizer and the library's own random streams (dropout),
    so a resumed run continues exactly.
    """

    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]: ...
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]: ...
    def predict(self, X: np.ndarray, batch_size: int) -> np.ndarray: ...
    def augment(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...
    def state(self) -> dict[str, np.ndarray]: ...
    def load_state(self, state: dict[str, np.ndarray]) -> None: ...


def flatten_state(prefix: str, obj: Any, out: dict[str, np.ndarray]) -> None:
    """Nested dicts/lists of arrays and numbers -> flat ``{"a/b/0": array}`` (for .npz files).

    Dict keys become path parts (int keys come back as ints); a list of dicts becomes parts
    ``#0, #1, ...`` (a list again on the way back); numbers, arrays and lists of numbers are
    leaves; ``None`` is dropped.
    """
    if isinstance(obj, dict):
        for k, v in obj.items():
            flatten_state(f"{prefix}/{k}" if prefix else str(k), v, out)
    elif isinstance(obj, list | tuple) and obj and isinstance(obj[0], dict):
        for i, v in enumerate(obj):
            flatten_state(f"{prefix}/#{i}", v, out)
    elif obj is not None:
        out[prefix] = np.asarray(obj)


def unflatten_state(flat: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
    """Inverse of :func:`flatten_state` for the keys under ``prefix``."""

    def key(part: str) -> int | str:
        return int(part) if part.isdigit() else part

    root: dict[Any, Any] = {}
    for name, value in flat.items():
        if not name.startswith(prefix + "/"):
            continue
        parts = name[len(prefix) + 1:].split("/")
        node = root
        for p in parts[:-1]:
            node = node.setdefault(key(p), {})
        node[key(parts[-1])] = value[()] if value.ndim == 0 else value

    def lists(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node and all(isinstance(k, str) and k.startswith("#") for k in node):
            return [lists(node[f"#{i}"]) for i in range(len(node))]
        return {k: lists(v) for k, v in node.items()}

    return lists(root)
