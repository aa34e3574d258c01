"""The shared training loop: metrics, checkpoints, resume, divergence, early stopping, named metrics."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from scratchnet.train import (
    Checkpointer,
    EarlyStopping,
    EpochTable,
    MetricsLogger,
    ScratchBackend,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    load_checkpoint,
)


def tiny_data(n: int = 120, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return {"train": (X[:80], y[:80]), "validation": (X[80:100], y[80:100]), "test": (X[100:], y[100:])}


def config(**kw) -> TrainConfig:
    base = dict(model="book_mlp", epochs=2, batch_size=10, lr=0.5, dtype="float64", seed=3)
    base.update(kw)
    return TrainConfig(**base)


def params(trainer: Trainer) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in trainer.backend.state().items() if k.startswith("model/")}


def test_fit_writes_metrics_and_checkpoints(tmp_path: Path):
    trainer = Trainer(config(), tiny_data(), tmp_path, [MetricsLogger(), Checkpointer()])
    summary = trainer.fit()
    assert summary["epochs_run"] == 2 and 0 <= summary["test_acc"] <= 1
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["config"]["model"] == "book_mlp" and doc["summary"]["epochs_run"] == 2
    arrays, meta = load_checkpoint(tmp_path / "last.npz")
    assert meta["epoch"] == 2 and meta["config"]["lr"] == 0.5
    assert {"model/1.weight", "model/1.bias"} <= set(arrays)  # Flatten is child 0
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave nothing behind


def test_resume_continues_as_if_never_stopped(tmp_path: Path):
    straight = Trainer(config(epochs=3), tiny_data(), tmp_path / "a", [Checkpointer()])
    straight.fit()
    first = Trainer(config(epochs=1), tiny_data(), tmp_path / "b", [Checkpointer()])
    first.fit()
    resumed = Trainer(config(epochs=3), tiny_data(), tmp_path / "c", [Checkpointer()])
    resumed.resume(tmp_path / "b" / "last.npz")
    assert resumed.start_epoch == 2
    resumed.fit()
    for k, v in params(straight).items():
        np.testing.assert_array_equal(params(resumed)[k], v, err_msg=k)
    assert [r["val_acc"] for r in resumed.history] == [r["val_acc"] for r in straight.history]


def test_checkpoint_moves_between_backends(tmp_path: Path):
    scratch = Trainer(config(epochs=1), tiny_data(), tmp_path / "s", [Checkpointer()])
    scratch.fit()
    from torchnet.train import TorchBackend

    cfg = config(epochs=1, backend="torch", device="cpu").resolved()
    torch_trainer = Trainer(cfg, tiny_data(), tmp_path / "t", backend=TorchBackend(cfg))
    torch_trainer.resume(tmp_path / "s" / "last.npz")
    Xv, yv = tiny_data()["validation"]
    ours, theirs = scratch.backend.evaluate(Xv, yv, 7), torch_trainer.backend.evaluate(Xv, yv, 7)
    assert set(ours) == set(theirs) == {"loss", "acc"} and ours["acc"] == theirs["acc"]
    np.testing.assert_allclose(theirs["loss"], ours["loss"], rtol=1e-10)


def test_a_torch_run_needs_its_backend_passed_in(tmp_path: Path):
    """scratchnet never imports torch: a "torch" config without a backend is an error naming the remedy."""
    with pytest.raises(ValueError, match=r"builds only the 'scratch' backend, got 'torch': pass "
                                         r"backend=torchnet.train.TorchBackend\(config\)"):
        Trainer(config(backend="torch"), tiny_data(), tmp_path / "t")
    assert not (tmp_path / "t").exists()  # nothing written before the error


#: The checkpoint format (book_mlp, SGD with momentum): unchanged since the first trainer.
OLD_FORMAT_KEYS = [
    "model/1.weight", "model/1.bias", "model/3.weight", "model/3.bias",
    "optim/state/0/momentum_buffer", "optim/state/1/momentum_buffer", "optim/state/2/momentum_buffer",
    "optim/state/3/momentum_buffer", "optim/param_groups/#0/lr", "optim/param_groups/#0/momentum",
    "optim/param_groups/#0/dampening", "optim/param_groups/#0/weight_decay", "optim/param_groups/#0/nesterov",
    "optim/param_groups/#0/params",
]


def test_a_checkpoint_in_the_old_format_resumes(tmp_path: Path):
    """A file written as the single-module trainer wrote it (np.savez of ``model/...``, ``optim/...``
    and a JSON ``meta`` with the old config fields and epoch rows), built here by hand, resumes."""
    first = Trainer(config(epochs=1, momentum=0.9), tiny_data(), tmp_path / "a", [Checkpointer()])
    first.fit()
    arrays, meta = load_checkpoint(tmp_path / "a" / "last.npz")
    assert sorted(arrays) == sorted(OLD_FORMAT_KEYS)
    old_config = {"model": "book_mlp", "backend": "scratch", "epochs": 1, "batch_size": 10, "lr": 0.5,
                  "optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.0, "augment": False, "dataset": "mnist",
                  "seed": 3, "split_seed": 0, "subset": None, "patience": None, "out_dir": "runs",
                  "device": None, "dtype": "float64"}
    old_row = {"epoch": 1, "train_loss": 2.0, "val_loss": 2.1, "val_acc": 0.1, "seconds": 1.0, "samples_per_s": 80.0}
    old_meta = {"config": old_config, "epoch": 1, "history": [old_row], "rng": meta["rng"]}
    np.savez(tmp_path / "old.npz", meta=np.array(json.dumps(old_meta)), **{k: arrays[k] for k in OLD_FORMAT_KEYS})
    straight = Trainer(config(epochs=2, momentum=0.9), tiny_data(), tmp_path / "b")
    straight.fit()
    resumed = Trainer(config(epochs=2, momentum=0.9), tiny_data(), tmp_path / "c")
    resumed.resume(tmp_path / "old.npz")
    assert resumed.start_epoch == 2 and resumed.history == [old_row]
    resumed.fit()
    for k, v in params(straight).items():
        np.testing.assert_array_equal(params(resumed)[k], v, err_msg=k)
    assert resumed.history[1]["val_acc"] == straight.history[1]["val_acc"]


class NaNAfter(ScratchBackend):
    """A real backend whose loss turns NaN after ``n`` steps (a diverging run)."""

    def __init__(self, cfg: TrainConfig, n: int) -> None:
        super().__init__(cfg)
        self.n = n

    def train_step(self, X, y) -> dict[str, float]:
        self.n -= 1
        metrics = super().train_step(X, y)
        return {"loss": float("nan")} if self.n < 0 else metrics


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path: Path):
    cfg = config(epochs=3).resolved()
    trainer = Trainer(cfg, tiny_data(), tmp_path, [MetricsLogger(), Checkpointer()], backend=NaNAfter(cfg, 12))
    expected = r"loss is nan at epoch 2, batch 4; stopped, the last good checkpoint is"
    with pytest.raises(TrainingDiverged, match=expected):
        trainer.fit()
    _, meta = load_checkpoint(tmp_path / "last.npz")
    assert meta["epoch"] == 1  # epoch 1's checkpoint, untouched by the failing epoch
    assert "loss is nan" in json.loads((tmp_path / "metrics.json").read_text())["summary"]["stop_reason"]


def test_divergence_in_first_epoch_says_no_checkpoint(tmp_path: Path):
    cfg = config().resolved()
    trainer = Trainer(cfg, tiny_data(), tmp_path, [Checkpointer()], backend=NaNAfter(cfg, 0))
    with pytest.raises(TrainingDiverged, match="no epoch finished, so no checkpoint"):
        trainer.fit()


class FixedAccuracy(ScratchBackend):
    def __init__(self, cfg: TrainConfig, accs: list[float]) -> None:
        super().__init__(cfg)
        self.accs = iter(accs)

    def evaluate(self, X, y, batch_size):
        return {"loss": 1.0, "acc": next(self.accs)}


def test_early_stopping_after_patience(tmp_path: Path):
    cfg = config(epochs=10, patience=2).resolved()
    backend = FixedAccuracy(cfg, [0.5, 0.6, 0.55, 0.6, 0.7] + [0.1] * 10)
    trainer = Trainer(cfg, {k: v for k, v in tiny_data().items() if k != "test"}, tmp_path,
                      [EarlyStopping(2)], backend=backend)
    summary = trainer.fit()
    assert summary["epochs_run"] == 4
    assert summary["stop_reason"] == "early stopping: no better validation accuracy for 2 epochs"


@pytest.mark.parametrize(("kw", "message"), [
    ({"model": "resnet"}, "unknown model 'resnet'"),
    ({"lr": -1.0}, "lr must be a positive finite number, got -1.0"),
    ({"epochs": 0}, "epochs must be >= 1, got 0"),
    ({"backend": "jax"}, "backend must be 'scratch' or 'torch', got 'jax'"),
])
def test_bad_config_is_named(kw, message):
    with pytest.raises(ValueError, match=message):
        config(**kw).resolved()


def test_resume_rejects_another_models_checkpoint(tmp_path: Path):
    Trainer(config(epochs=1), tiny_data(), tmp_path / "a", [Checkpointer()]).fit()
    other = Trainer(config(model="book_mlp100"), tiny_data(), tmp_path / "b")
    with pytest.raises(ValueError, match="is for model 'book_mlp', not 'book_mlp100'"):
        other.resume(tmp_path / "a" / "last.npz")


class ThreeTermBackend:
    """A fake backend of another task (a VAE's shape of metrics: loss = reconstruction + kl, no
    accuracy). Its "model" is a step counter and its metrics depend only on the batch size, so they
    are known in advance; ``nan_at`` makes the kl (only) of that step non-finite."""

    def __init__(self, val_losses: list[float], nan_at: int | None = None) -> None:
        self.w, self.steps, self.val_losses, self.nan_at = 0.0, 0, iter(val_losses), nan_at
        self.batch_sizes: list[int] = []

    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        self.steps += 1
        self.batch_sizes.append(len(X))
        self.w += 1.0
        kl = float("nan") if self.steps == self.nan_at else 0.5 * len(X)  # the loss stays finite
        return {"loss": 2.5 * len(X), "reconstruction": 2.0 * len(X), "kl": kl}

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        loss = next(self.val_losses)
        return {"loss": loss, "reconstruction": loss - 1.0, "kl": 1.0}

    def augment(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return X

    def state(self) -> dict[str, np.ndarray]:
        return {"model/w": np.array(self.w)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.w = float(state["model/w"])


def test_the_loop_carries_whatever_metrics_the_backend_names(tmp_path: Path):
    """No accuracy, three training terms: rows, the table, metrics.csv, best.npz and early stopping
    all follow the backend's names (the lowest validation loss is the best)."""
    cfg = config(epochs=6, batch_size=30).resolved()  # 80 training images: batches of 30, 30, 20
    backend = ThreeTermBackend([5.0, 4.0, 4.5, 3.0, 3.5, 3.2])
    lines: list[str] = []
    data = {k: v for k, v in tiny_data().items() if k != "test"}
    trainer = Trainer(cfg, data, tmp_path, [EpochTable(lines.append), MetricsLogger(), Checkpointer(),
                                            EarlyStopping(2)], backend=backend)
    summary = trainer.fit()
    assert backend.batch_sizes == [30, 30, 20] * 6
    names = ["epoch", "train_loss", "train_reconstruction", "train_kl", "val_loss", "val_reconstruction",
             "val_kl", "seconds", "samples_per_s"]
    assert [list(r) for r in trainer.history] == [names] * 6
    row = trainer.history[0]
    assert row["train_reconstruction"] == pytest.approx(2.0 * 80 / 3) and row["train_kl"] == pytest.approx(40 / 3)
    assert row["train_loss"] == pytest.approx(2.5 * 80 / 3) and row["val_reconstruction"] == 4.0
    assert lines[0].split() == ["epoch", "train_loss", "train_reconstruction", "train_kl", "val_loss",
                                "val_reconstruction", "val_kl", "seconds", "samples/s"]
    assert lines[1].split()[:7] == ["1", "66.6667", "53.3333", "13.3333", "5.0000", "4.0000", "1.0000"]
    assert len(lines) == 7 and len({len(line) for line in lines}) == 1  # aligned: header and 6 rows
    assert list(csv.DictReader(open(tmp_path / "metrics.csv")))[0].keys() == set(names)
    assert summary["best_val_loss"] == 3.0 and summary["final_val_kl"] == 1.0 and summary["epochs_run"] == 6
    assert summary["stop_reason"] == "early stopping: no better validation loss for 2 epochs"  # 3.5, 3.2 after 3.0
    _, best = load_checkpoint(tmp_path / "best.npz")
    assert best["epoch"] == 4  # val_loss 3.0, the lowest


def test_early_stopping_on_a_loss_waits_for_a_lower_one(tmp_path: Path):
    cfg = config(epochs=10, batch_size=40).resolved()
    backend = ThreeTermBackend([5.0, 4.0, 4.0, 4.5] + [1.0] * 6)
    trainer = Trainer(cfg, tiny_data(), tmp_path, [EarlyStopping(2)], backend=backend)
    summary = trainer.fit()
    assert summary["epochs_run"] == 4  # 4.0 again is no improvement, nor is 4.5
    assert summary["stop_reason"] == "early stopping: no better validation loss for 2 epochs"


def test_a_non_finite_metric_of_any_name_stops_the_run(tmp_path: Path):
    cfg = config(epochs=3, batch_size=40).resolved()
    trainer = Trainer(cfg, tiny_data(), tmp_path, [Checkpointer()], backend=ThreeTermBackend([5.0] * 3, nan_at=4))
    with pytest.raises(TrainingDiverged, match=r"kl is nan at epoch 2, batch 1; stopped, the last good checkpoint"):
        trainer.fit()
    _, meta = load_checkpoint(tmp_path / "last.npz")
    assert meta["epoch"] == 1
