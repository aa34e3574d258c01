"""The torch backend's GPU path on the CPU: ``--amp bf16|fp16``, ``--channels-last``, ``--compile``,
``--device``, and the options' checks; CUDA itself only where a GPU is present (skipped with the
reason otherwise).

Every option that does not change the arithmetic (channels_last, compile) must give the eager,
contiguous run's parameters in float64 (relative difference ``||a - b|| / ||b|| <= 1e-10``); mixed
precision computes in 16 bits, so it is held to the float32 run within what bf16's 8-bit and
fp16's 11-bit significands allow, and shown to have really computed in 16 bits.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from scratchnet import cli
from scratchnet.train import TrainConfig, Trainer, load_checkpoint, make_backend
from torchnet.dist import shard
from torchnet.train import TorchBackend

RTOL = 1e-10


def batches(shape: tuple[int, ...], n: int = 3, size: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.random((size, *shape)), rng.integers(0, 10, size)) for _ in range(n)]


def trained(config: TrainConfig, data) -> TorchBackend:
    backend = TorchBackend(config.resolved())
    for X, y in data:
        backend.train_step(X.astype(config.dtype), y)
    return backend


def model_state(backend) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, np.float64) for k, v in backend.state().items() if k.startswith("model/")}


def assert_equal_state(ours, theirs, rtol: float, what: str) -> None:
    a, b = model_state(ours), model_state(theirs)
    assert a.keys() == b.keys()
    for k in b:
        diff = np.linalg.norm(a[k] - b[k]) / max(np.linalg.norm(b[k]), 1e-300)
        assert diff <= rtol, f"{what}: {k} differs by {diff:.3g} (relative), more than {rtol:g}"


def config(model: str, **kw) -> TrainConfig:
    return TrainConfig(**{"model": model, "backend": "torch", "device": "cpu", "lr": 0.01, "seed": 1, **kw})


# -- the options' checks ----------------------------------------------------------------------------
@pytest.mark.parametrize(("kw", "message"), [
    (dict(nproc=0), "nproc must be >= 1, got 0"),
    (dict(amp="fp8"), "amp must be 'bf16', 'fp16' or None, got 'fp8'"),
    (dict(amp="bf16", dtype="float64"), "amp needs dtype 'float32' (autocast lowers float32 only), got 'float64'"),
    (dict(channels_last=True), "channels_last applies to the CNNs ('book_conv', 'fashion_cnn', 'cifar_cnn'), "
                               "got model 'book_mlp'"),
    (dict(backend="scratch", nproc=2, compile=True), "nproc=2, compile=True: backend must be 'torch' for these "
                                                     "options, got 'scratch'"),
    (dict(dropout=1.0), "dropout must be a probability in [0, 1) or None (the model's), got 1.0"),
])
def test_each_option_is_checked_naming_the_field_the_expected_and_the_actual_value(kw, message):
    with pytest.raises(ValueError) as info:
        TrainConfig(**{"model": "book_mlp", "backend": "torch", **kw}).resolved()
    assert str(info.value) == message


def test_the_command_refuses_what_data_parallel_runs_cannot_do_before_starting_workers(capsys):
    assert cli.main(["train", "book_mlp", "--backend", "torch", "--nproc", "2", "--folds", "3"]) == 1
    assert "--folds runs with one process only" in capsys.readouterr().err
    assert cli.main(["train", "book_mlp", "--nproc", "2"]) == 1  # the scratch backend
    assert "nproc=2: backend must be 'torch'" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_device_cuda_without_a_gpu_says_so(capsys):
    with pytest.raises(ValueError, match=r"device: cuda asked for, but this machine has 0 CUDA device\(s\)"):
        TorchBackend(config("book_mlp", device="cuda").resolved())
    assert cli.main(["train", "book_mlp", "--backend", "torch", "--device", "cuda", "--nproc", "2"]) == 1
    assert "device: cuda asked for, but this machine has 0 CUDA device(s)" in capsys.readouterr().err  # no worker


def test_data_parallel_on_cuda_needs_a_gpu_per_worker(monkeypatch):
    from torchnet import dist

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"nproc: 2 workers on CUDA need 2 GPUs \(one each\), this machine has 1"):
        dist.check_devices(config("book_mlp", device="cuda", nproc=2).resolved())
    assert dist.check_devices(config("book_mlp", device="cuda", nproc=1).resolved()).type == "cuda"


def test_shards_are_contiguous_nearly_equal_and_cover_the_batch():
    for n in range(0, 12):
        for size in (1, 2, 3, 5):
            parts = [shard(n, r, size) for r in range(size)]
            assert [p.start for p in parts[1:]] == [p.stop for p in parts[:-1]] and parts[0].start == 0
            assert parts[-1].stop == n
            assert [p.stop - p.start for p in parts] == [len(a) for a in np.array_split(np.arange(n), size)]


# -- dropout ------------------------------------------------------------------------------------
def test_dropout_option_sets_every_dropout_of_either_backend():
    torch_model = TorchBackend(config("fashion_cnn", dropout=0.0).resolved()).model
    assert [m.p for m in torch_model.modules() if isinstance(m, nn.Dropout)] == [0.0, 0.0]
    scratch = make_backend(TrainConfig("fashion_cnn", dropout=0.25).resolved())
    assert [m.p for m in scratch._dropouts()] == [0.25, 0.25]
    from torchnet.models import fashion_cnn

    assert [m.p for m in fashion_cnn().modules() if isinstance(m, nn.Dropout)] == [0.5, 0.4]  # the default


# -- mixed precision --------------------------------------------------------------------------------
def linear_output_dtypes(backend: TorchBackend) -> list[torch.dtype]:
    seen: list[torch.dtype] = []
    for m in backend.model.modules():
        if isinstance(m, nn.Linear):
            m.register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
    return seen


# twice each format's unit roundoff: bf16 keeps 8 significant bits (2^-8), fp16 11 (2^-11); measured
# here: 3.4e-3 and 5.8e-4 at most
@pytest.mark.parametrize(("amp", "dtype", "tol"), [("bf16", torch.bfloat16, 2 * 2**-8),
                                                   ("fp16", torch.float16, 2 * 2**-11)])
def test_amp_computes_in_16_bits_and_trains_as_float32_does_within_their_precision(amp, dtype, tol):
    data = batches((1, 28, 28))
    reference = trained(config("mlp_3b1b"), data)
    backend = TorchBackend(config("mlp_3b1b", amp=amp).resolved())
    dtypes = linear_output_dtypes(backend)
    for X, y in data:
        metrics = backend.train_step(X.astype(np.float32), y)
    assert set(dtypes) == {dtype} and np.isfinite(metrics["loss"])
    assert all(p.dtype == torch.float32 for p in backend.model.parameters())  # the weights stay float32
    start = model_state(TorchBackend(config("mlp_3b1b").resolved()))
    for k, ref in model_state(reference).items():  # the 16-bit steps moved each weight as float32's did
        step, ref_step = model_state(backend)[k] - start[k], ref - start[k]
        assert np.linalg.norm(step - ref_step) <= tol * np.linalg.norm(ref_step), k
    X, y = data[0]
    assert set(backend.evaluate(X.astype(np.float32), y, 4)) == {"loss", "acc"}


def test_fp16_scales_the_loss_and_the_scale_is_part_of_the_checkpoint(tmp_path: Path):
    rng = np.random.default_rng(0)
    data = {s: (rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n))
            for s, n in (("train", 24), ("validation", 8), ("test", 8))}
    cfg = config("mlp_3b1b", amp="fp16", epochs=1, batch_size=8)
    trainer = Trainer(cfg, data, tmp_path, backend=TorchBackend(cfg.resolved()))
    trainer.fit()
    trainer.save(tmp_path / "last.npz")
    scaler = trainer.backend.precision.scaler
    assert scaler is not None and scaler.get_scale() == 65536.0  # GradScaler's start; no overflow in 3 steps
    arrays, _ = load_checkpoint(tmp_path / "last.npz")
    assert float(arrays["amp/scale"]) == 65536.0
    scaler.update(1024.0)
    resumed = Trainer(cfg, data, tmp_path / "r", backend=TorchBackend(cfg.resolved()))
    resumed.resume(tmp_path / "last.npz")
    assert resumed.backend.precision.scaler.get_scale() == 65536.0
    make_backend(TrainConfig("mlp_3b1b").resolved()).load_state(arrays)  # scratchnet reads it too


# -- channels_last and torch.compile: the same numbers --------------------------------------------
def test_channels_last_trains_the_cnn_to_the_same_float64_parameters():
    data = batches((1, 28, 28), n=2, size=4)
    contiguous = trained(config("fashion_cnn", dtype="float64"), data)
    nhwc = trained(config("fashion_cnn", dtype="float64", channels_last=True), data)
    conv = nhwc.model.conv_stack[4].weight  # Conv2d(32, 64): (64, 32, 3, 3), NHWC strides
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert_equal_state(nhwc, contiguous, RTOL, "channels_last vs contiguous")


@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")),
                    reason="torch.compile on the CPU (Inductor) needs a C++ compiler: none on PATH")
def test_compile_trains_to_the_same_float64_parameters_as_eager():
    """A one-layer model (linear_mask) keeps the first compile short: about 10 s from an empty
    Inductor cache on two cores, 5 s from a warm one."""
    data = batches((1, 28, 28), n=3, size=5)
    eager = trained(config("linear_mask", dtype="float64"), data)
    backend = TorchBackend(config("linear_mask", dtype="float64", compile=True).resolved())
    assert backend.net is not backend.model and isinstance(backend.net, torch._dynamo.eval_frame.OptimizedModule)
    for X, y in data:
        backend.train_step(X, y)
    assert_equal_state(backend, eager, RTOL, "torch.compile vs eager")


# -- CUDA ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: torch.cuda.is_available() is False")
@pytest.mark.parametrize("options", [{}, {"channels_last": True}])
def test_cuda_trains_the_cnn_as_the_cpu_does_in_float64(options):
    data = batches((1, 28, 28), n=2, size=4)
    cpu = trained(config("book_conv", dtype="float64"), data)
    gpu = trained(config("book_conv", dtype="float64", device="cuda", **options), data)
    assert gpu.device.type == "cuda"
    assert_equal_state(gpu, cpu, RTOL, "CUDA vs CPU")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: torch.cuda.is_available() is False")
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_cuda_amp_steps_are_finite_and_16_bit(amp):
    backend = TorchBackend(config("fashion_cnn", device="cuda", amp=amp).resolved())
    dtypes = linear_output_dtypes(backend)
    for X, y in batches((1, 28, 28)):
        assert np.isfinite(backend.train_step(X.astype(np.float32), y)["loss"])
    assert set(dtypes) == {torch.bfloat16 if amp == "bf16" else torch.float16}
