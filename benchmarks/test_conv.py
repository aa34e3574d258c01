"""Each convolution layer of the zoo, forward + backward: scratchnet (direct and im2col) vs torch.

The layers of ``book_conv`` at the book's mini-batch of 10, of ``fashion_cnn`` at batch 64 and of
``cifar_cnn`` at batch 128, float32. One step is ``Y = conv(X)`` then ``backward(dY)``: the weight
(and bias) gradient, and the input gradient except for a network's first layer, where neither
library computes it.
``scratchnet`` is the default algorithm (direct, stride 1), ``scratchnet-im2col`` the same layer
through im2col + GEMM: the measurement behind the choice in ``scratchnet/kernels/conv.py``;
``scratchnet-reference`` the same layer on the reference tier (``kernels/reference/conv.py``).
``extra_info["gflops"]`` counts the useful multiply-adds of the forward and backward passes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scratchnet import kernels
from scratchnet.nn import Conv2d

# name: (batch, C_in, H, C_out, kernel, padding, bias)
LAYERS = {
    "book_conv conv1 b10": (10, 1, 28, 20, 5, 0, True),
    "book_conv conv2 b10": (10, 20, 12, 40, 5, 0, True),
    "fashion_cnn conv1 b64": (64, 1, 28, 32, 3, 1, False),
    "fashion_cnn conv2 b64": (64, 32, 14, 64, 3, 1, False),
    "fashion_cnn conv3 b64": (64, 64, 7, 64, 3, 1, False),
    "cifar_cnn conv1 b128": (128, 3, 32, 32, 3, 1, False),
    "cifar_cnn conv2 b128": (128, 32, 32, 32, 3, 1, False),
    "cifar_cnn conv3 b128": (128, 32, 32, 64, 3, 1, False),
    "cifar_cnn conv4 b128": (128, 64, 16, 128, 3, 1, False),
    "cifar_cnn conv5 b128": (128, 128, 16, 128, 3, 1, False),
    "cifar_cnn conv6 b128": (128, 128, 16, 256, 3, 1, False),
}
BACKENDS = ["scratchnet", "scratchnet-im2col", "scratchnet-reference", "torchnet-cpu"]
if torch.cuda.is_available():
    BACKENDS.append("torchnet-cuda")


def flops(N: int, C: int, H: int, Co: int, k: int, pad: int, first: bool) -> float:
    """2 multiply-adds per weight per output position, per pass (forward, dW, and dX unless first)."""
    Ho = H + 2 * pad - k + 1
    return 2.0 * N * Co * Ho * Ho * C * k * k * (2 if first else 3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_conv_layer(benchmark, layer: str, backend: str) -> None:
    N, C, H, Co, k, pad, bias = LAYERS[layer]
    if backend == "scratchnet-reference" and layer.startswith("cifar_cnn"):
        pytest.skip("the reference tier's loops take minutes on cifar_cnn's layers at batch 128; "
                    "parity_tests/test_conv_kernels.py proves the tiers equal")
    first = layer.endswith(("conv1 b10", "conv1 b64", "conv1 b128"))  # a network's first layer: no dX
    rng = np.random.default_rng(0)
    X = rng.random((N, C, H, H), dtype=np.float32)
    benchmark.group = f"conv {layer} (forward + backward)"
    benchmark.extra_info.update(backend=backend, shape=f"{N}x{C}x{H}x{H} -> {Co}, k{k} p{pad}")
    if backend.startswith("scratchnet"):
        conv = Conv2d(C, Co, k, padding=pad, bias=bias, rng=rng)
        if backend.endswith("im2col"):
            conv.algorithm = "im2col"
        dY = rng.standard_normal(conv(X).shape).astype(np.float32)

        def step():
            conv(X)
            return conv.backward(dY, needs_input_grad=not first)

        if backend.endswith("reference"):
            fast_step = step

            def step():
                with kernels.use("reference"):
                    return fast_step()
    else:
        device = "cuda" if backend.endswith("cuda") else "cpu"
        conv = torch.nn.Conv2d(C, Co, k, padding=pad, bias=bias).to(device)
        Xt = torch.from_numpy(X).to(device).requires_grad_(not first)
        dY = torch.randn(conv(Xt).shape, device=device)

        def step():
            conv(Xt).backward(dY)
            if device == "cuda":
                torch.cuda.synchronize()

    step()  # compile / warm up outside the timing
    benchmark(step)
    if benchmark.stats is not None:
        benchmark.extra_info["gflops"] = flops(N, C, H, Co, k, pad, first) / benchmark.stats.stats.median / 1e9
