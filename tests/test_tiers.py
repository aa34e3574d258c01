"""``kernels.tiers``: the switch, and every fast kernel equal to its reference twin.

Finite inputs: every element of the fast result lies within a rounding bound of the reference,
``4 K eps (|op(A)| @ |op(B)|)`` for a K-term sum (the same sums in another order and with fused
multiply-adds; a bound that is exact arithmetic's, not a tolerance tuned to pass). Non-finite
inputs (``inf``, ``NaN``, products that overflow): the two tiers and PyTorch put ``NaN``, ``+inf``
and ``-inf`` in the same places, and agree on the finite rest.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnet import kernels
from scratchnet.kernels import ops, tiers
from scratchnet.kernels import reference as _reference  # noqa: F401 - the package under test

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
EXAMPLES = {"ci": 50, "dev": 10, "thorough": 500}.get(PROFILE, 10)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=PROFILE == "ci")
GEMMS = ("gemm_nn", "gemm_tn", "gemm_nt")
CONVS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")


# --- the switch --------------------------------------------------------------------------------

def test_default_is_fast_and_use_switches_then_restores():
    assert tiers.current() == "fast"
    with kernels.use("reference"):
        assert tiers.current() == "reference"
        with kernels.use("fast"):
            assert tiers.current() == "fast"
        assert tiers.current() == "reference"
    assert tiers.current() == "fast"


def test_use_restores_after_an_error():
    with pytest.raises(KeyError), kernels.use("reference"):
        raise KeyError("inside")
    assert tiers.current() == "fast"


def test_an_unknown_tier_is_refused_by_name():
    with pytest.raises(ValueError, match=r"kernels.use: kernel tier must be one of reference, fast, cuda, got 'slow'$"):
        kernels.use("slow").__enter__()
    assert tiers.current() == "fast"


def test_the_entry_points_are_rebound_at_each_switch():
    for name, (reference, fast) in ops.TWINS.items():
        assert getattr(ops, name) is fast, name
        with kernels.use("reference"):
            assert getattr(ops, name) is reference, name
        assert getattr(ops, name) is fast, name


def test_no_code_imports_a_rebound_name_from_ops():
    """``from scratchnet.kernels.ops import conv2d_forward`` keeps the kernel of the tier active at
    import: a test that then switches tiers runs the fast kernel under the reference tier's name
    (parity_tests/test_conv_kernels.py did, and a mutant of the reference convolution survived
    it). Every rebound name is looked up as ``ops.NAME`` at the call."""
    import ast
    from pathlib import Path

    rebound = set(ops.TWINS) | set(ops.ONE_CPU_VERSION) | set(ops.ARRAY_HELPERS) | {"ARRAYS", "ARRAY"}
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("scratchnet", "torchnet", "tests", "parity_tests", "benchmarks"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module in ("scratchnet.kernels.ops", "ops", "kernels.ops"):
                    offenders += [f"{path.relative_to(root)}:{node.lineno} {a.name}" for a in node.names
                                  if a.name in rebound]
    assert not offenders, "import the module and call ops.NAME instead: " + ", ".join(offenders)


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_the_environment_variable_selects_the_tier_for_the_process():
    code = "from scratchnet.kernels import tiers; print(tiers.current())"
    assert _python(code, SCRATCHNET_KERNELS="reference").stdout.strip() == "reference"
    assert _python(code, SCRATCHNET_KERNELS="fast").stdout.strip() == "fast"
    bad = _python(code, SCRATCHNET_KERNELS="quick")
    assert bad.returncode != 0
    assert "environment variable SCRATCHNET_KERNELS: kernel tier must be one of reference, fast, cuda, got 'quick'" \
        in bad.stderr


def test_without_the_jit_the_default_is_reference_and_fast_is_refused():
    code = "from scratchnet.kernels import tiers; print(tiers.current())"
    assert _python(code, NUMBA_DISABLE_JIT="1", SCRATCHNET_KERNELS="").stdout.strip() == "reference"
    bad = _python(code, NUMBA_DISABLE_JIT="1", SCRATCHNET_KERNELS="fast")
    assert "the fast tier needs compiled kernels, but NUMBA_DISABLE_JIT=1" in bad.stderr


# --- GEMM: fast == reference ---------------------------------------------------------------------

def _gemm_operands(name: str, M: int, K: int, N: int, dtype, rng) -> tuple[np.ndarray, np.ndarray]:
    A = rng.standard_normal((K, M) if name == "gemm_tn" else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if name == "gemm_nt" else (K, N)).astype(dtype)
    return A, B


def _op(name: str, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """op(A) (M, K), op(B) (K, N)."""
    return (A.T if name == "gemm_tn" else A), (B.T if name == "gemm_nt" else B)


def _both(name: str, *args: np.ndarray, out: np.ndarray, beta: float | None = None):
    """The fast and the reference result of kernel ``name`` from copies of the same ``out``."""
    tail = () if beta is None else (beta,)
    reference, fast = ops.TWINS[name]
    results = []
    for kernel in (fast, reference):
        results.append(kernel(*args, out.copy(), *tail))
    return results


@SETTINGS
@given(name=st.sampled_from(GEMMS), M=st.integers(1, 40), K=st.integers(0, 300), N=st.integers(1, 40),
       dtype=st.sampled_from([np.float64, np.float32]), beta=st.sampled_from([0.0, 1.0, 0.5]),
       seed=st.integers(0, 2**16))
def test_gemm_fast_equals_reference_within_rounding(name, M, K, N, dtype, beta, seed):
    """Every path of the fast GEMM (dot products below 2 MR rows, packed, K over one KC block)."""
    rng = np.random.default_rng(seed)
    A, B = _gemm_operands(name, M, K, N, dtype, rng)
    out = rng.standard_normal((M, N)).astype(dtype)
    fast, ref = _both(name, A, B, out=out, beta=beta)
    a, b = _op(name, A.astype(np.float64), B.astype(np.float64))
    bound = 4 * (K + 2) * np.finfo(dtype).eps * (np.abs(a) @ np.abs(b) + abs(beta) * np.abs(out))
    assert np.all(np.abs(fast.astype(np.float64) - ref) <= bound), (name, M, K, N, dtype, beta)
    exact = a @ b + beta * out
    assert np.all(np.abs(ref - exact) <= bound)


def _finite_part(a: np.ndarray) -> np.ndarray:
    """|a| in float64 with its non-finite entries as 0: the terms a finite result can hold."""
    return np.nan_to_num(np.abs(a.astype(np.float64)), nan=0.0, posinf=0.0)


@SETTINGS
@given(name=st.sampled_from(GEMMS), M=st.sampled_from([1, 3, 10, 17, 40]), K=st.integers(1, 300),
       N=st.integers(1, 33), dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["inf", "-inf", "nan", "mixed", "overflow"]))
def test_gemm_non_finite_values_land_where_torch_puts_them(name, M, K, N, dtype, seed, kind):
    """``overflow``: entries ``big`` in A and B with ``big * big`` past the dtype's range (one
    sign only: with both, a fused multiply-add may keep ``-inf`` where separate ones give NaN,
    and every library may fuse)."""
    rng = np.random.default_rng(seed)
    A, B = _gemm_operands(name, M, K, N, dtype, rng)
    big = dtype(np.finfo(dtype).max ** 0.75)  # big * big overflows to inf; big * N(0, 1) does not
    flat = A.reshape(-1)
    hits = rng.integers(0, A.size, size=1 + A.size // 20)
    if kind == "overflow":
        flat[hits] = big
        B.reshape(-1)[rng.integers(0, B.size, size=1 + B.size // 20)] = big
    elif kind == "mixed":
        flat[hits] = rng.choice([np.inf, -np.inf, np.nan], size=hits.size)
    else:
        flat[hits] = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}[kind]
    out = np.full((M, N), np.nan, dtype)  # beta 0: never read, so this NaN must not show
    fast, ref = _both(name, A, B, out=out, beta=0.0)
    a, b = _op(name, A, B)
    theirs = (torch.from_numpy(np.ascontiguousarray(a)) @ torch.from_numpy(np.ascontiguousarray(b))).numpy()
    for label, ours in (("fast", fast), ("reference", ref)):
        for what, mask in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
            np.testing.assert_array_equal(mask(ours), mask(theirs), err_msg=f"{label} {name}: {what} positions")
    finite = np.isfinite(theirs)
    with np.errstate(over="ignore"):
        bound = 4 * (K + 2) * np.finfo(dtype).eps * (_finite_part(a) @ _finite_part(b))
    with np.errstate(invalid="ignore"):
        diff = np.abs(fast.astype(np.float64) - ref)
    assert np.all(diff[finite] <= bound[finite]), name


# --- convolution: fast == reference ---------------------------------------------------------------

@st.composite
def conv_cases(draw) -> dict:
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))  # rectangular kernels too
    ph, pw = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
    H, W = draw(st.integers(max(1, kh - 2 * ph), 12)), draw(st.integers(max(1, kw - 2 * pw), 12))
    return {"N": draw(st.integers(1, 3)), "C": draw(st.integers(1, 4)), "Co": draw(st.integers(1, 5)),
            "H": H, "W": W, "kh": kh, "kw": kw, "ph": ph, "pw": pw,
            "dtype": draw(st.sampled_from([np.float64, np.float32])), "seed": draw(st.integers(0, 2**16))}


def _conv_arrays(case: dict):
    rng = np.random.default_rng(case["seed"])
    N, C, Co, H, W, kh, kw, ph, pw, dtype = (case[key] for key in ("N", "C", "Co", "H", "W", "kh", "kw", "ph",
                                                                     "pw", "dtype"))
    Ho, Wo = H + 2 * ph - kh + 1, W + 2 * pw - kw + 1
    X = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((Co, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype)
    dY = rng.standard_normal((N, Co, Ho, Wo)).astype(dtype)
    return X, Wt, b, dY


def _conv_run(name: str, kernel, X, Wt, b, dY, pad: tuple[int, int], dW0: np.ndarray | None = None):
    if name == "conv2d_forward":
        return kernel(X, Wt, b, *pad, np.empty(dY.shape, X.dtype))
    if name == "conv2d_backward_input":
        return kernel(dY, Wt, *pad, np.empty(X.shape, X.dtype))
    return kernel(X, dY, *pad, (np.zeros(Wt.shape, X.dtype) if dW0 is None else dW0.copy()))


@SETTINGS
@given(name=st.sampled_from(CONVS), case=conv_cases())
def test_conv_fast_equals_reference_within_rounding(name, case):
    X, Wt, b, dY = _conv_arrays(case)
    pad, dtype = (case["ph"], case["pw"]), case["dtype"]
    reference, fast_kernel = ops.TWINS[name]
    dW0 = np.random.default_rng(1).standard_normal(Wt.shape).astype(dtype)  # backward_weight adds to it
    fast = _conv_run(name, fast_kernel, X, Wt, b, dY, pad, dW0)
    ref = _conv_run(name, reference, X, Wt, b, dY, pad, dW0)
    # the bound: the same sum of |terms|, from the reference on absolute values
    mag = _conv_run(name, reference, *(np.abs(a).astype(np.float64) for a in (X, Wt, b, dY)), pad,
                    np.abs(dW0).astype(np.float64))
    K = {"conv2d_forward": Wt[0].size, "conv2d_backward_input": Wt.shape[0] * Wt.shape[2] * Wt.shape[3],
         "conv2d_backward_weight": dY.shape[0] * dY.shape[2] * dY.shape[3]}[name]
    bound = 4 * (K + 2) * np.finfo(dtype).eps * mag
    assert np.all(np.abs(fast.astype(np.float64) - ref) <= bound), (name, case)


@pytest.mark.parametrize("name", CONVS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("in_l1", [True, False], ids=["image in L1", "image past L1"])
def test_conv_both_loop_orders_equal_the_reference(name, dtype, in_l1):
    """The direct convolution sweeps filters over a padded image that fits ``CONV_IMAGE`` (two
    thirds of this machine's L1d) and columns of windows over a larger one; the drawn cases above
    are all small, so each order gets a case of its own here, sized from this machine's plan."""
    from scratchnet.kernels.conv import CONV_IMAGE

    H = W = 10
    per_channel = (H + 2) * (W + 2) * np.dtype(dtype).itemsize  # padding 1 (forward and input gradient)
    C = 2 if in_l1 else CONV_IMAGE // per_channel + 1
    assert (C * per_channel <= CONV_IMAGE) == in_l1
    case = {"N": 2, "C": C, "Co": 11, "H": H, "W": W, "kh": 3, "kw": 3, "ph": 1, "pw": 1, "dtype": dtype, "seed": 7}
    if name == "conv2d_backward_input":  # its forward runs over dY's channels: make those the large side
        case["C"], case["Co"] = 11, C
    X, Wt, b, dY = _conv_arrays(case)
    reference, fast_kernel = ops.TWINS[name]
    dW0 = np.random.default_rng(1).standard_normal(Wt.shape).astype(dtype)
    fast = _conv_run(name, fast_kernel, X, Wt, b, dY, (1, 1), dW0)
    ref = _conv_run(name, reference, X, Wt, b, dY, (1, 1), dW0)
    mag = _conv_run(name, reference, *(np.abs(a).astype(np.float64) for a in (X, Wt, b, dY)), (1, 1),
                    np.abs(dW0).astype(np.float64))
    K = {"conv2d_forward": Wt[0].size, "conv2d_backward_input": Wt.shape[0] * 9,
         "conv2d_backward_weight": dY.shape[0] * dY.shape[2] * dY.shape[3]}[name]
    assert np.all(np.abs(fast.astype(np.float64) - ref) <= 4 * (K + 2) * np.finfo(dtype).eps * mag), name


def _torch_conv(name: str, X, Wt, dY, pad: tuple[int, int]) -> np.ndarray:
    x, w = torch.from_numpy(X), torch.from_numpy(Wt)
    if name == "conv2d_forward":
        return torch.nn.functional.conv2d(x, w, padding=pad).numpy()
    if name == "conv2d_backward_input":
        return torch.nn.grad.conv2d_input(X.shape, w, torch.from_numpy(dY), padding=pad).numpy()
    return torch.nn.grad.conv2d_weight(x, Wt.shape, torch.from_numpy(dY), padding=pad).numpy()


@SETTINGS
@given(name=st.sampled_from(CONVS), case=conv_cases(), kind=st.sampled_from(["inf", "-inf", "nan", "mixed"]))
def test_conv_non_finite_data_lands_where_torch_puts_it(name, case, kind):
    """``inf``/``NaN`` in the data operand (X forward, dY backward); filters stay finite. float64,
    where torch's CPU convolution is im2col + GEMM (no Winograd transform to smear a NaN)."""
    case = {**case, "dtype": np.float64}
    X, Wt, _, dY = _conv_arrays(case)
    rng = np.random.default_rng(case["seed"] + 1)
    data = X if name in ("conv2d_forward", "conv2d_backward_weight") else dY
    flat = data.reshape(-1)
    hits = rng.integers(0, flat.size, size=1 + flat.size // 15)
    flat[hits] = rng.choice([np.inf, -np.inf, np.nan], size=hits.size) if kind == "mixed" else \
        {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}[kind]
    zeros = np.zeros(Wt.shape[0], X.dtype)
    pad = (case["ph"], case["pw"])
    theirs = _torch_conv(name, X, Wt, dY, pad)
    results = {}
    for label, kernel in zip(("reference", "fast"), ops.TWINS[name], strict=True):
        results[label] = ours = _conv_run(name, kernel, X, Wt, zeros, dY, pad)
        for what, mask in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
            np.testing.assert_array_equal(mask(ours), mask(theirs), err_msg=f"{label} {name}: {what} positions")
    mag = _conv_run(name, ops.TWINS[name][0], _finite_part(X), _finite_part(Wt), zeros, _finite_part(dY), pad)
    finite = np.isfinite(theirs)
    bound = 4 * (Wt.size + dY.size + 2) * np.finfo(np.float64).eps * mag
    with np.errstate(invalid="ignore"):
        diff = np.abs(results["fast"] - results["reference"])
    assert np.all(diff[finite] <= bound[finite]), name


def test_reference_conv_skips_padding_taps_but_counts_every_real_one():
    """A 1x1 image, 3x3 filter, pad 1: the output is the centre tap times the pixel, plus b."""
    X = np.full((1, 1, 1, 1), 2.0)
    W = np.arange(9.0).reshape(1, 1, 3, 3)
    out = ops.TWINS["conv2d_forward"][0](X, W, np.array([0.5]), 1, 1, np.empty((1, 1, 1, 1)))
    assert out[0, 0, 0, 0] == 2.0 * 4.0 + 0.5


# --- the whole library on the reference tier ---------------------------------------------------------

def _zoo_steps(name: str, tier: str, steps: int = 2) -> tuple[list[float], dict[str, np.ndarray]]:
    """Two training steps of zoo model ``name`` in float64 on a fixed small batch."""
    from scratchnet import models
    from scratchnet.train import TrainConfig
    from scratchnet.train.scratch import make_backend

    config = TrainConfig(model=name, dtype="float64", seed=0).resolved()
    rng = np.random.default_rng(1)
    X = rng.random((4, *models.SPECS[name].input_shape))
    y = np.array([0, 1, 2, 3])
    with kernels.use(tier):
        backend = make_backend(config)
        losses = [backend.train_step(X, y)["loss"] for _ in range(steps)]
    return losses, backend.state()


@pytest.mark.parametrize("name", sorted(__import__("scratchnet.models", fromlist=["SPECS"]).SPECS))
def test_every_zoo_model_trains_the_same_on_the_reference_tier(name):
    """The losses of two SGD/Adam steps and every parameter, buffer and optimizer state after them,
    at the gradient gate (rtol 1e-8): a trajectory of two steps, not one product."""
    fast_losses, fast_state = _zoo_steps(name, "fast")
    ref_losses, ref_state = _zoo_steps(name, "reference")
    np.testing.assert_allclose(ref_losses, fast_losses, rtol=1e-10)
    assert fast_state.keys() == ref_state.keys()
    for key in fast_state:
        if np.asarray(fast_state[key]).dtype.kind in "fc":
            np.testing.assert_allclose(ref_state[key], fast_state[key], rtol=1e-8, atol=1e-12, err_msg=f"{name}: {key}")
        else:  # counters and the dropout generator's state: equal
            np.testing.assert_array_equal(ref_state[key], fast_state[key], err_msg=f"{name}: {key}")


_FORWARD_BACKWARD = """
import sys
import numpy as np
from scratchnet import models
from scratchnet.kernels import tiers
out = {"tier": np.array(tiers.current())}
for name in ("book_mlp", "book_conv"):
    model = models.build(name, dtype=np.float64, rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    X = rng.random((2, 1, 28, 28))
    Y = model(X)
    dX = model.backward(rng.standard_normal(Y.shape))
    out[name + "/Y"], out[name + "/dX"] = Y, dX
    for key, p in model.named_parameters():
        out[name + "/grad/" + key] = p.grad
np.savez(sys.argv[1], **out)
"""


@pytest.mark.slow
def test_without_the_jit_book_mlp_and_book_conv_give_the_jitted_results(tmp_path):
    """``NUMBA_DISABLE_JIT=1``: every kernel runs as Python (about a minute for book_conv); the
    output, the input gradient and every parameter gradient match the compiled reference tier
    (the same operations in the same order: rtol 1e-12, allowing the last bit of ``exp``) and the
    fast tier (rtol 1e-10)."""
    script = tmp_path / "forward_backward.py"
    script.write_text(_FORWARD_BACKWARD)
    results = {}
    for label, env in (("python", {"NUMBA_DISABLE_JIT": "1", "SCRATCHNET_KERNELS": ""}),
                       ("reference", {"SCRATCHNET_KERNELS": "reference"}), ("fast", {"SCRATCHNET_KERNELS": "fast"})):
        path = tmp_path / f"{label}.npz"
        run = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True,
                             timeout=900, env={**os.environ, **env})
        assert run.returncode == 0, run.stderr[-3000:]
        results[label] = dict(np.load(path))
    assert str(results["python"].pop("tier")) == "reference"
    assert str(results["reference"].pop("tier")) == "reference"
    assert str(results["fast"].pop("tier")) == "fast"
    assert results["python"].keys() == results["reference"].keys() == results["fast"].keys()
    for key, value in results["python"].items():
        np.testing.assert_allclose(value, results["reference"][key], rtol=1e-12, atol=1e-15, err_msg=key)
        np.testing.assert_allclose(value, results["fast"][key], rtol=1e-10, atol=1e-13, err_msg=key)


def test_the_vae_computes_the_same_on_both_tiers():
    """Outputs and every parameter gradient of ``models.vae`` with a shared ``eps``, float64."""
    from scratchnet import losses, models

    rng = np.random.default_rng(4)
    X, eps = rng.random((5, 784)), rng.standard_normal((5, 2))
    results = {}
    for tier in ("fast", "reference"):
        model = models.vae(hidden=40, dtype=np.float64, rng=np.random.default_rng(0))
        loss = losses.VAELoss(beta=4.0)
        with kernels.use(tier):
            X_hat, mu, logvar = model(X, eps)
            value = loss(X_hat, X, mu, logvar)
            model.backward(*loss.backward())
        results[tier] = [np.array(value), X_hat, mu, logvar] + [p.grad for p in model.parameters()]
    for i, (fast, ref) in enumerate(zip(results["fast"], results["reference"], strict=True)):
        np.testing.assert_allclose(ref, fast, rtol=1e-10, atol=1e-12, err_msg=f"array {i}")
