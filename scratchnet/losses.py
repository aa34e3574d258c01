"""Losses: each gives its value and its gradient with respect to the prediction.

    loss = CrossEntropyLoss()
    value = loss(y_hat, y)         # a float, the mean over the batch
    dy_hat = loss.backward()       # dC/dy_hat, shaped like y_hat

``QuadraticCost`` and ``CrossEntropyCost`` are the book's costs for sigmoid outputs (chapter 1
and 3), averaged over the mini-batch; the others follow ``torch.nn`` with ``reduction="mean"``.
"""

from __future__ import annotations

import numpy as np

from .kernels.activations import log_softmax_forward


def _check_pair(name: str, y_hat: np.ndarray, y: np.ndarray) -> None:
    if not isinstance(y_hat, np.ndarray) or y_hat.ndim != 2:
        raise ValueError(f"{name}: predictions must be (N, C), got shape {getattr(y_hat, 'shape', None)}")
    if y_hat.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: predictions must be float32 or float64, got {y_hat.dtype}")
    if not np.isfinite(y_hat).all():
        bad = np.argwhere(~np.isfinite(y_hat))[0]
        raise ValueError(f"{name}: predictions of shape {y_hat.shape} are not all finite "
                         f"(first at {tuple(int(i) for i in bad)}: {y_hat[tuple(bad)]})")
    if y.shape != y_hat.shape:
        raise ValueError(f"{name}: targets of shape {y.shape} do not match predictions of shape {y_hat.shape}")


class Loss:
    """Base class: ``__call__(y_hat, y) -> float`` caches, ``backward() -> dC/dy_hat``."""

    def __call__(self, y_hat: np.ndarray, y: np.ndarray) -> float:
        return self.forward(y_hat, y)

    def _saved(self):
        if getattr(self, "_cache", None) is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        return self._cache


# --8<-- [start:quadratic]
class QuadraticCost(Loss):
    """The book's quadratic cost ``C = (1/N) sum_n 1/2 ||a_n - y_n||^2``; ``dC/da = (a - y) / N``."""

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        _check_pair("QuadraticCost", a, y)
        diff = a - y.astype(a.dtype, copy=False)                 # (N, C)
        self._cache = diff
        return float(0.5 * np.einsum("nc,nc->", diff, diff) / len(a))

    def backward(self) -> np.ndarray:
        diff = self._saved()
        return diff / diff.dtype.type(len(diff))
# --8<-- [end:quadratic]


# --8<-- [start:cross_entropy_cost]
class CrossEntropyCost(Loss):
    """The book's cross-entropy for sigmoid outputs, averaged over the batch:

    ``C = -(1/N) sum_n sum_j [y ln a + (1 - y) ln(1 - a)]``, with ``0 ln 0 = 0`` (the book's
    ``nan_to_num``); ``dC/da = (a - y) / (a (1 - a)) / N``, which times ``sigma'(z) = a (1 - a)``
    gives the book's ``delta = a - y``. Mirrors ``torch.nn.BCELoss(reduction="sum") / N``.
    """

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        _check_pair("CrossEntropyCost", a, y)
        if (a < 0).any() or (a > 1).any():
            raise ValueError(f"CrossEntropyCost: outputs must lie in [0, 1] (sigmoid outputs), "
                             f"got range [{a.min()}, {a.max()}] in shape {a.shape}")
        y = y.astype(a.dtype, copy=False)
        self._cache = (a, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))
        return float(terms.sum() / len(a))

    def backward(self) -> np.ndarray:
        a, y = self._saved()
        eps = a.dtype.type(1e-12)  # torch's clamp of a (1 - a) in BCELoss's gradient
        return (a - y) / np.maximum(a * (1 - a), eps) / a.dtype.type(len(a))
# --8<-- [end:cross_entropy_cost]


# --8<-- [start:cross_entropy_loss]
class CrossEntropyLoss(Loss):
    """Log-softmax + negative log-likelihood on class indices (``torch.nn.CrossEntropyLoss``).

    z ``(N, C)`` logits, y ``(N,)`` ints in ``[0, C)``:
    ``C = -(1/N) sum_n log softmax(z_n)[y_n]``; ``dC/dz = (softmax(z) - onehot(y)) / N``.
    """

    def forward(self, z: np.ndarray, y: np.ndarray) -> float:
        if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
            raise ValueError(f"CrossEntropyLoss: targets must be a 1-D integer array of class indices, "
                             f"got {getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}")
        _check_pair("CrossEntropyLoss", z, np.empty((len(y), z.shape[1] if z.ndim == 2 else 0)))
        N, C = z.shape
        if y.size and (y.min() < 0 or y.max() >= C):
            bad = y[(y < 0) | (y >= C)][0]
            raise ValueError(f"CrossEntropyLoss: class index {bad} is out of range [0, {C}) "
                             f"for logits of shape {z.shape}")
        logp = log_softmax_forward(np.ascontiguousarray(z), np.empty_like(z, order="C"))  # (N, C)
        self._cache = (logp, y)
        return float(-logp[np.arange(N), y].sum() / N)

    def backward(self) -> np.ndarray:
        logp, y = self._saved()
        dz = np.exp(logp)                                  # softmax, (N, C)
        dz[np.arange(len(y)), y] -= 1
        return dz / dz.dtype.type(len(y))
# --8<-- [end:cross_entropy_loss]


class MSELoss(Loss):
    """``C = mean((a - y)^2)`` over every element; ``dC/da = 2 (a - y) / (N C)``; ``torch.nn.MSELoss``."""

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        _check_pair("MSELoss", a, y)
        diff = a - y.astype(a.dtype, copy=False)
        self._cache = diff
        return float(np.einsum("nc,nc->", diff, diff) / diff.size)

    def backward(self) -> np.ndarray:
        diff = self._saved()
        return diff * diff.dtype.type(2.0 / diff.size)


class BCELoss(Loss):
    """``C = -mean[y ln a + (1 - y) ln(1 - a)]`` over every element, logs clamped at -100 as
    in ``torch.nn.BCELoss``; ``dC/da = (a - y) / max(a (1 - a), 1e-12) / (N C)``."""

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        _check_pair("BCELoss", a, y)
        if (a < 0).any() or (a > 1).any():
            raise ValueError(f"BCELoss: inputs must lie in [0, 1], got range [{a.min()}, {a.max()}] in shape {a.shape}")
        y = y.astype(a.dtype, copy=False)
        self._cache = (a, y)
        with np.errstate(divide="ignore"):
            log_a, log_1a = np.maximum(np.log(a), -100), np.maximum(np.log(1 - a), -100)
        return float(-(y * log_a + (1 - y) * log_1a).mean())

    def backward(self) -> np.ndarray:
        a, y = self._saved()
        return (a - y) / np.maximum(a * (1 - a), a.dtype.type(1e-12)) / a.dtype.type(a.size)
