"""``train/tensorboard.py``: event files written by hand, read back by TensorBoard's own reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from scratchnet import cli
from scratchnet.train.tensorboard import EventWriter, crc32c


def test_crc32c_matches_the_published_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C catalogue's check value
    assert crc32c(b"") == 0


def read(log_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_scalars_and_an_image_come_back_from_tensorboards_reader(tmp_path: Path):
    import io

    from PIL import Image

    writer = EventWriter(tmp_path)
    for step in range(1, 4):
        writer.scalars(step, {"train/loss": 1.0 / step, "val/acc": 0.25 * step})
    buf = io.BytesIO()
    Image.fromarray(np.zeros((5, 7, 3), np.uint8)).save(buf, format="PNG")
    writer.image(3, "pictures/black", buf.getvalue())
    writer.close()
    acc = read(tmp_path)
    assert [e.step for e in acc.Scalars("train/loss")] == [1, 2, 3]
    np.testing.assert_allclose([e.value for e in acc.Scalars("train/loss")], [1.0, 0.5, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in acc.Scalars("val/acc")], [0.25, 0.5, 0.75], rtol=1e-6)
    (img,) = acc.Images("pictures/black")
    assert (img.step, img.width, img.height) == (3, 7, 5)


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_scratchnet_train_tensorboard_from_either_backend(fake_mnist: bytes, tmp_path: Path, backend: str):
    logs = tmp_path / "tb"
    assert cli.main(["train", "vae", "--backend", backend, "--epochs", "2", "--batch-size", "10", "--device", "cpu",
                     "--out", str(tmp_path / "run"), "--no-progress", "--tensorboard", str(logs)]) == 0
    acc = read(logs)
    tags = acc.Tags()
    assert {"train/loss", "train/kl", "val/reconstruction", "val/kl"} <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars("val/kl")] == [1, 2]
    assert {"vae/reconstructions", "vae/latent_means"} <= set(tags["images"])
    assert cli.main(["train", "latent3", "--epochs", "1", "--out", str(tmp_path / "c"), "--no-progress",
                     "--tensorboard", str(tmp_path / "tb2")]) == 0
    assert {"val/acc", "val/acc_0", "train/loss"} <= set(read(tmp_path / "tb2").Tags()["scalars"])
