"""``Conv2d``, ``MaxPool2d``, ``AvgPool2d``: images ``(N, C, H, W)``, PyTorch's layouts and rules."""

from __future__ import annotations

import numpy as np

from ..kernels import ops, tiers
from ..kernels.conv import col2im, im2col, nchw_to_rows, out_size, rows_to_nchw
from ..kernels.pool import avgpool_backward, avgpool_forward, maxpool_backward, maxpool_forward
from .checks import check_grad, check_input
from .module import Module, Parameter


def _window_check(layer: str, X: np.ndarray, k: int, stride: int, pad: int) -> tuple[int, int]:
    H, W = X.shape[2], X.shape[3]
    if k > H + 2 * pad or k > W + 2 * pad:
        raise ValueError(f"{layer}: kernel {k}x{k} is larger than the padded input {H + 2 * pad}x{W + 2 * pad} "
                         f"(input shape {X.shape}, padding {pad})")
    return out_size(H, k, stride, pad), out_size(W, k, stride, pad)


class Conv2d(Module):
    """``torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias)``, square kernels.

    Y ``(N, C_out, H_out, W_out)``: ``Y[n, o] = sum_c W[o, c] (*) X[n, c] + b[o]`` (cross-correlation).
    Backward: ``dW += dY (*) X``, ``db += sum dY``, ``dX = dY (*) rot180(W)`` (the full correlation).
    Stride 1 runs the direct kernels (``kernels.ops.conv2d_*``, on the active tier); other strides im2col + GEMM
    (``dW += dY_rows^T cols``, ``dX = col2im(dY_rows W)``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = True, *, dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if min(in_channels, out_channels, kernel_size, stride) < 1 or padding < 0:
            raise ValueError(f"Conv2d: invalid configuration in={in_channels}, out={out_channels}, "
                             f"kernel={kernel_size}, stride={stride}, padding={padding}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / np.sqrt(in_channels * kernel_size * kernel_size)  # torch's default, fan_in
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = Parameter(rng.uniform(-bound, bound, shape).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_channels).astype(dtype)) if bias else None
        self._params["bias"] = self.bias
        # "direct" for stride 1 (every model here): kernels that read windows of the image in
        # place. Otherwise "im2col": each window copied into a row, then the GEMM. Either may be
        # set by hand where both apply (the benchmarks time both).
        self.algorithm = "direct" if stride == 1 and padding <= kernel_size - 1 else "im2col"

    @property
    def name(self) -> str:
        """How errors name this layer: ``Conv2d(in, out, k=...)``."""
        return f"Conv2d({self.in_channels}, {self.out_channels}, k={self.kernel_size})"

    # --8<-- [start:conv2d]
    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y = W (*) X + b``: X ``(N, C_in, H, W)`` -> Y ``(N, C_out, H_out, W_out)``; saves X."""
        W = self.weight.data
        check_input(self.name, X, 4, W.dtype, self.in_channels, axis=1, what="channels")
        k, s, p = self.kernel_size, self.stride, self.padding
        Ho, Wo = _window_check(self.name, X, k, s, p)
        N = X.shape[0]
        X = np.ascontiguousarray(X)
        b = self.bias.data if self.bias is not None else np.zeros(self.out_channels, W.dtype)
        out = np.empty((N, self.out_channels, Ho, Wo), W.dtype)                       # (N, C_out, Ho, Wo)
        if self.algorithm == "direct":
            if s != 1 or p > k - 1:
                raise ValueError(f"{self.name}: algorithm 'direct' needs stride 1 and padding <= {k - 1}, "
                                 f"got stride {s}, padding {p} (use 'im2col')")
            self.save(X=X)
            return ops.conv2d_forward(X, W, b, p, out)
        cols = im2col(X, k, k, s, p, np.empty((N * Ho * Wo, W[0].size), W.dtype))  # (N*Ho*Wo, C*k*k)
        rows = ops.gemm_nt(cols, W.reshape(self.out_channels, -1), np.empty((len(cols), self.out_channels), W.dtype),
                       0.0)                                                           # (N*Ho*Wo, C_out)
        self.save(X=X, cols=cols)
        return rows_to_nchw(rows, b, out)

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """Accumulate ``dW += dY (*) X`` and ``db += sum dY``; return ``dX = dY (*) rot180(W)``."""
        saved = self.saved_for_backward()
        X = saved["X"]
        N, _, H, W_ = X.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        Ho, Wo = out_size(H, k, s, p), out_size(W_, k, s, p)
        check_grad(self.name, dY, (N, self.out_channels, Ho, Wo))
        dY = np.ascontiguousarray(dY, dtype=X.dtype)
        if self.bias is not None:
            self.bias.grad_to_add()[...] += dY.sum(axis=(0, 2, 3))               # (C_out,)
        W = self.weight.data
        rows = None
        if "cols" not in saved:  # the direct kernels ran: forward checked that they apply
            ops.conv2d_backward_weight(X, dY, p, self.weight.grad_to_add())           # dW += dY (*) X
            if not needs_input_grad:
                return None
            # The fast full correlation runs over dY padded by k - 1 - p: H x (Wo + 2(k-1-p))
            # positions for Ho x Wo of them that hold data. Past twice the useful work (book_conv's
            # second layer: 3x) scattering dY W back through col2im is faster
            # (benchmarks/test_conv.py). The reference tier always runs its direct loops.
            if tiers.current() == tiers.REFERENCE or H * (Wo + 2 * (k - 1 - p)) <= 2 * Ho * Wo:
                return ops.conv2d_backward_input(dY, W, p, np.empty_like(X))
        else:
            cols = saved["cols"]
            rows = nchw_to_rows(dY, np.empty((len(cols), self.out_channels), X.dtype))     # (N*Ho*Wo, C_out)
            dW, beta = self.weight.grad_to_write()
            ops.gemm_tn(rows, cols, dW.reshape(self.out_channels, -1), beta)                  # (C_out, C*k*k)
            if not needs_input_grad:
                return None
        if rows is None:
            rows = nchw_to_rows(dY, np.empty((N * Ho * Wo, self.out_channels), X.dtype))
        dcols = ops.gemm_nn(rows, W.reshape(self.out_channels, -1), np.empty((len(rows), W[0].size), X.dtype), 0.0)
        return col2im(dcols, k, k, s, p, np.empty(X.shape, X.dtype))                      # (N, C, H, W)
    # --8<-- [end:conv2d]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")


class _Pool(Module):
    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        if padding > kernel_size // 2:
            raise ValueError(f"{type(self).__name__}: padding {padding} must be at most half the kernel "
                             f"size {kernel_size} (PyTorch's rule)")

    def _out(self, X: np.ndarray) -> np.ndarray:
        if not isinstance(X, np.ndarray) or X.ndim != 4:
            raise ValueError(f"{self.name}: expected (N, C, H, W), got shape {getattr(X, 'shape', None)}")
        Ho, Wo = _window_check(self.name, X, self.kernel_size, self.stride, self.padding)
        return np.empty((X.shape[0], X.shape[1], Ho, Wo), X.dtype)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    """``torch.nn.MaxPool2d``: window maximum; the gradient goes to the first maximal input."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y[n, c, i, j] = max`` over window ``(i, j)``, ``(N, C, H_out, W_out)``; saves the winners."""
        out = self._out(X)
        argmax = np.empty(out.shape, np.int64)  # (N, C, H_out, W_out), flat index into H x W
        self.save(x_shape=X.shape, argmax=argmax)
        return maxpool_forward(np.ascontiguousarray(X), self.kernel_size, self.stride, self.padding, out, argmax)

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dX`` ``(N, C, H, W)``: each ``dY`` value goes to its window's (first) maximum."""
        saved = self.saved_for_backward()
        check_grad(self.name, dY, saved["argmax"].shape)
        if not needs_input_grad:
            return None
        return maxpool_backward(np.ascontiguousarray(dY), saved["argmax"], np.empty(saved["x_shape"], dY.dtype))


class AvgPool2d(_Pool):
    """``torch.nn.AvgPool2d`` (count_include_pad=True): window mean."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y[n, c, i, j] =`` the mean over window ``(i, j)`` (padding counted), ``(N, C, H_out, W_out)``."""
        out = self._out(X)
        self.save(x_shape=X.shape, y_shape=out.shape)
        return avgpool_forward(np.ascontiguousarray(X), self.kernel_size, self.stride, self.padding, out)

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dX`` ``(N, C, H, W)``: each ``dY`` value shared equally by its window's k*k inputs."""
        saved = self.saved_for_backward()
        check_grad(self.name, dY, saved["y_shape"])
        if not needs_input_grad:
            return None
        return avgpool_backward(np.ascontiguousarray(dY), self.kernel_size, self.stride, self.padding,
                                np.empty(saved["x_shape"], dY.dtype))
