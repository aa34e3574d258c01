"""Activations as modules (``Sigmoid``, ``Tanh``, ``ReLU``, ``Softmax``) and ``Flatten``."""

from __future__ import annotations

import numpy as np

from ..kernels import ops
from .checks import check_grad
from .module import Module


class _Elementwise(Module):
    """``A = f(Z)`` element-wise; ``backward`` needs only the saved output ``A``.

    ``forward_kernel`` and ``backward_kernel`` name the kernels in ``kernels.ops``, looked up at
    each call (so they are the active tier's)."""

    forward_kernel: str
    backward_kernel: str

    def forward(self, Z: np.ndarray) -> np.ndarray:
        """``A = f(Z)``, same shape as ``Z``."""
        if not isinstance(Z, ops.ARRAYS) or Z.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"{self.name}: expected a float32/float64 array, "
                f"got {getattr(Z, 'dtype', type(Z).__name__)} {getattr(Z, 'shape', '')}"
            )
        Z = ops.contiguous(Z)
        A = getattr(ops, self.forward_kernel)(Z, self.output_array("A", Z.shape, Z.dtype))
        self.save(A=A)
        return A

    def backward(self, dA: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dZ = dA * f'(Z)``, with ``f'`` written from ``A`` (see the kernels)."""
        A = self.saved_for_backward()["A"]
        check_grad(self.name, dA, A.shape)
        if not needs_input_grad:
            return None
        dA = ops.contiguous(dA, A.dtype)
        return getattr(ops, self.backward_kernel)(A, dA, self.output_array("dZ", A.shape, A.dtype))


class Sigmoid(_Elementwise):
    """``sigma(z) = 1 / (1 + e^{-z})``, ``sigma' = sigma (1 - sigma)``; ``torch.nn.Sigmoid``."""

    forward_kernel, backward_kernel = "sigmoid_forward", "sigmoid_backward"


class Tanh(_Elementwise):
    """``tanh(z)``, derivative ``1 - tanh^2``; ``torch.nn.Tanh``."""

    forward_kernel, backward_kernel = "tanh_forward", "tanh_backward"


class ReLU(_Elementwise):
    """``max(z, 0)``, derivative ``[z > 0]`` (0 at exactly 0); ``torch.nn.ReLU``.

    The derivative is read off the saved output (``max(z, 0) > 0`` exactly when ``z > 0``),
    as PyTorch's ``threshold_backward`` does.
    """

    forward_kernel, backward_kernel = "relu_forward", "relu_backward"


class Softmax(Module):
    """Row-wise ``softmax(z)_j = e^{z_j} / sum_k e^{z_k}`` over ``dim=1``; ``torch.nn.Softmax(1)``.

    Input ``(N, C)``. Backward applies the Jacobian ``diag(s) - s s^T`` row by row.
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        if dim not in (1, -1):
            raise ValueError(
                f"Softmax: only dim=1 (classes of (N, C) rows) is supported, got {dim}"
            )
        self.dim = dim

    def forward(self, Z: np.ndarray) -> np.ndarray:
        """``S = softmax(Z)`` row by row, ``(N, C)``."""
        if not isinstance(Z, ops.ARRAYS) or Z.ndim != 2:
            raise ValueError(
                f"Softmax: expected an (N, C) array, got shape {getattr(Z, 'shape', None)}"
            )
        if Z.dtype not in (np.float32, np.float64):
            raise TypeError(f"Softmax: expected a float32/float64 array, got {Z.dtype} {Z.shape}")
        Z = ops.contiguous(Z)
        S = ops.softmax_forward(Z, ops.empty(Z.shape, Z.dtype))
        self.save(S=S)
        return S

    def backward(self, dS: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dZ[n] = S[n] * (dS[n] - <dS[n], S[n]>)``, ``(N, C)``."""
        S = self.saved_for_backward()["S"]
        check_grad(self.name, dS, S.shape)
        if not needs_input_grad:
            return None
        dS = ops.contiguous(dS, S.dtype)
        return ops.softmax_backward(S, dS, ops.empty(S.shape, S.dtype))

    def extra_repr(self) -> str:
        """``dim=1``."""
        return f"dim={self.dim}"


class Flatten(Module):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)``; ``torch.nn.Flatten(start_dim=1)``."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        if start_dim != 1:
            raise ValueError(f"Flatten: only start_dim=1 is supported, got {start_dim}")
        self.start_dim = start_dim

    def forward(self, X: np.ndarray) -> np.ndarray:
        """A view when ``X`` is C-contiguous: ``(N, prod(rest))``."""
        if not isinstance(X, ops.ARRAYS) or X.ndim < 1:
            raise ValueError(
                f"Flatten: expected an array with a batch axis, got {getattr(X, 'shape', None)}"
            )
        flat = ops.reshape(ops.contiguous(X), (X.shape[0], -1))  # (N, prod(rest))
        self.save(x_shape=X.shape, y_shape=flat.shape)
        return flat

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dY`` reshaped back to the input's shape."""
        saved = self.saved_for_backward()
        check_grad(self.name, dY, saved["y_shape"])
        return ops.reshape(dY, saved["x_shape"]) if needs_input_grad else None
