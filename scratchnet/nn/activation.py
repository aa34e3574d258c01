"""Element-wise and row-wise activations as modules: ``Sigmoid``, ``Tanh``, ``ReLU``, ``Softmax``."""

from __future__ import annotations

import numpy as np

from ..kernels import activations as K
from .checks import check_grad
from .module import Module


class _Elementwise(Module):
    """``A = f(Z)`` element-wise; backward from what ``_saved`` keeps (the output or the input)."""

    save_input = False

    def __init__(self) -> None:
        super().__init__()
        self._saved: np.ndarray | None = None

    def _check(self, Z: np.ndarray) -> np.ndarray:
        if not isinstance(Z, np.ndarray) or Z.dtype not in (np.float32, np.float64):
            raise TypeError(f"{type(self).__name__}: expected a float32/float64 array, "
                            f"got {getattr(Z, 'dtype', type(Z).__name__)}")
        return np.ascontiguousarray(Z)

    def forward(self, Z: np.ndarray) -> np.ndarray:
        Z = self._check(Z)
        A = self._forward(Z, np.empty_like(Z))
        self._saved = Z if self.save_input else A
        return A

    def backward(self, dA: np.ndarray) -> np.ndarray:
        check_grad(type(self).__name__, dA, None if self._saved is None else self._saved.shape)
        dA = np.ascontiguousarray(dA, dtype=self._saved.dtype)
        return self._backward(self._saved, dA, np.empty_like(dA))


class Sigmoid(_Elementwise):
    """``sigma(z) = 1 / (1 + e^{-z})``, ``sigma' = sigma (1 - sigma)``; ``torch.nn.Sigmoid``."""

    _forward = staticmethod(K.sigmoid_forward)
    _backward = staticmethod(K.sigmoid_backward)


class Tanh(_Elementwise):
    """``tanh(z)``, derivative ``1 - tanh^2``; ``torch.nn.Tanh``."""

    _forward = staticmethod(K.tanh_forward)
    _backward = staticmethod(K.tanh_backward)


class ReLU(_Elementwise):
    """``max(z, 0)``, derivative ``[z > 0]`` (0 at exactly 0); ``torch.nn.ReLU``."""

    save_input = True
    _forward = staticmethod(K.relu_forward)
    _backward = staticmethod(K.relu_backward)


class Softmax(Module):
    """Row-wise ``softmax(z)_j = e^{z_j} / sum_k e^{z_k}`` over ``dim=1``; ``torch.nn.Softmax(1)``.

    Input ``(N, C)``. Backward applies the Jacobian ``diag(s) - s s^T`` row by row.
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        if dim not in (1, -1):
            raise ValueError(f"Softmax: only dim=1 (classes of (N, C) rows) is supported, got {dim}")
        self.dim = dim
        self._S: np.ndarray | None = None

    def forward(self, Z: np.ndarray) -> np.ndarray:
        if not isinstance(Z, np.ndarray) or Z.ndim != 2:
            raise ValueError(f"Softmax: expected an (N, C) array, got shape {getattr(Z, 'shape', None)}")
        Z = np.ascontiguousarray(Z)
        self._S = K.softmax_forward(Z, np.empty_like(Z))
        return self._S

    def backward(self, dS: np.ndarray) -> np.ndarray:
        check_grad("Softmax", dS, None if self._S is None else self._S.shape)
        dS = np.ascontiguousarray(dS, dtype=self._S.dtype)
        return K.softmax_backward(self._S, dS, np.empty_like(dS))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Flatten(Module):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)``; ``torch.nn.Flatten(start_dim=1)``."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        if start_dim != 1:
            raise ValueError(f"Flatten: only start_dim=1 is supported, got {start_dim}")
        self.start_dim = start_dim
        self._shape: tuple[int, ...] | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        if not isinstance(X, np.ndarray) or X.ndim < 1:
            raise ValueError(f"Flatten: expected an array with a batch axis, got {getattr(X, 'shape', None)}")
        self._shape = X.shape
        return np.ascontiguousarray(X).reshape(X.shape[0], -1)  # (N, prod(rest))

    def backward(self, dY: np.ndarray) -> np.ndarray:
        check_grad("Flatten", dY, None if self._shape is None else (self._shape[0], int(np.prod(self._shape[1:]))))
        return dY.reshape(self._shape)
