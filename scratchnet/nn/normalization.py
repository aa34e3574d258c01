"""``BatchNorm1d``, ``BatchNorm2d`` and ``Dropout``: the layers that behave differently in training."""

from __future__ import annotations

import numpy as np

from ..kernels import ops
from .checks import check_grad
from .module import Module, Parameter


class _BatchNorm(Module):
    """Shared by 1d and 2d: gamma (``weight``), beta (``bias``), running statistics as buffers
    (arrays of the kernel tier the layer was made on; ``num_batches_tracked`` stays a NumPy 0-d
    integer)."""

    ndim = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *, dtype=np.float32) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype))
        self.bias = Parameter(np.zeros(num_features, dtype))
        self.register_buffer("running_mean", ops.zeros((num_features,), dtype))
        self.register_buffer("running_var", ops.contiguous(np.ones(num_features, dtype)))
        self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def _as_ncs(self, X: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        if not isinstance(X, ops.ARRAYS) or X.ndim not in (self.ndim,) or X.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): expected input of shape "
                             f"{'(N, C)' if self.ndim == 2 else '(N, C, H, W)'} with C = {self.num_features}, "
                             f"got {getattr(X, 'shape', None)}")
        if X.dtype != self.weight.data.dtype:
            raise TypeError(f"{name}: input dtype {X.dtype} does not match the layer's {self.weight.data.dtype}")
        return ops.reshape(ops.contiguous(X), (X.shape[0], X.shape[1], -1))  # (N, C, S)

    # --8<-- [start:batchnorm_module]
    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y = gamma xhat + beta``, ``xhat = (X - mean) / sqrt(var + eps)`` per channel; X's shape.

        Training: the batch's mean and biased variance, and the running statistics move by
        ``momentum``; evaluation: the running statistics. Saves ``xhat`` (and ``1/std``).
        """
        x = self._as_ncs(X)
        N, C, S = x.shape
        Y, xhat = ops.empty(x.shape, x.dtype), ops.empty(x.shape, x.dtype)
        g, b = self.weight.data, self.bias.data
        if self.training:
            if N * S < 2:
                raise ValueError(f"{type(self).__name__}: training needs more than one value per channel, "
                                 f"got input of shape {X.shape}")
            mean, var, invstd = (ops.empty((C,), x.dtype) for _ in range(3))
            ops.batchnorm_train_forward(x, g, b, self.eps, Y, xhat, mean, var, invstd)
            # running = (1 - momentum) running + momentum batch, the variance made unbiased (N S / (N S - 1))
            ops.batchnorm_update_running(mean, var, N * S, self.momentum, self.running_mean, self.running_var)
            self.num_batches_tracked += 1
            self.save(xhat=xhat, invstd=invstd, y_shape=X.shape)
        else:
            ops.batchnorm_eval_forward(x, g, b, self.running_mean, self.running_var, self.eps, Y, xhat)
            self.save(xhat=xhat, invstd=None, y_shape=X.shape)
        return ops.reshape(Y, X.shape)

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """Accumulate ``dgamma += sum dY xhat``, ``dbeta += sum dY``; return ``dX`` (X's shape).

        In training ``dX`` runs through the batch statistics too (``invstd`` saved); in
        evaluation the running ones are constants. The kernels give ``dX`` with the parameters'
        gradients in one pass, so ``needs_input_grad=False`` only drops it.
        """
        saved = self.saved_for_backward()
        check_grad(self.name, dY, saved["y_shape"])
        xhat, invstd = saved["xhat"], saved["invstd"]
        dy = ops.reshape(ops.contiguous(dY, xhat.dtype), xhat.shape)  # (N, C, S)
        dX = ops.empty(dy.shape, dy.dtype)
        dgamma, dbeta = self.weight.grad_to_add(), self.bias.grad_to_add()
        if invstd is not None:  # the forward ran in training mode
            ops.batchnorm_train_backward(dy, xhat, self.weight.data, invstd, dX, dgamma, dbeta)
        else:
            ops.batchnorm_eval_backward(dy, xhat, self.weight.data, self.running_var, self.eps, dX, dgamma, dbeta)
        return ops.reshape(dX, dY.shape) if needs_input_grad else None
    # --8<-- [end:batchnorm_module]

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """``torch.nn.BatchNorm1d`` over features ``(N, C)``."""

    ndim = 2


class BatchNorm2d(_BatchNorm):
    """``torch.nn.BatchNorm2d`` over channels of ``(N, C, H, W)``."""

    ndim = 4


class Dropout(Module):
    """``torch.nn.Dropout(p)``: in training zero each value with probability p, scale the rest by 1/(1-p).

    ``rng`` draws the masks; ``next_mask`` (an array of 0/1, set by a test) replaces the next draw
    so two libraries can share one mask. Evaluation passes values through unchanged. The mask is
    drawn on the host whatever the kernel tier (the same generator gives the same masks on every
    tier) and goes to the tier's memory as the scale ``mask / (1 - p)``.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must lie in [0, 1), got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()
        self.next_mask: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Training: ``Y = X * mask / (1 - p)``, mask ~ Bernoulli(1 - p); evaluation: ``Y = X``."""
        if not self.training or self.p == 0:
            self.save(scale=None)
            return X
        if self.next_mask is not None:
            keep, self.next_mask = self.next_mask, None
            if keep.shape != X.shape:
                raise ValueError(f"Dropout: injected mask of shape {keep.shape} does not match input {X.shape}")
        else:
            keep = self.rng.random(X.shape) >= self.p
        scale = ops.contiguous(keep.astype(X.dtype) * X.dtype.type(1.0 / (1.0 - self.p)))
        self.save(scale=scale)
        return ops.multiply(ops.contiguous(X), scale, ops.empty(X.shape, X.dtype))

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dX = dY * mask / (1 - p)`` (the forward's mask), or ``dY`` where it passed X through."""
        scale = self.saved_for_backward()["scale"]
        if scale is not None:
            check_grad(self.name, dY, scale.shape)
        if not needs_input_grad:
            return None
        if scale is None:
            return dY
        return ops.multiply(ops.contiguous(dY, scale.dtype), scale, ops.empty(scale.shape, scale.dtype))

    def extra_repr(self) -> str:
        return f"p={self.p}"
