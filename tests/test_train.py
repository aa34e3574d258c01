"""The shared training loop: metrics, checkpoints, resume, divergence, early stopping, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from scratchnet.train import (
    Checkpointer,
    EarlyStopping,
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
    torch_trainer = Trainer(config(epochs=1, backend="torch", device="cpu"), tiny_data(), tmp_path / "t")
    torch_trainer.resume(tmp_path / "s" / "last.npz")
    Xv, yv = tiny_data()["validation"]
    loss_s, acc_s = scratch.backend.evaluate(Xv, yv, 7)
    loss_t, acc_t = torch_trainer.backend.evaluate(Xv, yv, 7)
    assert acc_s == acc_t
    np.testing.assert_allclose(loss_t, loss_s, rtol=1e-10)


class NaNAfter(ScratchBackend):
    """A real backend whose loss turns NaN after ``n`` steps (a diverging run)."""

    def __init__(self, cfg: TrainConfig, n: int) -> None:
        super().__init__(cfg)
        self.n = n

    def train_step(self, X, y) -> float:
        self.n -= 1
        loss = super().train_step(X, y)
        return float("nan") if self.n < 0 else loss


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
        return 1.0, next(self.accs)


def test_early_stopping_after_patience(tmp_path: Path):
    cfg = config(epochs=10, patience=2).resolved()
    backend = FixedAccuracy(cfg, [0.5, 0.6, 0.55, 0.6, 0.7] + [0.1] * 10)
    trainer = Trainer(cfg, {k: v for k, v in tiny_data().items() if k != "test"}, tmp_path,
                      [EarlyStopping(2)], backend=backend)
    summary = trainer.fit()
    assert summary["epochs_run"] == 4 and "early stopping" in summary["stop_reason"]


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
