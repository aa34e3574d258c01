"""TensorBoard event files written by hand: scalars and PNG images, no TensorFlow, torch or
protobuf library needed (``scratchnet train ... --tensorboard DIR``; then ``tensorboard --logdir DIR``).

An event file is a sequence of TFRecords, ``len (uint64 LE) | crc(len) | data | crc(data)`` with
the masked CRC-32C of TFRecord, each ``data`` one ``Event`` protocol buffer:
``Event{wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5}``,
``Summary{value = 1 (repeated)}``, ``Value{tag = 1, simple_value = 2 (float), image = 4}``,
``Image{height = 1, width = 2, colorspace = 3, encoded_image_string = 4}``.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .callbacks import Callback

if TYPE_CHECKING:
    from .loop import Trainer


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum TFRecord uses."""
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _masked(data: bytes) -> bytes:
    c = crc32c(data)
    return struct.pack("<I", (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + payload


def _bytes(number: int, data: bytes) -> bytes:
    return _field(number, 2, _varint(len(data)) + data)


def event(step: int, *, summary: bytes | None = None, file_version: str | None = None) -> bytes:
    """One serialised ``Event``."""
    out = _field(1, 1, struct.pack("<d", time.time())) + _field(2, 0, _varint(step))
    if file_version is not None:
        out += _bytes(3, file_version.encode())
    if summary is not None:
        out += _bytes(5, summary)
    return out


def scalar(tag: str, value: float) -> bytes:
    """A ``Summary.Value`` holding a scalar."""
    return _bytes(1, _bytes(1, tag.encode()) + _field(2, 5, struct.pack("<f", value)))


def image(tag: str, png: bytes, height: int, width: int) -> bytes:
    """A ``Summary.Value`` holding a PNG image."""
    img = _field(1, 0, _varint(height)) + _field(2, 0, _varint(width)) + _field(3, 0, _varint(3)) + _bytes(4, png)
    return _bytes(1, _bytes(1, tag.encode()) + _bytes(4, img))


class EventWriter:
    """Appends events to ``DIR/events.out.tfevents.<time>.<host>``, flushed after each write."""

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.log_dir / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self._f = open(self.path, "ab")
        self.write(event(0, file_version="brain.Event:2"))

    def write(self, data: bytes) -> None:
        """One TFRecord."""
        header = struct.pack("<Q", len(data))
        self._f.write(header + _masked(header) + data + _masked(data))
        self._f.flush()

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Scalars at ``step``, tag by tag."""
        self.write(event(step, summary=b"".join(scalar(k, v) for k, v in values.items())))

    def image(self, step: int, tag: str, png: bytes) -> None:
        """A PNG image at ``step``."""
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(png)) as im:
            width, height = im.size
        self.write(event(step, summary=image(tag, png, height, width)))

    def close(self) -> None:
        """Close the file."""
        self._f.close()


class TensorBoard(Callback):
    """Each epoch's row as scalars (``train/loss``, ``val/acc``, ``val/acc_3``, ``val/kl``, ...) and,
    for the VAE, its reconstructions of eight test images and its latent scatter as images."""

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir, self.writer = Path(log_dir), None

    def on_fit_start(self, trainer: Trainer) -> None:
        self.writer = EventWriter(self.log_dir)

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        values = {}
        for key, value in row.items():
            split, _, name = key.partition("_")
            if split in ("train", "val") and isinstance(value, float | int):
                values[f"{split}/{name}"] = float(value)
        values["time/samples_per_s"] = float(row.get("samples_per_s", 0.0))
        self.writer.scalars(row["epoch"], values)
        if hasattr(trainer.backend, "encode"):
            self._vae_images(trainer, row["epoch"])

    def _vae_images(self, trainer: Trainer, step: int) -> None:
        import io

        import numpy as np

        from ..viz.frames import COLOURS, pyplot

        X, y = trainer.data["test" if "test" in trainer.data else trainer.eval_split]
        X8 = X[:8].reshape(8, -1)
        mu = trainer.backend.encode(X8)
        rec = trainer.backend.decode(mu)
        plt = pyplot()
        fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
        for k in range(8):
            axes[0, k].imshow(X8[k].reshape(28, 28), cmap="gray")
            axes[1, k].imshow(rec[k].reshape(28, 28), cmap="gray")
            axes[0, k].axis("off")
            axes[1, k].axis("off")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=60)
        plt.close(fig)
        self.writer.image(step, "vae/reconstructions", buf.getvalue())
        index = np.concatenate([np.flatnonzero(y == c)[:50] for c in np.unique(y)])
        m = trainer.backend.encode(X[index])
        if m.shape[1] >= 2:
            fig, ax = plt.subplots(figsize=(4, 4))
            ax.scatter(m[:, 0], m[:, 1], s=4, c=[COLOURS[int(c) % 10] for c in y[index]])
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=60)
            plt.close(fig)
            self.writer.image(step, "vae/latent_means", buf.getvalue())

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.writer is not None:
            self.writer.close()
