"""scratchnet's GEMM kernels against NumPy: all three products, both dtypes, beta 0 and 1.

Every element is checked against the float64 product with a bound that grows like sqrt(K)
times the size of the terms summed (``|op(A)| @ |op(B)|``): float64 at rtol 1e-10 (the gate),
float32 at rtol 1e-4 / atol 1e-5 (smoke). Sizes are chosen to land on every path of the kernel
(dot products, straight, packed, threaded) and on every remainder of the MR x NR micro-tile (microkernel.py).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from scratchnet.kernels.matmul import gemm_nn, gemm_nt, gemm_tn
from scratchnet.kernels.ops import matmul

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
EXAMPLES = {"ci": 50, "dev": 10, "thorough": 500}.get(PROFILE, 10)
KERNELS = {"nn": gemm_nn, "nt": gemm_nt, "tn": gemm_tn}
TOL = {np.float64: (1e-10, 0.0), np.float32: (1e-4, 1e-5)}  # (rtol, atol) per notes/architecture.md


def operands(variant: str, M: int, K: int, N: int, dtype, seed: int = 0):
    """A, B in the layout the variant takes, so that op(A) is (M, K) and op(B) is (K, N)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((K, M) if variant == "tn" else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if variant == "nt" else (K, N)).astype(dtype)
    return A, B


def ops(variant: str, A: np.ndarray, B: np.ndarray):
    """op(A), op(B) as float64 views, for the reference."""
    a = (A.T if variant == "tn" else A).astype(np.float64)
    b = (B.T if variant == "nt" else B).astype(np.float64)
    return a, b


def check(got: np.ndarray, variant: str, A, B, C0, beta: float) -> None:
    """|got - ref| <= rtol * sqrt(K) * (|op(A)| @ |op(B)| + |beta C0|) + atol, elementwise."""
    a, b = ops(variant, A, B)
    K = a.shape[1]
    ref = a @ b + (beta * C0.astype(np.float64) if beta else 0.0)  # (M, N)
    scale = np.abs(a) @ np.abs(b) + (np.abs(C0) if beta else 0.0)  # (M, N)
    rtol, atol = TOL[got.dtype.type]
    err = np.abs(got - ref)
    bound = rtol * np.sqrt(max(K, 1)) * scale + atol
    bad = np.argwhere(~(err <= bound))
    first = tuple(bad[0]) if bad.size else None
    assert bad.size == 0, (f"{variant} {a.shape}x{b.shape} {got.dtype} beta={beta}: {len(bad)} "
                           f"elements off, first at {first}: ours {got[first]!r}, "
                           f"numpy {ref[first]!r}")


def run(variant: str, M: int, K: int, N: int, dtype, beta: float, seed: int = 0) -> None:
    A, B = operands(variant, M, K, N, dtype, seed)
    if beta == 0.0:
        C0 = np.full((M, N), np.nan, dtype)  # beta = 0 must ignore old contents, even NaN
    else:
        C0 = np.random.default_rng(seed + 1).standard_normal((M, N)).astype(dtype)
    out = C0.copy()
    ret = KERNELS[variant](A, B, out, beta)
    assert ret.shape == (M, N) and ret.dtype == dtype
    check(out, variant, A, B, C0, beta)


SIZES = [1, 3, 17, 65, 130]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variant", ["nn", "nt", "tn"])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_odd_sizes(variant: str, dtype, beta: float) -> None:
    """Every combination of sizes that are not multiples of the blocks (1, 3, 17, 65, 130)."""
    for M in SIZES:
        for K in SIZES:
            for N in SIZES:
                run(variant, M, K, N, dtype, beta, seed=M * 10_000 + K * 100 + N)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("variant", "M", "K", "N"), [
    ("nt", 10, 784, 30), ("tn", 30, 10, 784), ("nn", 10, 30, 784),        # book_mlp, batch 10
    ("nt", 128, 784, 100), ("tn", 100, 128, 784), ("nn", 128, 100, 784),  # book_mlp100, batch 128
    ("nn", 200, 300, 600), ("tn", 300, 270, 530), ("nt", 150, 520, 300),  # threads, several tiles
])
def test_mlp_and_tiled_shapes(variant: str, M: int, K: int, N: int, dtype) -> None:
    """The book's layer shapes, and problems that span several K and J tiles on two threads."""
    run(variant, M, K, N, dtype, 0.0)
    run(variant, M, K, N, dtype, 1.0)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=PROFILE == "ci")
@given(variant=st.sampled_from(["nn", "nt", "tn"]), M=st.integers(1, 40), K=st.integers(1, 40),
       N=st.integers(1, 40), dtype=st.sampled_from([np.float64, np.float32]),
       beta=st.sampled_from([0.0, 1.0]), seed=st.integers(0, 2**16))
def test_drawn_shapes(variant: str, M: int, K: int, N: int, dtype, beta: float, seed: int) -> None:
    run(variant, M, K, N, dtype, beta, seed)


def test_beta_one_accumulates_exactly_the_product() -> None:
    """Two calls with beta = 1 on a zero out give twice the product: accumulation, not overwrite."""
    A, B = operands("tn", 7, 5, 9, np.float64)
    out = np.zeros((7, 9))
    gemm_tn(A, B, out, 1.0)
    once = out.copy()
    gemm_tn(A, B, out, 1.0)
    np.testing.assert_allclose(out, 2 * once, rtol=1e-15)
    check(once, "tn", A, B, np.zeros((7, 9)), 0.0)


def test_callable_from_njit() -> None:
    """The kernels are plain @njit functions: another kernel can call them."""
    @njit(cache=False)
    def linear(X, W, Y):
        gemm_nt(X, W, Y, 0.0)  # (N, out) = (N, in) (out, in)^T
        return Y

    X, W = operands("nt", 5, 6, 3, np.float64)
    Y = linear(X, W, np.full((5, 3), np.nan))
    check(Y, "nt", X, W, np.zeros((5, 3)), 0.0)


@pytest.mark.parametrize(("trans_a", "trans_b"), [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wrapper_allocates_and_accumulates(trans_a: bool, trans_b: bool, dtype) -> None:
    """matmul() returns a fresh (M, N) array, or accumulates into out with beta = 1."""
    variant = "tn" if trans_a else "nt" if trans_b else "nn"
    A, B = operands(variant, 6, 11, 4, dtype)
    got = matmul(A, B, trans_a=trans_a, trans_b=trans_b)
    assert got.shape == (6, 4) and got.dtype == dtype
    check(got, variant, A, B, np.zeros((6, 4), dtype), 0.0)
    C0 = np.ones((6, 4), dtype)
    out = C0.copy()
    assert matmul(A, B, trans_a=trans_a, trans_b=trans_b, out=out, beta=1.0) is out
    check(out, variant, A, B, C0, 1.0)


@pytest.mark.parametrize(("args", "kwargs", "error", "message"), [
    ((np.zeros((2, 3)), np.zeros((4, 5))), {}, ValueError,
     r"matmul: inner dimensions differ: op\(A\) is \(2, 3\) and op\(B\) is \(4, 5\) "
     r"\(A \(2, 3\), B \(4, 5\), trans_a=False, trans_b=False\)"),
    ((np.zeros((3, 2)), np.zeros((4, 5))), {"trans_a": True}, ValueError,
     r"op\(A\) is \(2, 3\) and op\(B\) is \(4, 5\) \(A \(3, 2\), B \(4, 5\), trans_a=True"),
    ((np.zeros((2, 3)), np.zeros((3, 5), np.float32)), {}, TypeError,
     "matmul: A is float64 but B is float32"),
    ((np.zeros((2, 3), np.float16), np.zeros((3, 5), np.float16)), {}, TypeError,
     "matmul: A must be float32 or float64, got float16"),
    ((np.zeros((2, 3), np.int64), np.zeros((3, 5))), {}, TypeError,
     "matmul: A must be float32 or float64, got int64"),
    ((np.zeros((2, 6))[:, ::2], np.zeros((3, 2))), {}, ValueError,
     r"matmul: A must be C-contiguous \(use np.ascontiguousarray\); shape \(2, 3\)"),
    ((np.zeros((2, 3)), np.zeros((2, 3)).T), {}, ValueError,
     r"matmul: B must be C-contiguous .*shape \(3, 2\)"),
    ((np.zeros(3), np.zeros((3, 2))), {}, ValueError, r"matmul: A must be a 2-D array, got \(3,\)"),
    ((np.zeros((2, 3)), np.zeros((1, 3, 2))), {}, ValueError,
     r"matmul: B must be a 2-D array, got \(1, 3, 2\)"),
    ((np.zeros((2, 3)), [[1.0], [2.0], [3.0]]), {}, ValueError,
     "matmul: B must be a 2-D array, got list"),
    ((np.zeros((2, 3)), np.zeros((3, 4))), {"out": np.zeros((2, 5))}, ValueError,
     r"matmul: out must be a C-contiguous float64 array of shape \(2, 4\), got float64 \(2, 5\)"),
    ((np.zeros((2, 3)), np.zeros((3, 4))), {"out": np.zeros((2, 4), np.float32)}, ValueError,
     r"out must be a C-contiguous float64 array of shape \(2, 4\), got float32 \(2, 4\)"),
    ((np.zeros((2, 3)), np.zeros((3, 4))), {"trans_a": True, "trans_b": True}, ValueError,
     "matmul: trans_a and trans_b together are not supported"),
])
def test_wrapper_errors(args, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        matmul(*args, **kwargs)


def test_wrapper_general_beta() -> None:
    """beta other than 0 and 1 scales out first, like torch.addmm's beta."""
    A, B = operands("nn", 4, 5, 6, np.float64)
    C0 = np.random.default_rng(3).standard_normal((4, 6))
    out = C0.copy()
    matmul(A, B, out=out, beta=0.5)
    check(out, "nn", A, B, C0, 0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_batch_overflow_stays_inf(dtype) -> None:
    """The dot-product path (the book's mini-batch of 10) keeps an overflow as inf, as NumPy does.

    Its running sum once started from ``out[i, j] - out[i, j]``: after a first depth block
    had overflowed out to inf, that "zero" was NaN. K spans two KC blocks so the second one
    sees the inf.
    """
    M, K, N = 10, 2 * 256 + 3, 7
    big = np.finfo(dtype).max / 4
    A = np.full((M, K), big, dtype=dtype)
    B = np.full((N, K), 2.0, dtype=dtype)
    with np.errstate(over="ignore"):
        expected = A.astype(np.float64) @ B.T.astype(np.float64)
        expected = expected.astype(dtype)
    got = matmul(A, B, trans_b=True)
    assert np.isposinf(expected).all()
    assert np.isposinf(got).all(), f"ours {got[0, :3]} numpy {expected[0, :3]}"
