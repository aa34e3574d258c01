"""The VAE through the shared loop (``train/scratch.py``'s and ``torchnet/train.py``'s VAE backends):
named metrics, resume, the command line, and the two backends agreeing from the same weights."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from scratchnet import cli
from scratchnet.train import Checkpointer, ScratchVAEBackend, TrainConfig, Trainer


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 28, 28)).astype(np.float32)
    X[X < 0.6] = 0.0                                         # mostly background, like MNIST
    return X, rng.integers(0, 10, n)


def data() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"train": images(48, 0), "validation": images(16, 1), "test": images(16, 2)}


def config(**kw) -> TrainConfig:
    return TrainConfig(**{"model": "vae", "epochs": 2, "batch_size": 16, "seed": 3, "dtype": "float64", **kw})


def test_scratch_backend_of_the_vae_reports_its_three_metrics(tmp_path: Path):
    trainer = Trainer(config(beta=4.0, latent_dim=3), data(), tmp_path / "run", [Checkpointer()])
    assert isinstance(trainer.backend, ScratchVAEBackend)
    summary = trainer.fit()
    row = trainer.history[-1]
    for split in ("train", "val"):
        assert {f"{split}_loss", f"{split}_reconstruction", f"{split}_kl"} <= set(row)
        assert row[f"{split}_loss"] == pytest.approx(row[f"{split}_reconstruction"] + 4.0 * row[f"{split}_kl"])
    assert trainer.history[1]["train_loss"] < trainer.history[0]["train_loss"]
    assert {"best_val_loss", "test_loss", "test_reconstruction", "test_kl"} <= set(summary)
    assert "best_val_acc" not in summary
    assert trainer.backend.model.fc21.out_features == 3


def test_a_resumed_vae_run_continues_as_if_never_stopped(tmp_path: Path):
    """The eps generator is in the checkpoint: the resumed run draws what the straight one drew."""
    straight = Trainer(config(epochs=3), data(), tmp_path / "a", [Checkpointer()])
    straight.fit()
    first = Trainer(config(epochs=1), data(), tmp_path / "b", [Checkpointer()])
    first.fit()
    resumed = Trainer(config(epochs=3), data(), tmp_path / "c", [Checkpointer()])
    resumed.resume(tmp_path / "b" / "last.npz")
    resumed.fit()
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
    for key, p in straight.backend.model.named_parameters():
        np.testing.assert_array_equal(dict(resumed.backend.model.named_parameters())[key].data, p.data, err_msg=key)


def test_both_backends_give_the_same_losses_from_the_same_weights(tmp_path: Path):
    """A scratch run's state loaded into the torch backend: the two libraries draw eps from
    different streams, so compare with eps = 0 (z = mu), where the loss is deterministic."""
    from torchnet.train import TorchVAEBackend

    scratch = Trainer(config(epochs=1), data(), tmp_path / "s", [Checkpointer()])
    scratch.fit()
    cfg = config(epochs=1, backend="torch", device="cpu").resolved()
    torch_backend = TorchVAEBackend(cfg)
    torch_backend.load_state(scratch.backend.state())
    X = data()["test"][0].reshape(-1, 784).astype(np.float64)
    import torch

    from scratchnet.losses import VAELoss
    from torchnet.losses import vae_loss

    ours = scratch.backend.model
    X_hat, mu, logvar = ours(X, np.zeros((len(X), 2)))
    with torch.no_grad():
        Xt = torch.from_numpy(X)
        Xh_t, mu_t, lv_t = torch_backend.model(Xt, torch.zeros(len(X), 2, dtype=torch.float64))
        theirs = vae_loss(Xh_t, Xt, mu_t, lv_t)
    np.testing.assert_allclose(VAELoss()(X_hat, X, mu, logvar), float(theirs), rtol=1e-10)


def test_the_torch_backend_trains_the_vae_with_the_same_metrics(tmp_path: Path):
    from torchnet.train import TorchVAEBackend

    cfg = config(backend="torch", device="cpu", beta=10.0).resolved()
    trainer = Trainer(cfg, data(), tmp_path / "t", backend=TorchVAEBackend(cfg))
    trainer.fit()
    row = trainer.history[-1]
    assert row["val_loss"] == pytest.approx(row["val_reconstruction"] + 10.0 * row["val_kl"])
    assert trainer.history[1]["train_loss"] < trainer.history[0]["train_loss"]


def test_a_vae_makes_no_class_predictions_and_checks_its_settings():
    with pytest.raises(TypeError, match="vae: a VAE reconstructs images and makes no class predictions"):
        ScratchVAEBackend(config().resolved()).predict(np.zeros((2, 784)))
    with pytest.raises(ValueError, match=r"beta must be a finite number >= 0, got -1.0"):
        config(beta=-1.0).resolved()
    with pytest.raises(ValueError, match=r"latent_dim must be >= 1, got 0"):
        config(latent_dim=0).resolved()


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_scratchnet_train_vae_on_the_command_line(fake_mnist: bytes, tmp_path: Path, capsys, backend: str):
    out = tmp_path / backend
    assert cli.main(["train", "vae", "--backend", backend, "--beta", "10", "--latent-dim", "2", "--epochs", "2",
                     "--batch-size", "10", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "  beta          10\n  latent_dim    2\n" in text
    assert "train_reconstruction" in text and "val_kl" in text
    assert "done: 2 epochs, best validation loss" in text and "test loss" in text and f"({backend})" in text
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 2 and {"train_kl", "val_reconstruction"} <= set(rows[0])
    assert json.loads((out / "metrics.json").read_text())["summary"]["epochs_run"] == 2
    assert not (out / "report.json").exists()  # no classification report for a VAE
