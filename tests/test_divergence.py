"""A run whose loss really diverges stops with a message on both backends and keeps its checkpoint.

``linear_mask`` (one linear layer, MSE on one-hot targets) with SGD at ``lr = 0.5``, ten times its
default and past the stability limit of that quadratic: the first epoch finishes, then the
weights oscillate with a growing amplitude until the loss overflows float32, in a later epoch.
Nothing is faked: the same CLI a user runs, on a small MNIST-format file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from scratchnet import cli
from scratchnet.train.checkpoints import load_checkpoint


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_a_diverging_learning_rate_stops_the_run_and_keeps_the_last_good_checkpoint(
        fake_mnist: bytes, tmp_path: Path, capsys, backend: str):
    out = tmp_path / backend
    args = ["train", "linear_mask", "--backend", backend, "--lr", "0.5", "--optimizer", "sgd", "--epochs", "8",
            "--batch-size", "5", "--out", str(out), "--no-progress"]
    code = cli.main(args + (["--device", "cpu"] if backend == "torch" else []))
    captured = capsys.readouterr()
    assert code == 2, captured.out[-2000:]
    message = captured.err
    assert "training stopped" in message and "Try a learning rate below 0.5" in message
    assert "Traceback" not in message
    epoch = int(message.split(" at epoch ")[1].split(",")[0])
    assert 2 <= epoch <= 8, message  # a real divergence: a good epoch first, then the blow-up
    assert f"the last good checkpoint is {out / 'last.npz'}" in message
    arrays, meta = load_checkpoint(out / "last.npz")
    assert meta["epoch"] == epoch - 1
    weights = [a for k, a in arrays.items() if k.startswith("model/")]
    assert weights and all(np.isfinite(a).all() for a in weights), "the kept checkpoint is a good one"
    assert all(math.isfinite(row["val_loss"]) for row in meta["history"])
