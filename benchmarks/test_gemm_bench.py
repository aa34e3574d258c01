"""GEMM throughput: scratchnet's kernels against NumPy's BLAS and torch, one group per shape.

Square sizes 256-2048 and the MLP shapes of the book's networks, each transposition variant.
``scratchnet-reference`` is the reference tier's three loops (``kernels/reference/gemm.py``), so
each group also shows what the fast tier gains over it (squares up to 512: beyond, the loops take seconds).
Under ``--benchmark-disable`` (CI) only the small shapes run, once, so the code cannot rot.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from scratchnet.kernels import ops
from scratchnet.kernels.matmul import gemm_nn, gemm_nt, gemm_tn

SQUARE = [256, 512, 1024, 2048]
# (variant, M, K, N) of op(A) @ op(B) in the book's MLPs: forward X W^T ("nt"), weight gradient
# dY^T X ("tn"), input gradient dY W ("nn"), for each layer of book_mlp at batch 10 and
# book_mlp100 at batch 128.
MLP = {}
for model, batch, layers in (("book_mlp", 10, [(784, 30), (30, 10)]),
                             ("book_mlp100", 128, [(784, 100), (100, 10)])):
    for n_in, n_out in layers:
        MLP[f"{model} b{batch} {n_in}->{n_out} fwd"] = ("nt", batch, n_in, n_out)
        MLP[f"{model} b{batch} {n_in}->{n_out} dW"] = ("tn", n_out, batch, n_in)
        MLP[f"{model} b{batch} {n_in}->{n_out} dX"] = ("nn", batch, n_out, n_in)
CASES = [(f"square {n} {v}", v, n, n, n) for n in SQUARE for v in ("nn", "nt", "tn")] + \
        [(name, *shape) for name, shape in MLP.items()]
BACKENDS = ["scratchnet", "scratchnet-reference", "numpy", "torchnet-cpu"]
if torch.cuda.is_available():
    BACKENDS.append("torchnet-cuda")


def operands(variant: str, M: int, K: int, N: int, dtype=np.float32):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((K, M) if variant == "tn" else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if variant == "nt" else (K, N)).astype(dtype)
    return A, B, np.empty((M, N), dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("group", "variant", "M", "K", "N"), CASES, ids=[c[0] for c in CASES])
def test_gemm(benchmark, request, backend: str, group: str, variant: str,
              M: int, K: int, N: int) -> None:
    """``op(A) @ op(B)`` of one shape on one backend; extra_info["gflops"] = 2 M N K / median."""
    if (request.config.getoption("benchmark_disable") and max(M, K, N) > 256
            and group.startswith("square")):
        pytest.skip("large square GEMMs run only with --benchmark-only (CI runs each once, small)")
    if backend == "scratchnet-reference" and group.startswith("square") and M > 512:
        pytest.skip("the reference tier's three loops take seconds past 512; its gain is measured below that")
    A, B, out = operands(variant, M, K, N)
    benchmark.group = f"gemm {group}"
    benchmark.extra_info.update(backend=backend, shape=f"{variant} {M}x{K}x{N}")
    if backend.startswith("scratchnet"):
        kernel = {"nn": gemm_nn, "nt": gemm_nt, "tn": gemm_tn}[variant]
        if backend == "scratchnet-reference":
            kernel = ops.TWINS[kernel.__name__][0]
        kernel(A, B, out, 0.0)  # compile outside the timing
        with threadpool_limits(1, user_api="blas"):  # BLAS threads idle while Numba's run
            benchmark(kernel, A, B, out, 0.0)
        reference = (A.T if variant == "tn" else A) @ (B.T if variant == "nt" else B)  # (M, N)
        np.testing.assert_allclose(out, reference,
                                   rtol=1e-3, atol=1e-3 * np.sqrt(K))
    elif backend == "numpy":
        a, b = (A.T if variant == "tn" else A), (B.T if variant == "nt" else B)
        benchmark(np.matmul, a, b, out=out)
    else:
        device = "cuda" if backend.endswith("cuda") else "cpu"
        a, b = torch.from_numpy(A).to(device), torch.from_numpy(B).to(device)
        a, b = (a.T if variant == "tn" else a), (b.T if variant == "nt" else b)
        # like the other rows, the product goes into a preallocated output (no allocation timed)
        c = torch.from_numpy(out) if device == "cpu" else torch.empty(M, N, device=device)

        def run():
            torch.matmul(a, b, out=c)
            if device == "cuda":
                torch.cuda.synchronize()
            return c

        benchmark(run)
        np.testing.assert_allclose(c.cpu().numpy(), (A.T if variant == "tn" else A) @ (B.T if variant == "nt" else B),
                                   rtol=1e-3, atol=1e-3 * np.sqrt(K))
    stats = benchmark.stats
    if stats is not None:
        benchmark.extra_info["gflops"] = 2.0 * M * N * K / stats.stats.median / 1e9
