"""Callbacks of :meth:`Trainer.fit`: progress, the epoch table, metrics files, checkpoints,
early stopping and the classification report. Each reads the epoch's row of *named metrics*
(``epoch``, ``train_<name>``, ``val_<name>``, ``seconds``, ``samples_per_s``), whatever the
backend reports, so none of them knows which task is being trained."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.datasets import DATASETS
from ..data.sources import atomic_write
from .backend import EVAL_BATCH_SIZE
from .config import TrainConfig

if TYPE_CHECKING:
    from .loop import Trainer


class Callback:
    """Hooks called by :meth:`Trainer.fit`; each may read ``trainer`` and the epoch's row."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_batch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None: ...
    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None: ...
    def on_epoch_end(self, trainer: Trainer, row: dict) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...
    def on_interrupt(self, trainer: Trainer) -> None: ...  # SIGINT/SIGTERM: fit stops; on_fit_end is not called


def monitored(row: dict, monitor: str | None = None) -> tuple[str, float]:
    """The metric a run is judged by and its score, higher is better.

    ``monitor`` names a row key; by default ``val_acc`` when the backend reports an accuracy,
    else ``val_loss``. Keys ending in ``acc`` are maximised, all others minimised (score ``-value``).
    """
    name = monitor or ("val_acc" if "val_acc" in row else "val_loss")
    if name not in row:
        raise ValueError(f"monitor {name!r} is not a metric of this run; the epoch row has {sorted(row)}")
    return name, row[name] if name.endswith("acc") else -row[name]


def describe(name: str) -> str:
    """``val_acc`` -> ``validation accuracy``, ``val_kl`` -> ``validation kl`` (for messages)."""
    split, _, metric = name.partition("_")
    split = {"val": "validation", "train": "training"}.get(split, split)
    return f"{split} {'accuracy' if metric == 'acc' else metric}" if metric else name


class ProgressBar(Callback):
    """A tqdm bar per epoch showing the running mean of the training loss."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled, self.bar, self.total, self.n = enabled, None, 0.0, 0

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        from tqdm.auto import tqdm

        self.total, self.n = 0.0, 0
        self.bar = tqdm(total=num_batches, desc=f"epoch {epoch}", leave=False, disable=not self.enabled,
                        unit="batch", mininterval=0.5)

    def on_batch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self.total, self.n = self.total + metrics["loss"], self.n + 1
        if self.bar is not None:
            self.bar.update()
            if self.n % 200 == 0:
                self.bar.set_postfix(loss=f"{self.total / self.n:.4f}", refresh=False)

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        if self.bar is not None:
            self.bar.close()

    def on_interrupt(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()


class EpochTable(Callback):
    """Prints one aligned row per epoch, one column per metric in the row (header first)."""

    LABELS = {"samples_per_s": "samples/s"}

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.out, self.header_done = out, False

    @staticmethod
    def _format(name: str) -> tuple[int, str]:
        """(width, format spec) of a column: accuracies as percentages, losses to 4 places."""
        if name == "epoch":
            return 5, ""
        if name.endswith("acc"):
            return 8, ".2%"
        if name == "seconds":
            return 8, ".2f"
        if name == "samples_per_s":
            return 10, ",.0f"
        return 10, ".4f"

    def on_fit_start(self, trainer: Trainer) -> None:
        self.header_done = False

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        columns = []
        for name in row:
            if name.startswith("val_acc_"):
                continue  # per-class accuracies: in metrics.csv and curves.png, too many for a table
            width, spec = self._format(name)
            columns.append((name, max(width, len(self.LABELS.get(name, name))), spec))
        if not self.header_done:
            self.out("  ".join(f"{self.LABELS.get(n, n):>{w}}" for n, w, _ in columns))
            self.header_done = True
        self.out("  ".join(f"{row[n]:>{w}{s}}" for n, w, s in columns))


def append_csv_row(path: Path, row: dict) -> None:
    """Append ``row`` to the CSV file ``path``, with a header of its keys when the file is new."""
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


class MetricsLogger(Callback):
    """``metrics.csv`` (one row per epoch) and ``metrics.json`` (config, rows, summary).

    At the start ``metrics.csv`` is rewritten from the trainer's history (empty for a new run; a
    resumed run's epochs from its checkpoint), so a run resumed in its own folder has each epoch once.
    """

    def on_fit_start(self, trainer: Trainer) -> None:
        path = trainer.run_dir / "metrics.csv"
        if not trainer.history:
            path.unlink(missing_ok=True)
            return
        buf = io.StringIO(newline="")
        for i, row in enumerate(trainer.history):
            writer = csv.DictWriter(buf, fieldnames=list(row))
            if i == 0:
                writer.writeheader()
            writer.writerow(row)
        atomic_write(path, buf.getvalue().encode())  # never a half-written file

    def on_interrupt(self, trainer: Trainer) -> None:
        self._write_json(trainer)

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        append_csv_row(trainer.run_dir / "metrics.csv", row)
        self._write_json(trainer)

    def on_fit_end(self, trainer: Trainer) -> None:
        self._write_json(trainer)

    @staticmethod
    def _write_json(trainer: Trainer) -> None:
        doc = {"config": dataclasses.asdict(trainer.config), "epochs": trainer.history, "summary": trainer.summary}
        atomic_write(trainer.run_dir / "metrics.json", json.dumps(doc, indent=2).encode())


class Checkpointer(Callback):
    """``last.npz`` after every epoch and ``best.npz`` at the best monitored score
    (validation accuracy when the backend reports one, else the lowest validation loss)."""

    def __init__(self, monitor: str | None = None) -> None:
        self.monitor, self.best = monitor, -float("inf")

    def on_fit_start(self, trainer: Trainer) -> None:
        """A resumed run's best so far comes from its history, so best.npz stays the best epoch."""
        self.best = max((monitored(row, self.monitor)[1] for row in trainer.history), default=-float("inf"))

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        trainer.save(trainer.run_dir / "last.npz")
        _, score = monitored(row, self.monitor)
        if score > self.best:
            self.best = score
            trainer.save(trainer.run_dir / "best.npz")


class EarlyStopping(Callback):
    """Stop when the monitored score (see :func:`monitored`) has not improved for ``patience`` epochs."""

    def __init__(self, patience: int, monitor: str | None = None) -> None:
        self.patience, self.monitor, self.best, self.waited = patience, monitor, -float("inf"), 0

    def on_fit_start(self, trainer: Trainer) -> None:
        """A resumed run counts the epochs without improvement from its history."""
        self.best, self.waited = -float("inf"), 0
        for row in trainer.history:
            self._update(row)

    def _update(self, row: dict) -> str:
        name, score = monitored(row, self.monitor)
        if score > self.best:
            self.best, self.waited = score, 0
        else:
            self.waited += 1
        return name

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        name = self._update(row)
        if self.waited >= self.patience:
            trainer.stop_reason = f"early stopping: no better {describe(name)} for {self.patience} epochs"


class PerClassAccuracy(Callback):
    """Adds ``val_acc_<c>`` (the accuracy on each class of the evaluation split; NaN for a class
    the split lacks) to every epoch's row, for ``metrics.csv`` and ``curves.png``; put it before
    the callbacks that write the row."""

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        X, y = trainer.data[trainer.eval_split]
        guess = trainer.backend.predict(X, EVAL_BATCH_SIZE)
        for c in range(len(DATASETS[trainer.config.dataset].classes)):
            mask = y == c
            row[f"val_acc_{c}"] = float((guess[mask] == c).mean()) if mask.any() else float("nan")  # no such image


# --8<-- [start:report]
class ClassificationReport(Callback):
    """At the end of a run: per-class precision / recall / F1 on the test split (else the
    validation split), printed as a table, saved as ``report.json`` with the confusion matrix,
    and drawn as ``confusion.png``. The model is the one the run ended with."""

    def __init__(self, class_names: Sequence[str], out: Callable[[str], None] = print) -> None:
        self.class_names, self.out = list(class_names), out

    def on_fit_end(self, trainer: Trainer) -> None:
        from ..metrics import classification_report, confusion_matrix, format_report, plot_confusion_matrix

        if trainer.diverged or not trainer.history:
            return
        split = "test" if "test" in trainer.data else trainer.eval_split
        X, y = trainer.data[split]
        y_pred = trainer.backend.predict(X, EVAL_BATCH_SIZE)
        report = classification_report(y, y_pred, self.class_names)
        M = confusion_matrix(y, y_pred, len(self.class_names))
        c = trainer.config
        doc = {"model": c.model, "backend": c.backend, "dataset": c.dataset, "split": split, "n": int(len(y)),
               **report, "class_names": self.class_names, "confusion_matrix": M.tolist()}
        atomic_write(trainer.run_dir / "report.json", json.dumps(doc, indent=2).encode())
        plot_confusion_matrix(M, self.class_names, trainer.run_dir / "confusion.png",
                              title=f"{c.model} ({c.backend}), {c.dataset} {split}: accuracy {report['accuracy']:.2%}")
        trainer.summary["report"] = {"split": split, "accuracy": report["accuracy"], "macro_f1": report["macro"]["f1"],
                                     "weighted_f1": report["weighted"]["f1"]}
        self.out(f"{split} report ({len(y)} images, {c.dataset}):\n{format_report(report)}")
# --8<-- [end:report]


def default_callbacks(config: TrainConfig, progress: bool = True,
                      out: Callable[[str], None] = print) -> list[Callback]:
    """Progress bar, per-class accuracy, epoch table, test report, metrics files, checkpoints, early
    stopping if asked for."""
    config = config.resolved()
    classes = DATASETS[config.dataset].classes
    classifier = config.model != "vae"  # a VAE has no classes
    per_class = [PerClassAccuracy()] if classifier else []
    report = [ClassificationReport(classes, out)] if classifier else []
    cbs: list[Callback] = [ProgressBar(progress), *per_class, EpochTable(out), *report, MetricsLogger(), Checkpointer()]
    if config.patience:
        cbs.append(EarlyStopping(config.patience))
    return cbs
