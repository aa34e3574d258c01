"""Snapshots for the pictures (``scratchnet viz``): what the network has learnt, at a cadence;
and :class:`StepLog`, the metrics every N batches of the first epoch (``steps.csv``).

Each snapshot is one ``.npz`` in ``RUN_DIR/snapshots/`` (``0001.npz``, ``0002.npz``, ...), written
to a temporary file and renamed, holding the epoch and the batch it was taken after (0 for the
epoch's end; the first snapshot, epoch 0, is the untrained network) and:

- ``latent_mu`` ``(n, latent)``: the VAE encoder's means of a fixed, class-stratified set of test
  images (``labels`` ``(n,)``), when the backend can ``encode``;
- ``hidden`` ``(n, width)``: the activations of a narrow hidden layer (``latent3``'s 3 nodes) of
  the same images, when the backend has ``hidden``;
- ``weights`` ``(10, 784)``: ``linear_mask``'s weight matrix, one mask per digit.

Either backend writes the same arrays, so every picture comes out of either run folder.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from ..data.sources import atomic_write
from .callbacks import Callback, append_csv_row

if TYPE_CHECKING:
    from .loop import Trainer

PER_CLASS = 50  # images per class in the fixed set: 500 points in a latent scatter


def stratified(y: np.ndarray, per_class: int = PER_CLASS) -> np.ndarray:
    """Indices of the first ``per_class`` images of each class in ``y``, class by class."""
    return np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])


# --8<-- [start:snapshots]
class Snapshots(Callback):
    """Takes a snapshot at the end of every epoch and, with ``every`` set, every ``every`` batches."""

    def __init__(self, every: int | None = None) -> None:
        if every is not None and every < 1:
            raise ValueError(f"Snapshots: every must be a positive number of batches, got {every}")
        self.every, self.count, self.batch, self.epoch = every, 0, 0, 0

    def on_fit_start(self, trainer: Trainer) -> None:
        split = "test" if "test" in trainer.data else trainer.eval_split
        X, y = trainer.data[split]
        index = stratified(y)
        self.X, self.y = X[index], y[index]
        folder = trainer.run_dir / "snapshots"
        folder.mkdir(exist_ok=True)
        self.count = len(list(folder.glob("*.npz")))  # a resumed run continues the numbering
        if self.count == 0 and trainer.start_epoch == 1:
            self.epoch = self.batch = 0
            self.take(trainer)  # snapshot 1: the untrained network (epoch 0)

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        self.epoch, self.batch = epoch, 0

    def on_batch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self.batch += 1
        if self.every and self.batch % self.every == 0:
            self.take(trainer)

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        self.batch = 0  # an epoch's end is "batch 0" of its snapshots: the pictures say "epoch E"
        self.take(trainer)

    def take(self, trainer: Trainer) -> None:
        """Write the next snapshot of ``trainer.backend``."""
        backend, arrays = trainer.backend, {}
        if hasattr(backend, "encode"):
            arrays["latent_mu"] = backend.encode(self.X)
        if hasattr(backend, "hidden") and trainer.config.model == "latent3":
            arrays["hidden"] = backend.hidden(self.X)
        if trainer.config.model == "linear_mask":
            state = backend.state()
            arrays["weights"] = np.asarray(state["model/1.weight"])
        if not arrays:
            return
        self.count += 1
        buf = io.BytesIO()
        np.savez(buf, epoch=self.epoch, batch=self.batch, labels=self.y, **arrays)
        atomic_write(trainer.run_dir / "snapshots" / f"{self.count:04d}.npz", buf.getvalue())
# --8<-- [end:snapshots]


def load_snapshots(run_dir) -> list[dict[str, np.ndarray]]:
    """Every snapshot of a run folder, in order; a clear error when there is none."""
    from pathlib import Path

    files = sorted((Path(run_dir) / "snapshots").glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"{Path(run_dir) / 'snapshots'}: no snapshots (train with --snapshots to take them)")
    return [dict(np.load(f)) for f in files]


# --8<-- [start:step_log]
class StepLog(Callback):
    """``steps.csv``: every ``every`` batches of the first epoch, the mean of each training metric
    over those batches and every metric of the evaluation split (``val_``), so the changes inside
    the first epoch show (a VAE's KL: high, near zero, a sharp rise, a slow one)."""

    def __init__(self, every: int, epochs: int = 1) -> None:
        if every < 1:
            raise ValueError(f"StepLog: every must be a positive number of batches, got {every}")
        self.every, self.epochs = every, epochs
        self.sums: dict[str, float] = {}
        self.batch, self.seen, self.epoch = 0, 0, 0

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        self.epoch, self.batch, self.sums, self.seen = epoch, 0, {}, 0

    def on_batch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if self.epoch > self.epochs:
            return
        self.batch += 1
        self.sums = {k: self.sums.get(k, 0.0) + v for k, v in metrics.items()}
        self.seen += 1
        if self.batch % self.every:
            return
        from .backend import EVAL_BATCH_SIZE

        Xv, yv = trainer.data[trainer.eval_split]
        val = trainer.backend.evaluate(Xv, yv, EVAL_BATCH_SIZE)
        row = {"epoch": self.epoch, "batch": self.batch, **{f"train_{k}": v / self.seen for k, v in self.sums.items()},
               **{f"val_{k}": v for k, v in val.items()}}
        self.sums, self.seen = {}, 0
        append_csv_row(trainer.run_dir / "steps.csv", row)
# --8<-- [end:step_log]
