"""``Linear``: ``Y = X W^T + b``, its three backprop products on the project's own GEMM."""

from __future__ import annotations

import numpy as np

from ..kernels import ops
from ..kernels.activations import IDENTITY
from .checks import check_grad, check_input
from .module import Module, Parameter


class Linear(Module):
    """A fully connected layer, ``torch.nn.Linear(in_features, out_features, bias)``.

    Forward ``Y = X W^T + b`` with X ``(N, in)``, W ``(out, in)``, b ``(out,)``, Y ``(N, out)``.
    Backward, from ``dY = dC/dY`` ``(N, out)`` (the book's BP3/BP4 summed over the batch):
    ``dW += dY^T X``, ``db += sum_n dY[n]``, and ``dX = dY W`` is returned.
    Default initialisation is torch's: every entry ``U(-1/sqrt(in), 1/sqrt(in))``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype=np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear: sizes must be positive, got in={in_features}, out={out_features}"
            )
        self.in_features, self.out_features = in_features, out_features
        self._name = f"Linear({in_features}, {out_features})"
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(
            rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype)
        )
        self.bias = (
            Parameter(rng.uniform(-bound, bound, out_features).astype(dtype)) if bias else None
        )
        self._params["bias"] = self.bias

    @property
    def name(self) -> str:
        """How errors name this layer: ``Linear(in, out)`` (formatted once: it is read every call)."""
        return self._name

    # --8<-- [start:linear]
    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y = X W^T + b``: X ``(N, in)`` -> Y ``(N, out)``; saves X for backward."""
        W = self.weight.data
        check_input(self.name, X, 2, W.dtype, self.in_features, weight_shape=W.shape)
        X = ops.contiguous(X)
        Y = ops.gemm_nt(X, W, self.output_array("Y", (X.shape[0], self.out_features), W.dtype), 0.0)  # (N, out)
        if self.bias is not None:
            ops.bias_act_forward(Y, self.bias.data, IDENTITY, Y)  # (N, out) += b, in place
        self.save(X=X)
        return Y

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """Accumulate ``dW += dY^T X`` (BP4) and ``db += sum_n dY`` (BP3); return ``dX = dY W``."""
        X = self.saved_for_backward()["X"]
        check_grad(self.name, dY, (X.shape[0], self.out_features))
        dY = ops.contiguous(dY, X.dtype)
        dW, beta = self.weight.grad_to_write()  # beta 0 when unset: written, never cleared
        ops.gemm_tn(dY, X, dW, beta)  # (out, in) (+)= (N, out)^T (N, in)
        if self.bias is not None:
            ops.bias_backward(dY, self.bias.grad_to_add())  # (out,) += sum_n dY[n]
        if not needs_input_grad:
            return None
        return ops.gemm_nn(dY, self.weight.data, self.output_array("dX", X.shape, X.dtype), 0.0)  # (N, in)

    # --8<-- [end:linear]

    def extra_repr(self) -> str:
        """``in_features=..., out_features=..., bias=...`` as torch prints it."""
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"
