"""kernels/machine.py: the register tile and blocking follow the rule of its docstring, per machine.

The rule is tested on described machines (no CPU needed), and on this one through a subprocess
that compiles for an AVX2-only target, where the kernels must still equal NumPy.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import pytest

from scratchnet import cli
from scratchnet.kernels import machine as mach

AVX512 = "+avx2,+fma,+avx512f,+avx512bw"
AVX2 = "+avx2,+fma,-avx512f,-avx512bw"


def described(features: str, l1d: int = 48 * 1024, l2: int = 2 << 20, vendor: str = "GenuineIntel",
              family: int = 6, model: int = 143) -> mach.Machine:
    return mach.Machine(vendor=vendor, family=family, model=model, model_name="test CPU", flags=frozenset(),
                        target_cpu="test", target_features=features, l1d=l1d, l2=l2, l3=32 << 20)


@pytest.mark.parametrize(("features", "l1d", "expected"), [
    (AVX512, 48 * 1024, (64, 8, 2, 256, (4, 4))),   # Zen 5, Sapphire Rapids: the tuned shape
    (AVX512, 32 * 1024, (64, 8, 2, 160, (4, 4))),   # Zen 4, Skylake-X: a 21 KiB panel at most
    (AVX2, 32 * 1024, (32, 6, 2, 256, (4, 2))),     # Haswell to Zen 3: 16 registers
    (AVX2, 0, (32, 6, 2, 256, (4, 2))),             # no sysfs: the measured default
])
def test_the_rule(features: str, l1d: int, expected: tuple) -> None:
    p = mach.plan_for(described(features, l1d))
    assert (p.vector_bytes, p.mr, p.nv, p.kc, (p.dr, p.dc)) == expected
    regs = 32 if "+avx512f" in features else 16
    assert p.mr * p.nv + p.nv + 1 <= regs and p.dr * p.dc + p.dr + p.dc <= regs  # nothing spills
    assert p.kc * p.nv * p.vector_bytes <= max(2 * l1d // 3, 32 * 1024)  # the B panel fits its share of L1
    assert p.conv_image == 2 * (l1d or 32 * 1024) // 3  # a padded image the convolution keeps in L1
    assert len(p.reasons) == 8 and all(str(n) in p.explain() for n in (p.mr, p.kc, p.mc, p.nc))


def test_zen4_is_named_as_splitting_512_bit_work() -> None:
    zen4 = described(AVX512, 32 * 1024, 1 << 20, vendor="AuthenticAMD", family=25, model=17)
    assert zen4.splits_512 and not dataclasses.replace(zen4, family=26).splits_512
    assert "two 256-bit halves" in mach.plan_for(zen4).explain()


def test_a_small_l2_shrinks_the_a_block() -> None:
    p = mach.plan_for(described(AVX512, l2=256 * 1024))
    assert p.mc * p.kc * 8 <= 128 * 1024 and p.mc % p.mr == 0


def test_the_avx2_features_turn_avx512_off_and_keep_the_rest() -> None:
    features = mach.avx2_features().split(",")
    assert not [f for f in features if f.startswith("+avx512")]
    assert ("+avx2" in features) == ("+avx2" in mach.llvm.get_host_cpu_features().flatten().split(","))
    with pytest.raises(ValueError, match="unknown CPU target 'arm': expected 'native' or 'haswell'"):
        mach.emulation_env("arm")


def test_this_process_compiles_with_the_plan_of_its_machine() -> None:
    from scratchnet.kernels import matmul, microkernel, vector_ir

    p = mach.plan()
    assert (vector_ir.VECTOR_BYTES, microkernel.MR, microkernel.NV, microkernel.DR, microkernel.DC) == \
        (p.vector_bytes, p.mr, p.nv, p.dr, p.dc)
    assert (matmul.KC, matmul.MC, matmul.NC) == (p.kc, p.mc, p.nc)


def test_bench_explain_prints_the_plan_for_the_target(capfd) -> None:
    assert cli.main(["bench", "--explain", "--target", "haswell"]) == 0
    out = capfd.readouterr().out
    assert "Numba target haswell, AVX2 (32-byte vectors)" in out and "MR x NV = 6 x 2" in out


def test_the_kernels_compiled_for_avx2_equal_numpy(tmp_path) -> None:
    """The 6 x 2 tile and the 4 x 2 dot tile, compiled as for an AVX2-only CPU (its own Numba cache)."""
    code = textwrap.dedent("""
        import numpy as np
        from scratchnet.kernels import matmul, microkernel, vector_ir
        from scratchnet.nn import Conv2d
        assert (vector_ir.VECTOR_BYTES, microkernel.MR) == (32, 6), (vector_ir.VECTOR_BYTES, microkernel.MR)
        rng = np.random.default_rng(0)
        for dtype in (np.float32, np.float64):
            for M, K, N in ((1, 1, 1), (7, 33, 17), (13, 300, 70), (64, 257, 129)):
                A, B = rng.standard_normal((M, K)).astype(dtype), rng.standard_normal((K, N)).astype(dtype)
                tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
                np.testing.assert_allclose(matmul.gemm_nn(A, B, np.empty((M, N), dtype), 0.0), A @ B, **tol)
                np.testing.assert_allclose(matmul.gemm_tn(np.ascontiguousarray(A.T), B, np.empty((M, N), dtype), 0.0),
                                           A @ B, **tol)
                np.testing.assert_allclose(matmul.gemm_nt(A, np.ascontiguousarray(B.T), np.empty((M, N), dtype),
                                                          0.0), A @ B, **tol)
        conv = Conv2d(3, 5, (3, 2), padding=(1, 0), dtype=np.float64, rng=rng)
        X = rng.standard_normal((2, 3, 7, 6))
        Y = conv(X)
        conv.algorithm = "im2col"
        np.testing.assert_allclose(conv(X), Y, rtol=1e-12, atol=1e-12)
        dX = conv.backward(np.ones_like(Y))
        print("ok", dX.shape)
    """)
    env = {**os.environ, **mach.emulation_env("haswell"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok (2, 3, 7, 6)"


def test_native_measures_the_cpu_as_it_is_whatever_the_shell_set() -> None:
    """A machine whose profile exports OPENBLAS_CORETYPE=Haswell (one of this project's did) would
    otherwise benchmark OpenBLAS's AVX2 kernels on an AVX-512 CPU and call it native."""
    shell = {"PATH": "/bin", "OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "haswell", "OPENBLAS_L2_SIZE": "512"}
    env, dropped = mach.bench_env("native", shell)
    assert dropped == {"OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "haswell"}
    assert env == {"PATH": "/bin", "OPENBLAS_L2_SIZE": "512"}
    env, dropped = mach.bench_env("haswell", {"PATH": "/bin", "OPENBLAS_CORETYPE": "SkylakeX"})
    assert dropped == {} and env["OPENBLAS_CORETYPE"] == "Haswell" and env["NUMBA_CPU_NAME"] == "haswell"
    assert shell["OPENBLAS_CORETYPE"] == "Haswell"  # the caller's mapping is left alone
