"""benchmarks/report.py: ratios from a pytest-benchmark JSON document."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_report", ROOT / "benchmarks" / "report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def bench(name: str, group: str, median: float, **extra) -> dict:
    return {"name": name, "group": group, "param": None, "stats": {"median": median}, "extra_info": extra}


def test_ratios_are_other_time_over_scratch_time(tmp_path: Path, capsys):
    doc = {"machine_info": {"scratchnet": {"cpu_model": "Test CPU", "cores": 2, "threads": 2, "numpy": "1",
                                           "numba": "2", "torch": "3", "blas": "OpenBLAS", "gpu": None}},
           "benchmarks": [bench("test_epoch[scratch]", "epoch", 0.5, backend="scratchnet", samples_per_s=2000.0),
                          bench("test_epoch[torch]", "epoch", 2.0, backend="torchnet-cpu", samples_per_s=500.0),
                          bench("test_mm_numpy", "mm 1024", 1.0, gflops=10.0),
                          bench("test_mm_scratch", "mm 1024", 1.25, gflops=8.0)]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    assert report.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "Machine: Test CPU, 2 cores" in out
    assert "| epoch | torchnet-cpu | 2000.000 ms | 500.0 samples/s | 4.00× |" in out
    assert "| epoch | scratchnet | 500.000 ms | 2,000.0 samples/s | 1.00× |" in out
    assert "| mm 1024 | numpy | 1000.000 ms | 10.0 GFLOP/s | 0.80× |" in out  # guessed backend


def test_unreadable_file_is_reported(tmp_path: Path, capsys):
    assert report.main([str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_the_report_names_the_cpu_family_model_and_vector_width(tmp_path: Path, capsys):
    desc = {"cpu_model": "AMD EPYC 9R14", "cores": 2, "threads": 2, "numpy": "1", "numba": "2", "torch": "3",
            "blas": "OpenBLAS", "gpu": None, "cpu_vendor": "AuthenticAMD", "cpu_family": 25, "cpu_model_number": 17,
            "cpu_flags": "avx2 avx512f fma", "numba_target": "haswell", "vector_bytes": 32,
            "kernel_plan": "MR x NV = 6 x 2, KC 256", "emulated": {"NUMBA_CPU_NAME": "haswell"}}
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"machine_info": {"scratchnet": desc}, "benchmarks": []}))
    assert report.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert ("CPU: AuthenticAMD family 25 model 17; flags avx2 avx512f fma; Numba target haswell, 256-bit vectors; "
            "kernels MR x NV = 6 x 2, KC 256.") in out
    assert "Emulated target: NUMBA_CPU_NAME=haswell." in out


def test_cold_start_counts_each_compilation_once_per_family() -> None:
    spec = importlib.util.spec_from_file_location("cold_start", ROOT / "benchmarks" / "cold_start.py")
    cold_start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cold_start)
    records = [{"module": "scratchnet.kernels.matmul", "name": "gemm_nn", "seconds": 1.5, "inclusive": 4.0},
               {"module": "scratchnet.kernels.matmul", "name": "_sub_gemm", "seconds": 2.5, "inclusive": 2.5},
               {"module": "scratchnet.kernels.activations", "name": "sigmoid_forward", "seconds": 0.5,
                "inclusive": 0.5}]
    assert cold_start.by_family(records) == {"kernels.matmul": (2, 4.0), "kernels.activations": (1, 0.5)}
    text = cold_start.report({"process_seconds": 9.0, "seconds": 8.0, "compilations": records},
                             {"process_seconds": 2.0, "compilations": []}, "scratchnet train book_mlp --epochs 1")
    assert "of which **4.5 s compiling** 3 kernels" in text and "| `kernels.matmul` | 2 | 4.0 |" in text


def test_one_thread_compares_a_product_with_openblas() -> None:
    spec = importlib.util.spec_from_file_location("one_thread", ROOT / "benchmarks" / "one_thread.py")
    one_thread = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(one_thread)
    line = one_thread.gemm_line("tn", 12, 20, 40)
    assert line.startswith("gemm tn 12x20x40: scratchnet") and "OpenBLAS" in line and "ratio" in line


def test_step_profile_walks_every_layer_of_both_models() -> None:
    """benchmarks/step_profile.py: a row for each layer's forward and backward, the loss, the
    optimizer and the whole step, each library's time positive (book_conv at batch 2, one thread)."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("step_profile", ROOT / "benchmarks" / "step_profile.py")
        step_profile = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(step_profile)
        rows = step_profile.profile("book_conv", 2, seconds=0.001, rounds=1)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    layers = ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "ReLU", "Flatten", "Linear", "ReLU", "Linear"]
    assert [label.split()[1].split("(")[0] for label, *_ in rows[:-3:2]] == layers
    assert [label.split()[-1] for label, *_ in rows[:-3]] == ["forward", "backward"] * len(layers)
    assert [label for label, *_ in rows[-3:]] == ["loss, forward and backward", "optimizer (SGD) update",
                                                  "the whole step"]
    assert all(s > 0 and t > 0 for label, s, t in rows if "forward" in label or "step" in label or "update" in label)
