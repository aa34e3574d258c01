"""Losses: each gives its value and its gradient with respect to the prediction.

    loss = CrossEntropyLoss()
    value = loss(y_hat, y)         # a float, the mean over the batch
    dy_hat = loss.backward()       # dC/dy_hat, shaped like y_hat

``QuadraticCost`` and ``CrossEntropyCost`` are the book's costs for sigmoid outputs (chapter 1
and 3), averaged over the mini-batch; the others follow ``torch.nn`` with ``reduction="mean"``.
Value and gradient come from one kernel pass (``scratchnet.kernels.losses``, through
``kernels.ops``: on the cuda tier the gradient stays on the GPU and only the value comes back);
bad input (shapes, dtypes, non-finite values, labels out of range) is an error naming the loss and
shapes.
"""

from __future__ import annotations

import numpy as np

from .kernels import ops
from .nn.module import reuse_or_new


class Loss:
    """Base class: ``__call__(y_hat, y) -> float`` computes, ``backward() -> dC/dy_hat``."""

    def __init__(self) -> None:
        self._grad: np.ndarray | None = None
        self._work: dict[str, np.ndarray] = {}  # the last gradient array, for reuse_or_new

    def __call__(self, y_hat: np.ndarray, y: np.ndarray) -> float:
        """``loss(y_hat, y)`` is ``loss.forward(y_hat, y)``."""
        return self.forward(y_hat, y)

    def forward(self, y_hat: np.ndarray, y: np.ndarray) -> float:
        """The loss value (mean over the batch); keeps ``dC/dy_hat`` for ``backward``."""
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """``dC/dy_hat`` of the last call, shaped like ``y_hat``."""
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        return self._grad

    # ------------------------------------------------------------------ checks shared by the losses
    def _predictions(self, y_hat: np.ndarray, what: str = "predictions") -> np.ndarray:
        name = type(self).__name__
        if not isinstance(y_hat, ops.ARRAYS):
            raise TypeError(f"{name}: {what} must be a NumPy array, got {type(y_hat).__name__}")
        if y_hat.ndim != 2:
            raise ValueError(f"{name}: {what} must be (N, C), got shape {y_hat.shape}")
        if y_hat.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"{name}: {what} must be float32 or float64, got {y_hat.dtype} {y_hat.shape}"
            )
        return ops.contiguous(y_hat)

    def _targets(self, y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Targets shaped like the predictions, cast to their dtype."""
        name = type(self).__name__
        if not isinstance(y, ops.ARRAYS) or y.dtype.kind not in "fiub":
            raise TypeError(
                f"{name}: targets must be a real NumPy array, got "
                f"{getattr(y, 'dtype', type(y).__name__)}"
            )
        if y.shape != y_hat.shape:
            raise ValueError(
                f"{name}: targets of shape {y.shape} do not match predictions "
                f"of shape {y_hat.shape}"
            )
        return ops.contiguous(y, y_hat.dtype)

    def _raise_non_finite(
        self, y_hat: np.ndarray, y: np.ndarray, what: str = "predictions"
    ) -> None:
        """Name the first non-finite prediction or target; overflow of finite inputs passes."""
        name = type(self).__name__
        for label, arr in ((what, y_hat), ("targets", y)):
            arr = ops.to_host(arr)  # an error's message: a copy from the GPU is no cost that matters
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
                raise ValueError(
                    f"{name}: {label} of shape {arr.shape} are not all finite "
                    f"(first at {first}: {arr[first]})"
                )

    def _grad_buffer(self, like: np.ndarray) -> np.ndarray:
        """An array for the gradient, shaped like ``like``: the last one when nothing else holds it."""
        self._grad = None  # drop our own reference to the last one, so that it may be reused
        return reuse_or_new(self._work, "grad", like.shape, like.dtype)


# --8<-- [start:quadratic]
class QuadraticCost(Loss):
    """The book's quadratic cost ``C = (1/N) sum_n 1/2 ||a_n - y_n||^2``; ``dC/da = (a - y) / N``.

    ``a``, ``y`` ``(N, C)`` (sigmoid outputs and one-hot targets). PyTorch:
    ``0.5 * ((a - y) ** 2).sum(1).mean()``.
    """

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        """The value for outputs ``a`` and targets ``y``, both ``(N, C)``."""
        a = self._predictions(a)
        y = self._targets(a, y)
        grad = self._grad_buffer(a)
        value, bad = ops.quadratic_cost(a, y, grad)
        if bad >= 0:
            self._raise_non_finite(a, y)
        self._grad = grad
        return float(value)


# --8<-- [end:quadratic]


# --8<-- [start:cross_entropy_cost]
class CrossEntropyCost(Loss):
    """The book's cross-entropy for sigmoid outputs, averaged over the batch:

    ``C = -(1/N) sum_n sum_j [y ln a + (1 - y) ln(1 - a)]``, with ``0 ln 0 = 0`` (the book's
    ``nan_to_num``); ``dC/da = (a - y) / (a (1 - a)) / N``, which times ``sigma'(z) = a (1 - a)``
    gives the book's ``delta = a - y``. ``a``, ``y`` ``(N, C)``, ``a`` in ``[0, 1]``.
    PyTorch: ``torch.nn.BCELoss(reduction="sum")(a, y) / N``.
    """

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        """The value for outputs ``a`` and targets ``y``, both ``(N, C)``."""
        a = self._predictions(a)
        y = self._targets(a, y)
        grad = self._grad_buffer(a)
        value, bad = ops.cross_entropy_cost(a, y, float(np.finfo(a.dtype).max), grad)
        if bad >= 0:
            self._raise_non_finite(a, y)
        if a.size and ops.outside(a, 0.0, 1.0):
            a = ops.to_host(a)
            raise ValueError(
                f"CrossEntropyCost: outputs must lie in [0, 1] (sigmoid outputs), "
                f"got range [{a.min()}, {a.max()}] in shape {a.shape}"
            )
        self._grad = grad
        return float(value)


# --8<-- [end:cross_entropy_cost]


# --8<-- [start:cross_entropy_loss]
class CrossEntropyLoss(Loss):
    """Log-softmax + negative log-likelihood on class indices (``torch.nn.CrossEntropyLoss``).

    z ``(N, C)`` logits, y ``(N,)`` ints in ``[0, C)``:
    ``C = -(1/N) sum_n log softmax(z_n)[y_n]``; ``dC/dz = (softmax(z) - onehot(y)) / N``.
    """

    def forward(self, z: np.ndarray, y: np.ndarray) -> float:
        """The value for logits ``z`` ``(N, C)`` and class indices ``y`` ``(N,)``."""
        z = self._predictions(z, "logits")
        if not isinstance(y, ops.ARRAYS) or y.ndim != 1 or y.dtype.kind not in "iu":
            raise ValueError(
                f"CrossEntropyLoss: targets must be a 1-D integer array of class indices, "
                f"got {getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}"
            )
        if len(y) != len(z):
            raise ValueError(
                f"CrossEntropyLoss: targets of shape {y.shape} do not match logits "
                f"of shape {z.shape} (one class index per row)"
            )
        grad = self._grad_buffer(z)
        value, bad_z, bad_y = ops.softmax_cross_entropy(z, ops.contiguous(y), grad)
        if bad_y >= 0:
            raise ValueError(
                f"CrossEntropyLoss: class index {ops.to_host(y)[bad_y]} is out of range [0, {z.shape[1]}) "
                f"for logits of shape {z.shape} (row {bad_y} of targets {y.shape})"
            )
        if bad_z >= 0:
            self._raise_non_finite(z, y, "logits")
        self._grad = grad
        return float(value)


# --8<-- [end:cross_entropy_loss]


class MSELoss(Loss):
    """``C = mean((a - y)^2)`` over every element; ``dC/da = 2 (a - y) / (N C)``.

    ``a``, ``y`` ``(N, C)``. PyTorch: ``torch.nn.MSELoss()``.
    """

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        """The value for outputs ``a`` and targets ``y``, both ``(N, C)``."""
        a = self._predictions(a)
        y = self._targets(a, y)
        grad = self._grad_buffer(a)
        value, bad = ops.mse_loss(a, y, grad)
        if bad >= 0:
            self._raise_non_finite(a, y)
        self._grad = grad
        return float(value)


class BCELoss(Loss):
    """``C = -mean[y ln a + (1 - y) ln(1 - a)]`` over every element, logs clamped at -100;
    ``dC/da = (a - y) / max(a (1 - a), 1e-12) / (N C)``. ``a``, ``y`` ``(N, C)``, ``a`` in
    ``[0, 1]``. PyTorch: ``torch.nn.BCELoss()``.
    """

    def forward(self, a: np.ndarray, y: np.ndarray) -> float:
        """The value for probabilities ``a`` and targets ``y``, both ``(N, C)``."""
        a = self._predictions(a, "inputs")
        y = self._targets(a, y)
        grad = self._grad_buffer(a)
        value, bad = ops.bce_loss(a, y, grad)
        if bad >= 0:
            self._raise_non_finite(a, y, "inputs")
        if a.size and ops.outside(a, 0.0, 1.0):
            a = ops.to_host(a)
            raise ValueError(
                f"BCELoss: inputs must lie in [0, 1], got range [{a.min()}, {a.max()}] "
                f"in shape {a.shape}"
            )
        self._grad = grad
        return float(value)


# --8<-- [start:vae_loss]
class VAELoss(Loss):
    """The VAE's negative ELBO per image, averaged over the batch (PyTorch's VAE example, ``beta``):

    ``C = (1/N) sum_n [ BCE(X_hat_n, X_n) summed over the pixels + beta KL_n ]``,
    ``KL_n = -1/2 sum_j (1 + logvar_nj - mu_nj^2 - exp(logvar_nj))``. ``X_hat``, ``X`` ``(N, 784)``
    (``X_hat`` in [0, 1], logs clamped at -100 as torch's BCE does), ``mu``, ``logvar``
    ``(N, latent)``. ``backward()`` returns ``(dC/dX_hat, dC/dmu, dC/dlogvar)``; after a call,
    ``.reconstruction`` and ``.kl`` hold the two batch means (``C = reconstruction + beta kl``).
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if not (np.isfinite(beta) and beta >= 0):
            raise ValueError(f"VAELoss: beta must be a finite number >= 0, got {beta!r}")
        self.beta = float(beta)
        self.reconstruction = self.kl = float("nan")

    def __call__(self, X_hat: np.ndarray, X: np.ndarray, mu: np.ndarray = None,  # type: ignore[override]
                 logvar: np.ndarray = None) -> float:
        """``loss(X_hat, X, mu, logvar)`` is ``loss.forward(X_hat, X, mu, logvar)``."""
        return self.forward(X_hat, X, mu, logvar)

    def forward(self, X_hat: np.ndarray, X: np.ndarray, mu: np.ndarray = None,  # type: ignore[override]
                logvar: np.ndarray = None) -> float:
        """The value; keeps the three gradients for ``backward``."""
        X_hat = self._predictions(X_hat, "reconstructions")
        X = self._targets(X_hat, ops.reshape(X, (len(X), -1)) if X.ndim > 2 else X)
        if mu is None or logvar is None or mu.shape != logvar.shape or mu.ndim != 2 or len(mu) != len(X_hat):
            raise ValueError(f"VAELoss: mu and logvar must both be ({len(X_hat)}, latent), got "
                             f"{getattr(mu, 'shape', None)} and {getattr(logvar, 'shape', None)}")
        N, K = X_hat.shape
        grad = self._grad_buffer(X_hat)
        bce_mean, bad = ops.bce_loss(X_hat, X, grad)            # mean over N K, grad / (N K)
        if bad >= 0:
            self._raise_non_finite(X_hat, X, "reconstructions")
        ops.multiply(grad, K, grad)                               # summed over the pixels: / N
        mu, logvar = ops.contiguous(mu, X_hat.dtype), ops.contiguous(logvar, X_hat.dtype)
        dmu, dlogvar = ops.empty(mu.shape, mu.dtype), ops.empty(logvar.shape, logvar.dtype)
        kl_sum = ops.gaussian_kl(mu, logvar, self.beta / N, dmu, dlogvar)
        self.reconstruction, self.kl = float(bce_mean * K), float(kl_sum / N)
        self._grad = grad
        self._latent_grads = (dmu, dlogvar)
        return self.reconstruction + self.beta * self.kl

    def backward(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[override]
        """``(dC/dX_hat, dC/dmu, dC/dlogvar)`` of the last call."""
        return super().backward(), *self._latent_grads
# --8<-- [end:vae_loss]
