"""One training loop for both libraries: ``Trainer.fit`` with callbacks.

The loop knows nothing about NumPy or torch: a *backend* (``ScratchBackend`` here,
``torchnet.train.TorchBackend`` for PyTorch) turns a mini-batch into a loss and an update, and
moves its state in and out as NumPy arrays. Around the loop, callbacks show a progress bar,
print the per-epoch table, write ``metrics.csv`` / ``metrics.json``, keep checkpoints (written
to a temporary file and renamed), stop early, and at the end write the test report
(``report.json``, ``confusion.png``). A non-finite loss stops the run with a message and leaves
the last good checkpoint in place. :func:`cross_validate` runs one Trainer per fold.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .data.datasets import DATASETS
from .data.sources import atomic_write
from .data.splits import kfold_indices
from .data.transforms import cifar_augment


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


# --8<-- [start:config]
@dataclass
class TrainConfig:
    """Everything that defines a run; printed at the start and stored in every checkpoint.

    ``None`` fields take the model's defaults from ``scratchnet.models.SPECS``.
    """

    model: str
    backend: str = "scratch"            # "scratch" | "torch"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None        # "sgd" | "adam"
    momentum: float = 0.0
    weight_decay: float | None = None   # L2: g += weight_decay * p (torch.optim's)
    augment: bool | None = None         # random crop (4-padded) + horizontal flip of training batches
    dataset: str | None = None          # "mnist" | "fashion-mnist" | "cifar10"
    seed: int = 0
    split_seed: int = 0                 # validation holdout and k-fold assignment
    subset: int | None = None           # train on the first N training images only
    patience: int | None = None         # early stopping: epochs without a better validation accuracy
    out_dir: str = "runs"
    device: str | None = None           # torch backend: "cpu" | "cuda" (default: CUDA when present)
    dtype: str = "float32"
# --8<-- [end:config]

    def resolved(self) -> TrainConfig:
        """A copy with the model's defaults filled in (needs ``scratchnet.models.SPECS``)."""
        from .models import SPECS

        if self.model not in SPECS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {sorted(SPECS)}")
        if self.backend not in ("scratch", "torch"):
            raise ValueError(f"backend must be 'scratch' or 'torch', got {self.backend!r}")
        spec = SPECS[self.model]
        c = dataclasses.replace(self)
        c.epochs = spec.epochs if c.epochs is None else c.epochs
        c.batch_size = spec.batch_size if c.batch_size is None else c.batch_size
        c.lr = spec.lr if c.lr is None else c.lr
        c.optimizer = spec.optimizer if c.optimizer is None else c.optimizer
        c.weight_decay = spec.weight_decay if c.weight_decay is None else c.weight_decay
        c.augment = spec.augment if c.augment is None else c.augment
        c.dataset = spec.dataset if c.dataset is None else c.dataset
        if c.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {c.dataset!r}; expected one of {sorted(DATASETS)}")
        for name in ("epochs", "batch_size"):
            if getattr(c, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(c, name)}")
        if not (c.lr > 0 and math.isfinite(c.lr)):
            raise ValueError(f"lr must be a positive finite number, got {c.lr}")
        if not (c.weight_decay >= 0 and math.isfinite(c.weight_decay)):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {c.weight_decay}")
        return c


class Backend(Protocol):
    """What the loop needs from a library. Arrays in and out are NumPy.

    ``train_step`` runs the model in training mode (BatchNorm batch statistics, dropout on);
    ``evaluate`` and ``predict`` in evaluation mode. ``augment`` transforms a training batch,
    drawing its randomness from the run's generator. ``state`` holds the model, the optimizer and
    the library's own random streams (dropout), so a resumed run continues exactly.
    """

    def train_step(self, X: np.ndarray, y: np.ndarray) -> float: ...
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]: ...
    def predict(self, X: np.ndarray, batch_size: int) -> np.ndarray: ...
    def augment(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...
    def state(self) -> dict[str, np.ndarray]: ...
    def load_state(self, state: dict[str, np.ndarray]) -> None: ...


#: Evaluation batch size: large enough to be quick, small enough for the CNNs' im2col buffers.
EVAL_BATCH_SIZE = 250


# ----------------------------------------------------------------------------- scratch backend

def one_hot(y: np.ndarray, num_classes: int, dtype: np.dtype) -> np.ndarray:
    """``(N,)`` int labels -> ``(N, num_classes)`` one-hot rows."""
    out = np.zeros((len(y), num_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def flatten_state(prefix: str, obj: Any, out: dict[str, np.ndarray]) -> None:
    """Nested dicts/lists of arrays and numbers -> flat ``{"a/b/0": array}`` (for .npz files).

    Dict keys become path parts (int keys come back as ints); a list of dicts becomes parts
    ``#0, #1, ...`` (a list again on the way back); numbers, arrays and lists of numbers are
    leaves; ``None`` is dropped.
    """
    if isinstance(obj, dict):
        for k, v in obj.items():
            flatten_state(f"{prefix}/{k}" if prefix else str(k), v, out)
    elif isinstance(obj, list | tuple) and obj and isinstance(obj[0], dict):
        for i, v in enumerate(obj):
            flatten_state(f"{prefix}/#{i}", v, out)
    elif obj is not None:
        out[prefix] = np.asarray(obj)


def unflatten_state(flat: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
    """Inverse of :func:`flatten_state` for the keys under ``prefix``."""

    def key(part: str) -> int | str:
        return int(part) if part.isdigit() else part

    root: dict[Any, Any] = {}
    for name, value in flat.items():
        if not name.startswith(prefix + "/"):
            continue
        parts = name[len(prefix) + 1:].split("/")
        node = root
        for p in parts[:-1]:
            node = node.setdefault(key(p), {})
        node[key(parts[-1])] = value[()] if value.ndim == 0 else value

    def lists(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node and all(isinstance(k, str) and k.startswith("#") for k in node):
            return [lists(node[f"#{i}"]) for i in range(len(node))]
        return {k: lists(v) for k, v in node.items()}

    return lists(root)


class ScratchBackend:
    """A zoo model trained with scratchnet's modules, losses and optimizers."""

    def __init__(self, config: TrainConfig) -> None:
        from . import losses, models, optim

        spec = models.SPECS[config.model]
        self.dtype = np.dtype(config.dtype)
        self.model = getattr(models, config.model)(dtype=self.dtype, rng=np.random.default_rng(config.seed))
        self.loss_name = spec.loss
        self.loss = {"quadratic": losses.QuadraticCost, "cross_entropy_sigmoid": losses.CrossEntropyCost,
                     "cross_entropy": losses.CrossEntropyLoss, "mse_onehot": losses.MSELoss}[spec.loss]()
        params = list(self.model.parameters())
        if config.optimizer == "sgd":
            self.opt = optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
        elif config.optimizer == "adam":
            self.opt = optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        else:
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}")

    def _targets(self, y: np.ndarray, num_classes: int) -> np.ndarray:
        return y if self.loss_name == "cross_entropy" else one_hot(y, num_classes, self.dtype)

    # --8<-- [start:scratch_step]
    def train_step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One mini-batch: forward, loss, backward (gradients accumulate), optimizer step."""
        self.model.train()
        self.opt.zero_grad()
        y_hat = self.model(X.astype(self.dtype, copy=False))      # (N, 10)
        if not np.isfinite(y_hat).all():
            return float("nan")  # diverged: the loop stops and keeps the last good checkpoint
        value = self.loss(y_hat, self._targets(y, y_hat.shape[1]))
        self.model.backward(self.loss.backward())                  # fills every .grad
        self.opt.step()
        return float(value)
    # --8<-- [end:scratch_step]

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
        """Mean loss and accuracy over ``(X, y)``, in evaluation mode."""
        self.model.eval()
        total_loss, correct = 0.0, 0
        for start in range(0, len(X), batch_size):
            Xb, yb = X[start:start + batch_size].astype(self.dtype, copy=False), y[start:start + batch_size]
            y_hat = self.model(Xb)
            if not np.isfinite(y_hat).all():
                return float("nan"), float("nan")  # the loop reports divergence
            total_loss += float(self.loss(y_hat, self._targets(yb, y_hat.shape[1]))) * len(yb)
            correct += int((y_hat.argmax(axis=1) == yb).sum())
        return total_loss / len(X), correct / len(X)

    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """Class predictions ``(N,)`` for ``X``, in evaluation mode."""
        self.model.eval()
        return np.concatenate([self.model(X[s:s + batch_size].astype(self.dtype, copy=False)).argmax(axis=1)
                               for s in range(0, len(X), batch_size)])

    def augment(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Random crop of the 4-padded images, then a random left-right flip (NumPy, from ``rng``)."""
        return cifar_augment(X, rng)

    def _dropouts(self) -> list:
        from .nn import Dropout

        return [m for m in self.model._modules() if isinstance(m, Dropout)]

    def state(self) -> dict[str, np.ndarray]:
        """Model, optimizer and the Dropout generators' states (JSON) as flat NumPy arrays."""
        out: dict[str, np.ndarray] = {}
        flatten_state("model", self.model.state_dict(), out)
        flatten_state("optim", self.opt.state_dict(), out)
        if self._dropouts():
            out["rng/dropout"] = np.array(json.dumps([m.rng.bit_generator.state for m in self._dropouts()]))
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state` (or the torch backend's: its random streams are its own)."""
        self.model.load_state_dict(unflatten_state(state, "model"))
        self.opt.load_state_dict(unflatten_state(state, "optim"))
        if "rng/dropout" in state:
            for m, saved in zip(self._dropouts(), json.loads(str(state["rng/dropout"])), strict=True):
                m.rng.bit_generator.state = saved


def make_backend(config: TrainConfig) -> Backend:
    """The backend named by ``config.backend`` (torch is imported only when asked for)."""
    if config.backend == "torch":
        from torchnet.train import TorchBackend

        return TorchBackend(config)
    return ScratchBackend(config)


# ----------------------------------------------------------------------------- checkpoints

# --8<-- [start:checkpoint]
def save_checkpoint(path: Path, backend: Backend, config: TrainConfig, epoch: int,
                    rng: np.random.Generator, history: list[dict]) -> None:
    """Write model, optimizer, config, epoch, RNG state and history to ``path`` atomically.

    The file is an ``.npz`` of NumPy arrays (``model/<key>``, ``optim/...``) plus a JSON
    ``meta`` entry, so a checkpoint from either backend loads into the other.
    """
    import io

    arrays = backend.state()
    meta = {"config": dataclasses.asdict(config), "epoch": epoch, "history": history,
            "rng": rng.bit_generator.state}
    arrays["meta"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(path, buf.getvalue())  # temporary file + rename: never half a checkpoint
# --8<-- [end:checkpoint]


def load_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the ``meta`` dict of a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if "meta" not in arrays:
        raise ValueError(f"{path} is not a scratchnet checkpoint (no 'meta' entry; has {sorted(arrays)[:5]})")
    return arrays, json.loads(str(arrays.pop("meta")))


# ----------------------------------------------------------------------------- callbacks

class Callback:
    """Hooks called by :meth:`Trainer.fit`; each may read ``trainer`` and the epoch's row."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_batch_end(self, trainer: Trainer, loss: float) -> None: ...
    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None: ...
    def on_epoch_end(self, trainer: Trainer, row: dict) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...


class ProgressBar(Callback):
    """A tqdm bar per epoch showing the running mean loss."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled, self.bar, self.total, self.n = enabled, None, 0.0, 0

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        from tqdm.auto import tqdm

        self.total, self.n = 0.0, 0
        self.bar = tqdm(total=num_batches, desc=f"epoch {epoch}", leave=False, disable=not self.enabled,
                        unit="batch", mininterval=0.5)

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        self.total, self.n = self.total + loss, self.n + 1
        if self.bar is not None:
            self.bar.update()
            if self.n % 200 == 0:
                self.bar.set_postfix(loss=f"{self.total / self.n:.4f}", refresh=False)

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        if self.bar is not None:
            self.bar.close()


class EpochTable(Callback):
    """Prints one aligned row per epoch."""

    COLUMNS = (("epoch", "{:>5}"), ("train_loss", "{:>10.4f}"), ("val_loss", "{:>10.4f}"),
               ("val_acc", "{:>8.2%}"), ("seconds", "{:>8.2f}"), ("samples_per_s", "{:>10,.0f}"))

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.out = out

    def on_fit_start(self, trainer: Trainer) -> None:
        self.out("epoch  train_loss   val_loss   val_acc   seconds   samples/s")

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        self.out("  ".join(fmt.format(row[name]) for name, fmt in self.COLUMNS))


class MetricsLogger(Callback):
    """``metrics.csv`` (one row per epoch) and ``metrics.json`` (config, rows, summary)."""

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        path = trainer.run_dir / "metrics.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        self._write_json(trainer)

    def on_fit_end(self, trainer: Trainer) -> None:
        self._write_json(trainer)

    @staticmethod
    def _write_json(trainer: Trainer) -> None:
        doc = {"config": dataclasses.asdict(trainer.config), "epochs": trainer.history, "summary": trainer.summary}
        atomic_write(trainer.run_dir / "metrics.json", json.dumps(doc, indent=2).encode())


class Checkpointer(Callback):
    """``last.npz`` after every epoch and ``best.npz`` at the best validation accuracy."""

    def __init__(self) -> None:
        self.best = -1.0

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        trainer.save(trainer.run_dir / "last.npz")
        if row["val_acc"] > self.best:
            self.best = row["val_acc"]
            trainer.save(trainer.run_dir / "best.npz")


class EarlyStopping(Callback):
    """Stop when the validation accuracy has not improved for ``patience`` epochs."""

    def __init__(self, patience: int) -> None:
        self.patience, self.best, self.waited = patience, -1.0, 0

    def on_epoch_end(self, trainer: Trainer, row: dict) -> None:
        if row["val_acc"] > self.best:
            self.best, self.waited = row["val_acc"], 0
        else:
            self.waited += 1
            if self.waited >= self.patience:
                trainer.stop_reason = f"early stopping: no better validation accuracy for {self.patience} epochs"


# --8<-- [start:report]
class ClassificationReport(Callback):
    """At the end of a run: per-class precision / recall / F1 on the test split (else the
    validation split), printed as a table, saved as ``report.json`` with the confusion matrix,
    and drawn as ``confusion.png``. The model is the one the run ended with."""

    def __init__(self, class_names: Sequence[str], out: Callable[[str], None] = print) -> None:
        self.class_names, self.out = list(class_names), out

    def on_fit_end(self, trainer: Trainer) -> None:
        from .metrics import classification_report, confusion_matrix, format_report, plot_confusion_matrix

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


# ----------------------------------------------------------------------------- the loop

@dataclass
class Trainer:
    """Runs ``config`` on ``data`` (``{"train": (X, y), "validation"|"test": (X, y)}``)."""

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
        from .models import check_input_shape

        self.config = self.config.resolved()
        if "train" not in self.data:
            raise ValueError(f"Trainer: data needs a 'train' split, got {sorted(self.data)}")
        for split, (X, _) in self.data.items():  # before anything is built or written
            try:
                check_input_shape(self.config.model, X.shape)
            except ValueError as exc:
                raise ValueError(f"{exc} (the {split!r} split of {self.config.dataset})") from None
        self.run_dir = Path(self.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.backend = self.backend or make_backend(self.config)
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

        Each epoch shuffles with the run's generator; with ``config.augment`` each training batch
        is augmented (from the same generator). A last batch of a single image is left out of
        that epoch: BatchNorm cannot normalise one sample.
        """
        X, y = self.data["train"]
        Xv, yv = self.data[self.eval_split]
        bs = self.config.batch_size
        num_batches = math.ceil(len(X) / bs) - (len(X) % bs == 1 and len(X) > 1)
        for cb in self.callbacks:
            cb.on_fit_start(self)
        for epoch in range(self.start_epoch, self.config.epochs + 1):
            order = self.rng.permutation(len(X))
            for cb in self.callbacks:
                cb.on_epoch_start(self, epoch, num_batches)
            start, total, seen = time.perf_counter(), 0.0, 0
            for b in range(num_batches):
                idx = order[b * bs:(b + 1) * bs]
                X_b = self.backend.augment(X[idx], self.rng) if self.config.augment else X[idx]
                loss = self.backend.train_step(X_b, y[idx])
                if not math.isfinite(loss):
                    self._diverged(loss, epoch, b)
                total, seen = total + loss, seen + len(idx)
                for cb in self.callbacks:
                    cb.on_batch_end(self, loss)
            seconds = time.perf_counter() - start
            val_loss, val_acc = self.backend.evaluate(Xv, yv, EVAL_BATCH_SIZE)
            if not math.isfinite(val_loss):
                self._diverged(val_loss, epoch, "end (evaluation)")
            row = {"epoch": epoch, "train_loss": total / num_batches, "val_loss": val_loss,
                   "val_acc": val_acc, "seconds": seconds, "samples_per_s": seen / seconds}
            self.history.append(row)
            for cb in self.callbacks:
                cb.on_epoch_end(self, row)
            if self.stop_reason:
                break
        self.summary = self._summarise()
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.summary
    # --8<-- [end:fit]

    def _diverged(self, loss: float, epoch: int, batch: int | str) -> None:
        last = self.run_dir / "last.npz"
        kept = f"the last good checkpoint is {last}" if last.exists() else "no epoch finished, so no checkpoint"
        self.stop_reason = (f"{self.config.model} ({self.config.backend}): loss is {loss} at epoch {epoch}, "
                            f"batch {batch}; stopped, {kept}. Try a learning rate below {self.config.lr}.")
        self.diverged = True
        self.summary = self._summarise()
        for cb in self.callbacks:
            cb.on_fit_end(self)
        raise TrainingDiverged(self.stop_reason)

    def _summarise(self) -> dict:
        out: dict[str, Any] = {"epochs_run": len(self.history), "stop_reason": self.stop_reason}
        if self.history:
            seconds = sum(r["seconds"] for r in self.history)
            samples = sum(r["samples_per_s"] * r["seconds"] for r in self.history)
            out.update(best_val_acc=max(r["val_acc"] for r in self.history),
                       final_val_acc=self.history[-1]["val_acc"], train_seconds=seconds,
                       samples_per_s=samples / seconds if seconds else float("nan"))
        if "test" in self.data and self.eval_split != "test":
            out["test_loss"], out["test_acc"] = self.backend.evaluate(*self.data["test"], EVAL_BATCH_SIZE)
        elif "test" in self.data:
            out["test_acc"] = out.get("final_val_acc")
        return out


def default_callbacks(config: TrainConfig, progress: bool = True,
                      out: Callable[[str], None] = print) -> list[Callback]:
    """Progress bar, epoch table, test report, metrics files, checkpoints, early stopping if asked for."""
    classes = DATASETS[config.resolved().dataset].classes
    cbs: list[Callback] = [ProgressBar(progress), EpochTable(out), ClassificationReport(classes, out),
                           MetricsLogger(), Checkpointer()]
    if config.patience:
        cbs.append(EarlyStopping(config.patience))
    return cbs


# ----------------------------------------------------------------------------- k-fold

# --8<-- [start:cross_validate]
def cross_validate(config: TrainConfig, data: dict[str, tuple[np.ndarray, np.ndarray]], run_dir: Path, folds: int,
                   callbacks: Callable[[TrainConfig], Sequence[Callback]] = lambda c: (),
                   out: Callable[[str], None] = print) -> dict:
    """k-fold cross-validation: one fresh model per fold, trained on the other folds' images.

    The folds split ``data["train"]`` (``kfold_indices`` with ``config.split_seed``); each fold's
    held-out part is that run's validation split, ``data["test"]`` (if any) its test split. Every
    fold starts from the same seeded initialisation and writes into ``run_dir/fold-K``;
    ``run_dir/cv.json`` holds the per-fold results and the mean and (population) standard
    deviation of the final validation and test accuracies.
    """
    config, run_dir = config.resolved(), Path(run_dir)
    X, y = data["train"]
    results = []
    for k, (train_idx, val_idx) in enumerate(kfold_indices(len(X), folds, config.split_seed), start=1):
        out(f"== fold {k}/{folds}: {len(train_idx)} training images, {len(val_idx)} validation images")
        fold_data = {"train": (X[train_idx], y[train_idx]), "validation": (X[val_idx], y[val_idx])}
        if "test" in data:
            fold_data["test"] = data["test"]
        summary = Trainer(config, fold_data, run_dir / f"fold-{k}", list(callbacks(config))).fit()
        results.append({"fold": k, "n_train": int(len(train_idx)), "n_validation": int(len(val_idx)),
                        **{key: summary[key] for key in ("final_val_acc", "best_val_acc", "test_acc", "epochs_run")
                           if key in summary}})
        out(f"fold {k}: validation accuracy {results[-1]['final_val_acc']:.2%}")
    doc: dict[str, Any] = {"config": dataclasses.asdict(config), "folds": results}
    for key in ("final_val_acc", "test_acc"):
        values = np.array([r[key] for r in results if r.get(key) is not None], dtype=np.float64)
        if len(values):
            doc[f"{key}_mean"], doc[f"{key}_std"] = float(values.mean()), float(values.std())
    atomic_write(run_dir / "cv.json", json.dumps(doc, indent=2).encode())
    per_fold = ", ".join(f"{r['final_val_acc']:.2%}" for r in results)
    out(f"cross-validation ({folds} folds): validation accuracy {doc['final_val_acc_mean']:.2%} "
        f"± {doc['final_val_acc_std']:.2%} (per fold {per_fold})"
        + (f"; test accuracy {doc['test_acc_mean']:.2%} ± {doc['test_acc_std']:.2%}" if "test_acc_mean" in doc else ""))
    return doc
# --8<-- [end:cross_validate]
