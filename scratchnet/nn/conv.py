"""``Conv2d``, ``MaxPool2d``, ``AvgPool2d``: images ``(N, C, H, W)``, PyTorch's layouts and rules."""

from __future__ import annotations

import numpy as np

from ..kernels import ops, tiers
from ..kernels.conv import col2im, im2col, nchw_to_rows, out_size, rows_to_nchw
from .checks import as_pair, check_grad, check_input, pair_repr
from .module import Module, Parameter


def _window_check(layer: str, X: np.ndarray, k: tuple[int, int], stride: tuple[int, int],
                  pad: tuple[int, int]) -> tuple[int, int]:
    """``(H_out, W_out)`` of a ``k`` window swept over X ``(N, C, H, W)``; a ValueError when it does not fit."""
    H, W = X.shape[2], X.shape[3]
    Hp, Wp = H + 2 * pad[0], W + 2 * pad[1]
    if k[0] > Hp or k[1] > Wp:
        raise ValueError(f"{layer}: kernel {k[0]}x{k[1]} is larger than the padded input {Hp}x{Wp} "
                         f"(input shape {X.shape}, padding {pair_repr(pad)})")
    return out_size(H, k[0], stride[0], pad[0]), out_size(W, k[1], stride[1], pad[1])


def _channels(layer: str, argument: str, value: object) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise ValueError(f"{layer}: {argument} must be an int >= 1, got {value!r}")
    return int(value)


class Conv2d(Module):
    """``torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias)``.

    ``kernel_size``, ``stride`` and ``padding`` are each an int or an ``(h, w)`` pair, as in PyTorch
    (rectangular kernels included); ``padding`` may also be ``"valid"`` (none) or ``"same"`` (stride
    1 and odd kernel sizes: ``(kh // 2, kw // 2)``). Like torch's, the layer keeps them as pairs.

    Y ``(N, C_out, H_out, W_out)``, ``H_out = (H + 2 ph - kh) // sh + 1`` (and so for W):
    ``Y[n, o] = sum_c W[o, c] (*) X[n, c] + b[o]`` (cross-correlation).
    Backward: ``dW += dY (*) X``, ``db += sum dY``, ``dX = dY (*) rot180(W)`` (the full correlation).
    Stride 1 runs the direct kernels (``kernels.ops.conv2d_*``, on the active tier); other strides im2col + GEMM
    (``dW += dY_rows^T cols``, ``dX = col2im(dY_rows W)``), on the CPU tiers only.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 bias: bool = True, *, dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_channels = _channels("Conv2d", "in_channels", in_channels)
        self.out_channels = _channels("Conv2d", "out_channels", out_channels)
        self.kernel_size = as_pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = as_pair("Conv2d", "stride", stride, 1)
        self.padding = self._padding(padding)
        kh, kw = self.kernel_size
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / np.sqrt(in_channels * kh * kw)  # torch's default, fan_in
        shape = (out_channels, in_channels, kh, kw)
        self.weight = Parameter(rng.uniform(-bound, bound, shape).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_channels).astype(dtype)) if bias else None
        self._params["bias"] = self.bias
        # "direct" for stride 1 (every model here): kernels that read windows of the image in
        # place. Otherwise "im2col": each window copied into a row, then the GEMM. Either may be
        # set by hand where both apply (the benchmarks time both).
        self.algorithm = "direct" if self._direct_applies() else "im2col"

    def _padding(self, padding: object) -> tuple[int, int]:
        """``padding`` as ``(ph, pw)``: an int, a pair, ``"valid"`` or ``"same"`` (see the class)."""
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            if self.stride != (1, 1):
                raise ValueError(f"Conv2d: padding='same' needs stride 1 (as in PyTorch), got stride {self.stride}")
            if self.kernel_size[0] % 2 == 0 or self.kernel_size[1] % 2 == 0:
                raise ValueError(f"Conv2d: padding='same' needs odd kernel sizes here (an even one pads one side "
                                 f"more than the other, which these kernels do not do), got kernel_size "
                                 f"{self.kernel_size}; give padding as an int or a pair")
            return (self.kernel_size[0] // 2, self.kernel_size[1] // 2)
        try:
            return as_pair("Conv2d", "padding", padding, 0)
        except ValueError:
            raise ValueError(f"Conv2d: padding must be an int >= 0, a pair (h, w) of ints >= 0, 'valid' or "
                             f"'same', got {padding!r}") from None

    def _direct_applies(self) -> bool:
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        return self.stride == (1, 1) and ph <= kh - 1 and pw <= kw - 1

    @property
    def name(self) -> str:
        """How errors name this layer: ``Conv2d(in, out, k=3)``, ``Conv2d(in, out, k=(3, 2))``."""
        return f"Conv2d({self.in_channels}, {self.out_channels}, k={pair_repr(self.kernel_size)})"

    # --8<-- [start:conv2d]
    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y = W (*) X + b``: X ``(N, C_in, H, W)`` -> Y ``(N, C_out, H_out, W_out)``; saves X."""
        W = self.weight.data
        check_input(self.name, X, 4, W.dtype, self.in_channels, axis=1, what="channels")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = _window_check(self.name, X, self.kernel_size, self.stride, self.padding)
        N = X.shape[0]
        X = ops.contiguous(X)
        b = self.bias.data if self.bias is not None else ops.zeros((self.out_channels,), W.dtype)
        out = ops.empty((N, self.out_channels, Ho, Wo), W.dtype)                      # (N, C_out, Ho, Wo)
        if self.algorithm == "direct":
            if not self._direct_applies():
                raise ValueError(f"{self.name}: algorithm 'direct' needs stride 1 and padding <= "
                                 f"{pair_repr((kh - 1, kw - 1))}, got stride {pair_repr(self.stride)}, padding "
                                 f"{pair_repr(self.padding)} (use 'im2col')")
            self.save(X=X)
            return ops.conv2d_forward(X, W, b, ph, pw, out)
        if tiers.current() == tiers.CUDA:
            raise ValueError(f"{self.name}: the cuda tier runs stride-1 convolutions with padding <= "
                             f"{pair_repr((kh - 1, kw - 1))} only (its direct kernels), got stride "
                             f"{pair_repr(self.stride)}, padding {pair_repr(self.padding)}")
        cols = im2col(X, kh, kw, sh, sw, ph, pw, np.empty((N * Ho * Wo, W[0].size), W.dtype))  # (N*Ho*Wo, C*kh*kw)
        rows = ops.gemm_nt(cols, W.reshape(self.out_channels, -1), np.empty((len(cols), self.out_channels), W.dtype),
                       0.0)                                                           # (N*Ho*Wo, C_out)
        self.save(X=X, cols=cols)
        return rows_to_nchw(rows, b, out)

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """Accumulate ``dW += dY (*) X`` and ``db += sum dY``; return ``dX = dY (*) rot180(W)``."""
        saved = self.saved_for_backward()
        X = saved["X"]
        N, _, H, W_ = X.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = out_size(H, kh, sh, ph), out_size(W_, kw, sw, pw)
        check_grad(self.name, dY, (N, self.out_channels, Ho, Wo))
        dY = ops.contiguous(dY, X.dtype)
        if self.bias is not None:
            ops.conv2d_backward_bias(dY, self.bias.grad_to_add())                # (C_out,) += sum dY
        W = self.weight.data
        rows = None
        if "cols" not in saved:  # the direct kernels ran: forward checked that they apply
            ops.conv2d_backward_weight(X, dY, ph, pw, self.weight.grad_to_add())      # dW += dY (*) X
            if not needs_input_grad:
                return None
            # The fast full correlation runs over dY padded by kh - 1 - ph rows and kw - 1 - pw
            # columns: H x (Wo + 2(kw-1-pw)) positions for Ho x Wo of them that hold data. Past
            # twice the useful work (book_conv's second layer: 3x) scattering dY W back through
            # col2im is faster (benchmarks/test_conv.py). The other tiers always run their direct kernels.
            if tiers.current() != tiers.FAST or H * (Wo + 2 * (kw - 1 - pw)) <= 2 * Ho * Wo:
                return ops.conv2d_backward_input(dY, W, ph, pw, ops.empty(X.shape, X.dtype))
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
        return col2im(dcols, kh, kw, sh, sw, ph, pw, np.empty(X.shape, X.dtype))          # (N, C, H, W)
    # --8<-- [end:conv2d]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")


class _Pool(Module):
    """``kernel_size``, ``stride`` (default: the kernel size) and ``padding``: each an int or an
    ``(h, w)`` pair, kept as given (as torch's pooling layers keep them); the padding at most half
    the kernel in each dimension (PyTorch's rule)."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        layer = type(self).__name__
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding = padding
        self._k = as_pair(layer, "kernel_size", kernel_size, 1)
        self._s = as_pair(layer, "stride", self.stride, 1)
        self._p = as_pair(layer, "padding", padding, 0)
        if self._p[0] > self._k[0] // 2 or self._p[1] > self._k[1] // 2:
            raise ValueError(f"{layer}: padding {pair_repr(self._p)} must be at most half the kernel "
                             f"size {pair_repr(self._k)} (PyTorch's rule)")

    def _out(self, X: np.ndarray) -> np.ndarray:
        if not isinstance(X, ops.ARRAYS) or X.ndim != 4:
            raise ValueError(f"{self.name}: expected (N, C, H, W), got shape {getattr(X, 'shape', None)}")
        Ho, Wo = _window_check(self.name, X, self._k, self._s, self._p)
        return ops.empty((X.shape[0], X.shape[1], Ho, Wo), X.dtype)

    def _window(self) -> tuple[int, int, int, int, int, int]:
        """``(kh, kw, sh, sw, ph, pw)``, the kernels' arguments."""
        return (*self._k, *self._s, *self._p)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    """``torch.nn.MaxPool2d``: window maximum; the gradient goes to the first maximal input."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y[n, c, i, j] = max`` over window ``(i, j)``, ``(N, C, H_out, W_out)``; saves the winners."""
        out = self._out(X)
        argmax = ops.empty(out.shape, np.int64)  # (N, C, H_out, W_out), flat index into H x W
        self.save(x_shape=X.shape, argmax=argmax)
        return ops.maxpool_forward(ops.contiguous(X), *self._window(), out, argmax)

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dX`` ``(N, C, H, W)``: each ``dY`` value goes to its window's (first) maximum."""
        saved = self.saved_for_backward()
        check_grad(self.name, dY, saved["argmax"].shape)
        if not needs_input_grad:
            return None
        return ops.maxpool_backward(ops.contiguous(dY), saved["argmax"], ops.empty(saved["x_shape"], dY.dtype))


class AvgPool2d(_Pool):
    """``torch.nn.AvgPool2d`` (count_include_pad=True): window mean."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``Y[n, c, i, j] =`` the mean over window ``(i, j)`` (padding counted), ``(N, C, H_out, W_out)``."""
        out = self._out(X)
        self.save(x_shape=X.shape, y_shape=out.shape)
        return ops.avgpool_forward(ops.contiguous(X), *self._window(), out)

    def backward(self, dY: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dX`` ``(N, C, H, W)``: each ``dY`` value shared equally by its window's kh*kw inputs."""
        saved = self.saved_for_backward()
        check_grad(self.name, dY, saved["y_shape"])
        if not needs_input_grad:
            return None
        return ops.avgpool_backward(ops.contiguous(dY), *self._window(), ops.empty(saved["x_shape"], dY.dtype))
