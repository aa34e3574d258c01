"""Training on the cuda tier: a few steps of small zoo-shaped models equal the same steps on the fast
tier in float64 (the loss, every gradient, every parameter after the step, the optimizer's state,
BatchNorm's running statistics), with the parameters on the device from step to step.

Each cuda run is ``gpu_like`` (``gpu_like.py``): device arrays take no NumPy operation, no kernel
takes a NumPy array, and every copy between host and device is recorded, so a step is checked to
send only its batch (and dropout's mask, the VAE's noise) to the device and to bring back only the
loss (one partial sum per sample) and one-number flags. The launches are shrunk for the simulator
(``small_launches``): same kernels, fewer Python threads.

The models have the zoo's layers and losses at sizes the simulator runs in seconds: ``book_mlp``'s
[784, 30, 10] sigmoid network as [16, 3, 4]; a CNN with ``book_conv``'s and ``fashion_cnn``'s
layers (convolutions with and without bias, max-pooling, BatchNorm 2d and 1d, ReLU, dropout with a
shared mask) on 4 x 4 images; the zoo's ``vae`` itself (784 pixels) with 3 hidden units and a 2-D
latent space. ``book_mlp`` itself trains through the scratch backend with ``--device cuda``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
from cuda_probe import gpu_present
from gpu_like import HostOnly, gpu_like, small_launches

from scratchnet import kernels, losses, models, nn, optim
from scratchnet.kernels import ops
from scratchnet.kernels.cuda.arrays import DeviceArray
from scratchnet.train import TrainConfig
from scratchnet.train.checkpoints import load_checkpoint, save_checkpoint
from scratchnet.train.scratch import make_backend

F64 = np.float64


@pytest.fixture
def launches(monkeypatch):
    small_launches(monkeypatch)
    return monkeypatch


#: the parity gate's float64 tolerances (notes/architecture.md): rtol, and atol times max(1, max|ref|)
TOLERANCE = {"forward": (1e-10, 1e-12), "grad": (1e-8, 1e-10)}


def close(got, ref, what: str, kind: str = "forward") -> None:
    """float64 results of two tiers within the parity gate: ``forward`` for values computed from the
    same inputs, ``grad`` for gradients and for what a step updates (an Adam step turns a gradient's
    rounding into ``lr / eps`` times as much in its weight: the trajectory tests' rule)."""
    got, ref = np.asarray(got, F64), np.asarray(ref, F64)
    assert got.shape == ref.shape, (what, got.shape, ref.shape)
    rtol, atol = TOLERANCE[kind]
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol * max(1.0, float(np.abs(ref).max(initial=0.0))),
                               err_msg=f"{what} (cuda tier = ACTUAL, fast tier = DESIRED)")


def nested_close(got, ref, what: str, kind: str = "grad") -> None:
    """``close`` through the dicts and lists of a ``state_dict``."""
    if isinstance(ref, dict):
        assert sorted(got) == sorted(ref), (what, sorted(got), sorted(ref))
        for key in ref:
            nested_close(got[key], ref[key], f"{what}/{key}", kind)
    elif isinstance(ref, list | tuple):
        assert len(got) == len(ref), what
        for i, (g, r) in enumerate(zip(got, ref, strict=True)):
            nested_close(g, r, f"{what}/{i}", kind)
    else:
        close(got, ref, what, kind)


def train(tier: str, build: Callable, step: Callable, batches: list, make_opt: Callable,
          transfers: list | None = None) -> list[dict]:
    """Build on ``tier``, then per batch: ``step(model, batch) -> loss``, the gradients, ``opt.step()``;
    recorded as NumPy: loss, gradients, ``state_dict`` (parameters, running statistics), optimizer
    state, and on the cuda tier what crossed to and from the device during the step."""
    records = []
    with kernels.use(tier):
        model = build()
        opt = make_opt(model.parameters())
        for batch in batches:
            model.train()
            opt.zero_grad()
            start = len(transfers) if transfers is not None else 0
            value = step(model, batch)
            opt.step()
            crossed = list(transfers[start:]) if transfers is not None else []
            records.append({"loss": value, "crossed": crossed,
                            "grads": {name: ops.to_host(p.grad) for name, p in model.named_parameters()},
                            "state": model.state_dict(), "optim": opt.state_dict(), "model": model, "opt": opt,
                            "arrays": [(p.data, p.grad) for p in model.parameters()]})
    return records


def same_steps(cuda_run: list[dict], fast_run: list[dict]) -> None:
    for i, (c, f) in enumerate(zip(cuda_run, fast_run, strict=True)):
        close(c["loss"], f["loss"], f"step {i} loss", "forward" if i == 0 else "grad")  # then from updated weights
        nested_close(c["grads"], f["grads"], f"step {i} grad")
        nested_close(c["state"], f["state"], f"step {i} state_dict")
        nested_close(c["optim"], f["optim"], f"step {i} optimizer state")


def on_device(records: list[dict], allowed_to_device: set[tuple[int, ...]], N: int) -> None:
    """Parameters, gradients and optimizer state are device arrays, the same ones from step to step;
    a step copies to the device only ``allowed_to_device`` shapes and back only ``(N,)`` or ``(1,)``."""
    first, last = records[0], records[-1]
    names = [name for name, _ in last["model"].named_parameters()]
    for name, (data0, _), (data1, grad1) in zip(names, first["arrays"], last["arrays"], strict=True):
        assert isinstance(data1, DeviceArray) and isinstance(grad1, DeviceArray), name
        assert data1 is data0, f"{name}: a new array after a step (updated out of place)"
    for state in last["opt"].state:
        assert all(isinstance(v, DeviceArray) for v in state.values() if not isinstance(v, float)), state.keys()
    for i, r in enumerate(records):
        to_device, to_host = ({shape for d, shape in r["crossed"] if d == way} for way in ("to device", "to host"))
        assert to_device <= allowed_to_device | {(1,)}, f"step {i} sent {to_device - allowed_to_device}"
        assert to_host <= {(N,), (1,)}, f"step {i} brought back {to_host}"


# ------------------------------------------------------------------------------- book_mlp's shape
def mlp() -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 3, dtype=F64, rng=rng), nn.Sigmoid(),
                         nn.Linear(3, 4, dtype=F64, rng=rng), nn.Sigmoid())


def test_book_mlp_shaped_steps_equal_the_fast_tier(launches):
    """[16, 3, 4] sigmoid, the book's quadratic cost, SGD with momentum: three steps of 3 images."""
    rng = np.random.default_rng(1)
    batches = [(rng.random((3, 1, 4, 4)), np.eye(4)[rng.integers(0, 4, 3)]) for _ in range(3)]
    cost = losses.QuadraticCost()

    def step(model, batch):
        X, Y = batch
        value = cost(model(X), Y)
        model.backward(cost.backward(), needs_input_grad=False)
        return value

    def sgd(params):
        return optim.SGD(params, lr=3.0, momentum=0.9)

    fast = train("fast", mlp, step, batches, sgd)
    with gpu_like(launches) as transfers:
        cuda = train("cuda", mlp, step, batches, sgd, transfers)
    same_steps(cuda, fast)
    on_device(cuda, {(3, 1, 4, 4), (3, 4)}, N=3)


# ------------------------------------------------------------------ book_conv's and fashion_cnn's layers
def cnn() -> nn.Sequential:
    rng = np.random.default_rng(2)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, dtype=F64, rng=rng), nn.MaxPool2d(2), nn.ReLU(),          # (N, 2, 2, 2)
        nn.Conv2d(2, 1, 3, padding=1, bias=False, dtype=F64, rng=rng), nn.BatchNorm2d(1, dtype=F64), nn.ReLU(),
        nn.Flatten(),                                                                            # (N, 4)
        nn.Linear(4, 3, bias=False, dtype=F64, rng=rng), nn.BatchNorm1d(3, dtype=F64), nn.ReLU(),
        nn.Dropout(0.5, rng=np.random.default_rng(3)),                                           # (N, 3)
        nn.Linear(3, 4, dtype=F64, rng=rng),                                                     # logits
    )


def test_cnn_steps_equal_the_fast_tier(launches):
    """Two Adam steps on 2 images with softmax cross-entropy: the first with an injected dropout mask,
    the second with the one both tiers draw from the same generator; then the evaluation forward."""
    rng = np.random.default_rng(4)
    batches = [(rng.random((2, 1, 4, 4)), rng.integers(0, 4, 2), mask) for mask in
               (np.array([[1, 0, 1], [1, 1, 0]], bool), None)]
    X_eval = rng.random((2, 1, 4, 4))
    loss = losses.CrossEntropyLoss()

    def step(model, batch):
        X, y, mask = batch
        model[10].next_mask = mask
        value = loss(model(X), y)
        model.backward(loss.backward(), needs_input_grad=False)
        return value

    fast = train("fast", cnn, step, batches, optim.Adam)
    with gpu_like(launches) as transfers:
        cuda = train("cuda", cnn, step, batches, optim.Adam, transfers)
        with kernels.use("cuda"):
            evaluated = ops.to_host(cuda[-1]["model"].eval()(X_eval))
    same_steps(cuda, fast)
    close(evaluated, fast[-1]["model"].eval()(X_eval), "evaluation forward", "grad")
    assert [r["state"]["8.num_batches_tracked"] for r in cuda] == [1, 2]
    on_device(cuda, {(2, 1, 4, 4), (2,), (2, 3)}, N=2)


# ----------------------------------------------------------------------------------------- the vae
def vae() -> models.VAE:
    return models.vae(latent_dim=2, hidden=3, dtype=F64, rng=np.random.default_rng(5))


def test_vae_steps_equal_the_fast_tier(launches):
    """The zoo's VAE (784 pixels, 3 hidden units, 2 latent): two Adam steps of 2 images, eps drawn by
    the model's generator on both tiers; the reconstruction and KL terms as well as their sum."""
    rng = np.random.default_rng(6)
    batches = [rng.random((2, 784)) for _ in range(2)]
    loss = losses.VAELoss(beta=1.0)
    terms = []

    def step(model, X):
        X_hat, mu, logvar = model(X)
        value = loss(X_hat, X, mu, logvar)
        terms.append((loss.reconstruction, loss.kl))
        model.backward(*loss.backward())
        return value

    fast = train("fast", vae, step, batches, optim.Adam)
    with gpu_like(launches) as transfers:
        cuda = train("cuda", vae, step, batches, optim.Adam, transfers)
    same_steps(cuda, fast)
    close(terms[2], terms[0], "reconstruction and KL, step 0")
    close(terms[3], terms[1], "reconstruction and KL, step 1", "grad")
    on_device(cuda, {(2, 784), (2, 2)}, N=2)


# ------------------------------------------------------------------------ the scratch backend, --device cuda
def test_device_cuda_trains_book_mlp_and_its_checkpoint_loads_on_the_cpu(launches, tmp_path):
    """``--device cuda``: a step of the zoo's ``book_mlp`` equals the CPU backend's; metrics are floats;
    the checkpoint it writes (NumPy arrays) loads into a CPU backend, which then evaluates as it does."""
    rng = np.random.default_rng(7)
    X, y = rng.random((2, 1, 28, 28)).astype(np.float32), np.array([3, 8])
    config = TrainConfig(model="book_mlp", device="cuda", dtype="float64", seed=1).resolved()
    before = kernels.current()
    with gpu_like(launches):
        gpu = make_backend(config)
        assert gpu.tier == "cuda" and kernels.current() == before  # the backend's tier, not the process's
        metrics = gpu.train_step(X, y)
        assert isinstance(next(gpu.model.parameters()).data, DeviceArray)
        evaluated = gpu.evaluate(X, y, 2)
        save_checkpoint(tmp_path / "last.npz", gpu, config, 1, np.random.default_rng(0), [])
    cpu = make_backend(TrainConfig(model="book_mlp", device="cpu", dtype="float64", seed=1).resolved())
    assert cpu.tier == "fast"
    reference = cpu.train_step(X, y)
    assert type(metrics["loss"]) is float and type(evaluated["acc"]) is float
    close(metrics["loss"], reference["loss"], "loss")
    close(evaluated["loss"], cpu.evaluate(X, y, 2)["loss"], "evaluation loss", "grad")
    restored = make_backend(TrainConfig(model="book_mlp", device="cpu", dtype="float64", seed=9).resolved())
    restored.load_state(load_checkpoint(tmp_path / "last.npz")[0])
    close(restored.evaluate(X, y, 2)["loss"], evaluated["loss"], "evaluation after loading the cuda checkpoint")
    nested_close(restored.model.state_dict(), cpu.model.state_dict(), "weights")


def test_device_must_be_cpu_or_cuda_for_the_scratch_backend():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda' for the scratch backend, got 'tpu'"):
        make_backend(TrainConfig(model="book_mlp", device="tpu"))


@pytest.mark.skipif(gpu_present(), reason="a GPU is present: --device cuda runs here")
def test_device_cuda_without_a_gpu_or_the_simulator_says_what_to_set():
    code = ("from scratchnet.train import TrainConfig; from scratchnet.train.scratch import make_backend; "
            "make_backend(TrainConfig(model='book_mlp', device='cuda'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NUMBA_ENABLE_CUDASIM": "0"})
    assert run.returncode != 0
    assert "ValueError: --device cuda: the cuda kernel tier cannot run here: numba.cuda finds no usable GPU" \
        in run.stderr, run.stderr
    assert "set NUMBA_ENABLE_CUDASIM=1" in run.stderr


def test_gpu_like_refuses_what_a_gpu_refuses(monkeypatch):
    """The checks above are only as good as ``gpu_like``: NumPy on a device array, and a NumPy
    array given to a kernel, fail under it."""
    with gpu_like(monkeypatch), kernels.use("cuda"):
        X = ops.contiguous(np.ones((2, 3)))
        for host_only in (lambda: X + X, lambda: X.sum(), lambda: np.isfinite(X), lambda: X.fill(0)):
            with pytest.raises(HostOnly):
                host_only()
        with pytest.raises(HostOnly, match="_sigmoid_forward launched with a NumPy array"):
            ops.sigmoid_forward(np.ones(3), ops.empty((3,), F64))


def test_array_helpers_equal_numpys(launches):
    """``kernels.cuda.arrays`` against the NumPy functions the CPU tiers bind under the same names."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((3, 5))
    with gpu_like(launches), kernels.use("cuda"):
        D = ops.contiguous(X)
        assert isinstance(D, DeviceArray) and ops.contiguous(D) is D
        assert ops.to_host(ops.contiguous(D, np.float32)).dtype == np.float32
        np.testing.assert_array_equal(ops.to_host(ops.contiguous(D, np.float32)), X.astype(np.float32))
        np.testing.assert_array_equal(ops.to_host(ops.zeros((2, 3), np.int64)), np.zeros((2, 3), np.int64))
        E = ops.empty((3, 5), F64)
        ops.fill(E, 2.5)
        np.testing.assert_array_equal(ops.to_host(E), np.full((3, 5), 2.5))
        np.testing.assert_array_equal(ops.to_host(ops.add(D, E, ops.empty((3, 5), F64))), X + 2.5)
        np.testing.assert_array_equal(ops.to_host(ops.multiply(D, E, ops.empty((3, 5), F64))), X * 2.5)
        np.testing.assert_array_equal(ops.to_host(ops.multiply(D, 3, ops.empty((3, 5), F64))), X * 3)
        view = ops.reshape(D, (5, -1))
        assert view.shape == (5, 3) and view.base is D
        ops.copy_into(E, X.astype(np.float32))
        np.testing.assert_array_equal(ops.to_host(E), X.astype(np.float32).astype(F64))
        assert ops.all_finite(D) and not ops.outside(D, X.min(), X.max())
        assert ops.outside(D, X.min() + 1e-9, X.max()) and ops.outside(D, X.min(), X.max() - 1e-9)
        for bad in (np.nan, np.inf, -np.inf):
            Y = X.copy()
            Y[2, 1] = bad
            assert not ops.all_finite(ops.contiguous(Y))
        with pytest.raises(ValueError, match=r"add: the arrays must have one shape .* got \[\(3, 5\), \(5, 3\)"):
            ops.add(D, view, E)


def test_load_state_dict_copies_to_the_device(launches):
    """A model and an optimizer made on the cuda tier take a NumPy ``state_dict`` onto their device
    arrays (cast to their dtype), and give it back."""
    state = {"weight": np.arange(6.0).reshape(2, 3), "bias": np.array([1.5, -2.0])}
    adam = {"state": {0: {"step": 2.0, "exp_avg": np.ones((2, 3)), "exp_avg_sq": np.full((2, 3), 4.0)}},
            "param_groups": [{"lr": 0.5, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": [0, 1]}]}
    with gpu_like(launches), kernels.use("cuda"):
        layer = nn.Linear(3, 2, dtype=np.float32, rng=np.random.default_rng(0))
        weight = layer.weight.data
        layer.load_state_dict(state)
        opt = optim.Adam(layer.parameters())
        opt.load_state_dict(adam)
        assert layer.weight.data is weight and isinstance(opt.state[0]["exp_avg"], DeviceArray)
        back, back_opt = layer.state_dict(), opt.state_dict()
    for key, value in state.items():
        assert back[key].dtype == np.float32
        np.testing.assert_array_equal(back[key], value.astype(np.float32), err_msg=key)
    np.testing.assert_array_equal(back_opt["state"][0]["exp_avg_sq"], np.full((2, 3), 4.0, np.float32))
    assert back_opt["state"][0]["step"] == 2.0 and back_opt["param_groups"][0]["lr"] == 0.5
