"""One thread, one process: scratchnet against OpenBLAS (GEMM) or torch (convolutions), interleaved.

    python benchmarks/one_thread.py gemm nn,nt,tn 1024x1024x1024 128x784x100
    python benchmarks/one_thread.py conv "fashion_cnn conv2 b64" "book_conv conv1 b10"

Each library runs seven times in turn, timed with ``time.thread_time`` (the CPU time of this
thread, which another process on the machine does not inflate), and each keeps its best; the
line printed is ``other ÷ scratchnet`` (above 1 scratchnet is faster). For before/after
comparisons of the kernels on a shared machine, where pytest-benchmark's wall-clock medians of
two-thread runs move by ±15 %; the benchmarks remain the record.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # before NumPy, Numba or torch start their threads (not when a test imports it)
    for _var in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402

# The layers run when none is named (RESULTS.md's before/after tables): seven of
# benchmarks/test_conv.py's LAYERS, whose whole list takes minutes on one thread.
DEFAULT_CONV_LAYERS = ("book_conv conv1 b10", "book_conv conv2 b10", "cifar_cnn conv1 b128", "cifar_cnn conv4 b128",
                       "fashion_cnn conv1 b64", "fashion_cnn conv2 b64", "fashion_cnn conv3 b64")


def best_of(fn, reps: int, rounds: int = 7, clock=time.thread_time) -> float:
    """The best time of ``reps`` calls by ``clock``, over ``rounds`` rounds, per call."""
    best = float("inf")
    for _ in range(rounds):
        t0 = clock()
        for _ in range(reps):
            fn()
        best = min(best, (clock() - t0) / reps)
    return best


def interleaved(ours, theirs, seconds: float = 0.15, rounds: int = 7, clock=time.thread_time) -> tuple[float, float]:
    """Best per-call time of each, the two taking turns ``rounds`` times. ``clock`` is this thread's
    CPU time by default; with more than one thread the work of the others is not in it, so
    several threads are timed by the wall clock (``time.perf_counter``)."""
    ours(), theirs()
    t0 = clock()
    ours()
    reps = max(2, int(seconds / max(clock() - t0, 1e-6)))
    a = b = float("inf")
    for _ in range(rounds):
        a = min(a, best_of(ours, reps, 1, clock))
        b = min(b, best_of(theirs, reps, 1, clock))
    return a, b


def gemm_line(variant: str, M: int, K: int, N: int) -> str:
    """One product ``op(A) @ op(B)`` (M x K x N), float32: scratchnet's and OpenBLAS's GFLOP/s."""
    from scratchnet.kernels.matmul import gemm_nn, gemm_nt, gemm_tn

    rng = np.random.default_rng(0)
    A = rng.standard_normal((K, M) if variant == "tn" else (M, K)).astype(np.float32)
    B = rng.standard_normal((N, K) if variant == "nt" else (K, N)).astype(np.float32)
    out, ref = np.empty((M, N), np.float32), np.empty((M, N), np.float32)
    kernel = {"nn": gemm_nn, "nt": gemm_nt, "tn": gemm_tn}[variant]
    a, b = (A.T if variant == "tn" else A), (B.T if variant == "nt" else B)
    s, n = interleaved(lambda: kernel(A, B, out, 0.0), lambda: np.matmul(a, b, out=ref))
    flops = 2 * M * N * K
    return (f"gemm {variant} {M}x{K}x{N}: scratchnet {flops / s / 1e9:6.1f} GFLOP/s, "
            f"OpenBLAS {flops / n / 1e9:6.1f}, ratio {n / s:.2f}")


def conv_line(name: str) -> str:
    """One layer of ``benchmarks/test_conv.py``'s ``LAYERS``, forward + backward: scratchnet's and torch's times."""
    import torch
    from test_conv import LAYERS  # this script's folder is first on sys.path

    from scratchnet.nn import Conv2d

    torch.set_num_threads(1)
    N, C, H, Co, k, pad, bias = LAYERS[name]
    first = name.split()[1] == "conv1"  # a network's first layer: no input gradient
    rng = np.random.default_rng(0)
    X = rng.random((N, C, H, H), dtype=np.float32)
    layer = Conv2d(C, Co, k, padding=pad, bias=bias, rng=rng)
    dY = rng.standard_normal(layer(X).shape).astype(np.float32)
    tlayer = torch.nn.Conv2d(C, Co, k, padding=pad, bias=bias)
    Xt = torch.from_numpy(X).requires_grad_(not first)
    dYt = torch.randn(tlayer(Xt).shape)

    def ours() -> None:
        layer(X)
        layer.backward(dY, needs_input_grad=not first)

    s, t = interleaved(ours, lambda: tlayer(Xt).backward(dYt))
    return f"conv {name}: scratchnet {s * 1e3:8.3f} ms, torch {t * 1e3:8.3f} ms, ratio {t / s:.2f}"


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "gemm":
        for shape in argv[2:] or ["1024x1024x1024"]:
            for variant in argv[1].split(","):
                print(gemm_line(variant, *map(int, shape.split("x"))), flush=True)
    elif argv and argv[0] == "conv":
        for name in argv[1:] or DEFAULT_CONV_LAYERS:
            print(conv_line(name), flush=True)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
