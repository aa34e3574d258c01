"""The loop: :class:`Trainer` runs a config on data through a backend and its callbacks.

It is task-agnostic: each mini-batch's named metrics (``backend.train_step``) are averaged into
``train_<name>``, each evaluation's into ``val_<name>``; any non-finite metric stops the run
with a message and leaves the last good checkpoint in place. SIGINT / SIGTERM during :meth:`Trainer.fit`
stop it between two mini-batches (see :mod:`.interrupt`) with :class:`TrainingInterrupted`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.batching import batches
from .backend import EVAL_BATCH_SIZE, Backend
from .callbacks import Callback
from .checkpoints import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .interrupt import Interrupted, StopRequest, signal_name, stop_signals
from .scratch import make_backend


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def _checkpoint_epoch(path: Path) -> int | None:
    """The epoch a checkpoint holds (reading only its ``meta``), None if it is missing or unreadable."""
    import json
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            return int(json.loads(str(z["meta"]))["epoch"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


class TrainingInterrupted(Interrupted):
    """SIGINT or SIGTERM stopped :meth:`Trainer.fit` between two mini-batches.

    ``epoch`` is the epoch it stopped in (of ``epochs``) after ``batches_done`` of ``num_batches``
    batches; ``checkpoint`` is the run's ``last.npz`` (None when no epoch has finished), holding
    ``checkpoint_epoch``; resuming from it redoes the epoch that was cut short. ``fold`` /
    ``folds`` are set by :func:`cross_validate`.
    """

    def __init__(self, signum: int, run_dir: Path, epoch: int, epochs: int, batches_done: int, num_batches: int,
                 checkpoint: Path | None, checkpoint_epoch: int | None) -> None:
        self.run_dir, self.epoch, self.epochs = Path(run_dir), epoch, epochs
        self.batches_done, self.num_batches = batches_done, num_batches
        self.checkpoint, self.checkpoint_epoch = checkpoint, checkpoint_epoch
        self.fold: int | None = None
        self.folds: int | None = None
        self.signum = int(signum)
        super().__init__(signum, self.where())

    def where(self) -> str:
        """Where it stopped: ``interrupted by SIGINT in epoch 3/10 after 7 of 50 batches``."""
        at = (f"epoch {self.epoch}/{self.epochs} after {self.batches_done} of {self.num_batches} batches"
              if self.epoch <= self.epochs else f"after the last epoch ({self.epochs}), before the test report")
        fold = f"fold {self.fold}/{self.folds}, " if self.fold is not None else ""
        return f"interrupted by {signal_name(self.signum)} in {fold}{at}"


def _first_non_finite(metrics: dict[str, float]) -> tuple[str, float] | None:
    return next(((k, v) for k, v in metrics.items() if not math.isfinite(v)), None)


@dataclass
class Trainer:
    """Runs ``config`` on ``data`` (``{"train": (X, y), "validation"|"test": (X, y)}``).

    ``backend`` defaults to the scratch backend; a torch run passes
    ``torchnet.train.TorchBackend(config)`` (scratchnet itself never imports torch).
    """

    config: TrainConfig
    data: dict[str, tuple[np.ndarray, np.ndarray]]
    run_dir: Path
    callbacks: Sequence[Callback] = ()
    backend: Backend | None = None
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    start_epoch: int = 1
    stop_reason: str | None = None
    diverged: bool = False

    def __post_init__(self) -> None:
        from ..models import check_input_shape

        self.config = self.config.resolved()
        if "train" not in self.data:
            raise ValueError(f"Trainer: data needs a 'train' split, got {sorted(self.data)}")
        for split, (X, _) in self.data.items():  # before anything is built or written
            try:
                check_input_shape(self.config.model, X.shape)
            except ValueError as exc:
                raise ValueError(f"{exc} (the {split!r} split of {self.config.dataset})") from None
        self.backend = self.backend or make_backend(self.config)
        self.run_dir = Path(self.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.rng = np.random.default_rng(self.config.seed)
        self.eval_split = "validation" if "validation" in self.data else "test"

    def save(self, path: Path) -> None:
        """Checkpoint the current state (see :func:`save_checkpoint`)."""
        epoch = self.history[-1]["epoch"] if self.history else self.start_epoch - 1
        save_checkpoint(path, self.backend, self.config, epoch, self.rng, self.history)

    def resume(self, path: Path) -> None:
        """Continue from a checkpoint as if the run had never stopped."""
        arrays, meta = load_checkpoint(path)
        saved = meta["config"]
        if saved["model"] != self.config.model:
            raise ValueError(f"checkpoint {path} is for model {saved['model']!r}, not {self.config.model!r}")
        self.backend.load_state(arrays)
        self.rng.bit_generator.state = meta["rng"]
        self.history = meta["history"]
        self.start_epoch = meta["epoch"] + 1

    # --8<-- [start:fit]
    def fit(self) -> dict:
        """Train for ``config.epochs`` epochs (or until a callback stops it); return the summary.

        Each epoch shuffles with the run's generator (``scratchnet.data.batches``); with
        ``config.augment`` each training batch is augmented (from the same generator). A last
        batch of a single image is left out of that epoch: BatchNorm cannot normalise one sample.
        The epoch's row holds the mean of each metric the backend reports, as ``train_<name>``
        and ``val_<name>``. SIGINT / SIGTERM stop it before the next mini-batch (the epoch that was
        cut short is not saved) with :class:`TrainingInterrupted`.
        """
        with stop_signals(redeliver=True) as stop:
            return self._fit(stop)

    def _fit(self, stop: StopRequest) -> dict:
        X, y = self.data["train"]
        Xv, yv = self.data[self.eval_split]
        bs = self.config.batch_size
        num_batches = math.ceil(len(X) / bs) - (len(X) % bs == 1 and len(X) > 1)
        for cb in self.callbacks:
            cb.on_fit_start(self)
        for epoch in range(self.start_epoch, self.config.epochs + 1):
            for cb in self.callbacks:
                cb.on_epoch_start(self, epoch, num_batches)
            start, totals, seen = time.perf_counter(), {}, 0
            for b, (X_b, y_b) in enumerate(batches(X, y, bs, rng=self.rng)):
                if stop.requested:
                    self._interrupted(stop, epoch, b, num_batches)
                if len(X_b) == 1 < bs:
                    continue  # a last batch of one image (see above)
                X_b = self.backend.augment(X_b, self.rng) if self.config.augment else X_b
                metrics = self.backend.train_step(X_b, y_b)
                if bad := _first_non_finite(metrics):
                    self._diverged(*bad, epoch, b)
                totals = {k: totals.get(k, 0.0) + v for k, v in metrics.items()}
                seen += len(X_b)
                for cb in self.callbacks:
                    cb.on_batch_end(self, metrics)
            seconds = time.perf_counter() - start
            val = self.backend.evaluate(Xv, yv, EVAL_BATCH_SIZE)
            if bad := _first_non_finite(val):
                self._diverged(*bad, epoch, "end (evaluation)")
            row = {"epoch": epoch, **{f"train_{k}": v / num_batches for k, v in totals.items()},
                   **{f"val_{k}": v for k, v in val.items()}, "seconds": seconds, "samples_per_s": seen / seconds}
            self.history.append(row)
            for cb in self.callbacks:
                cb.on_epoch_end(self, row)
            if self.stop_reason:
                break
        if stop.requested:  # after the last epoch, before the test split's evaluation and report
            self._interrupted(stop, self.config.epochs + 1, 0, num_batches)
        self.summary = self._summarise()
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.summary
    # --8<-- [end:fit]

    def _interrupted(self, stop: StopRequest, epoch: int, batches_done: int, num_batches: int) -> None:
        """Stop for the signal ``stop`` holds: close the callbacks' work, raise TrainingInterrupted."""
        stop.delivered = True
        last = self.run_dir / "last.npz"
        checkpoint_epoch = _checkpoint_epoch(last)
        if not self.history or checkpoint_epoch != self.history[-1]["epoch"]:
            checkpoint_epoch = None  # none, or an earlier run's in a reused folder: not this run's state
        exc = TrainingInterrupted(stop.signum, self.run_dir, epoch, self.config.epochs, batches_done, num_batches,
                                  last if checkpoint_epoch is not None else None, checkpoint_epoch)
        self.stop_reason = exc.where()
        self.summary = {"epochs_run": len(self.history), "stop_reason": self.stop_reason, "interrupted": True}
        for cb in self.callbacks:
            cb.on_interrupt(self)
        raise exc

    def _diverged(self, name: str, value: float, epoch: int, batch: int | str) -> None:
        last = self.run_dir / "last.npz"
        kept = f"the last good checkpoint is {last}" if last.exists() else "no epoch finished, so no checkpoint"
        self.stop_reason = (f"{self.config.model} ({self.config.backend}): {name} is {value} at epoch {epoch}, "
                            f"batch {batch}; stopped, {kept}. Try a learning rate below {self.config.lr}.")
        self.diverged = True
        self.summary = self._summarise()
        for cb in self.callbacks:
            cb.on_fit_end(self)
        raise TrainingDiverged(self.stop_reason)

    def _summarise(self) -> dict:
        """Epochs run, stop reason, ``final_val_<name>`` of each metric, the best validation
        accuracy (or lowest validation loss), throughput, and ``test_<name>`` on the test split."""
        out: dict[str, Any] = {"epochs_run": len(self.history), "stop_reason": self.stop_reason}
        if self.history:
            last = self.history[-1]
            seconds = sum(r["seconds"] for r in self.history)
            samples = sum(r["samples_per_s"] * r["seconds"] for r in self.history)
            out.update({f"final_{k}": v for k, v in last.items() if k.startswith("val_")})
            if "val_acc" in last:
                out["best_val_acc"] = max(r["val_acc"] for r in self.history)
            elif "val_loss" in last:
                out["best_val_loss"] = min(r["val_loss"] for r in self.history)
            out.update(train_seconds=seconds, samples_per_s=samples / seconds if seconds else float("nan"))
        if "test" in self.data and self.eval_split != "test":
            out.update({f"test_{k}": v for k, v in self.backend.evaluate(*self.data["test"], EVAL_BATCH_SIZE).items()})
        elif "test" in self.data:
            out["test_acc"] = out.get("final_val_acc")
        return out
