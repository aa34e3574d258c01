"""k-fold cross-validation: one :class:`Trainer` per fold, then the mean and spread."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.sources import atomic_write
from ..data.splits import kfold_indices
from .backend import Backend
from .callbacks import Callback
from .config import TrainConfig
from .loop import Trainer, TrainingInterrupted
from .scratch import make_backend

#: The config fields a resumed cross-validation must share with the folds already done.
RESUME_MUST_MATCH = ("model", "dataset", "split_seed", "subset")


# --8<-- [start:cross_validate]
def cross_validate(config: TrainConfig, data: dict[str, tuple[np.ndarray, np.ndarray]], run_dir: Path, folds: int,
                   callbacks: Callable[[TrainConfig], Sequence[Callback]] = lambda c: (),
                   out: Callable[[str], None] = print,
                   backend_factory: Callable[[TrainConfig], Backend] = make_backend,
                   resume: bool = False) -> dict:
    """k-fold cross-validation: one fresh model per fold, trained on the other folds' images.

    The folds split ``data["train"]`` (``kfold_indices`` with ``config.split_seed``); each fold's
    held-out part is that run's validation split, ``data["test"]`` (if any) its test split. Every
    fold starts from the same seeded initialisation (``backend_factory(config)``, the scratch backend by
    default) and writes into ``run_dir/fold-K``; ``run_dir/cv.json`` holds the per-fold results and
    the mean and (population) standard deviation of the final validation and test accuracies. It is
    written after every fold (``"complete": false`` until the last), so ``resume=True`` continues an
    interrupted cross-validation in ``run_dir``: the folds cv.json lists are kept, the next one
    continues from its ``last.npz`` (or starts afresh without one), the rest run as usual.
    A signal stops it as :meth:`Trainer.fit` does (``TrainingInterrupted``, with ``fold`` set).
    """
    config, run_dir = config.resolved(), Path(run_dir)
    X, y = data["train"]
    results = _folds_done(run_dir, config, folds) if resume else []
    for r in results:
        out(f"== fold {r['fold']}/{folds}: done before, validation accuracy {r['final_val_acc']:.2%}")
    for k, (train_idx, val_idx) in enumerate(kfold_indices(len(X), folds, config.split_seed), start=1):
        if k <= len(results):
            continue
        out(f"== fold {k}/{folds}: {len(train_idx)} training images, {len(val_idx)} validation images")
        fold_data = {"train": (X[train_idx], y[train_idx]), "validation": (X[val_idx], y[val_idx])}
        if "test" in data:
            fold_data["test"] = data["test"]
        trainer = Trainer(config, fold_data, run_dir / f"fold-{k}", list(callbacks(config)),
                          backend=backend_factory(config))
        last = run_dir / f"fold-{k}" / "last.npz"
        if resume and last.is_file():
            trainer.resume(last)
            out(f"fold {k}: resumed from {last} at epoch {trainer.start_epoch}")
        try:
            summary = trainer.fit()
        except TrainingInterrupted as exc:
            exc.fold, exc.folds = k, folds
            raise
        results.append({"fold": k, "n_train": int(len(train_idx)), "n_validation": int(len(val_idx)),
                        **{key: summary[key] for key in ("final_val_acc", "best_val_acc", "test_acc", "epochs_run")
                           if key in summary}})
        out(f"fold {k}: validation accuracy {results[-1]['final_val_acc']:.2%}")
        if k < folds:
            _write(run_dir, {"config": dataclasses.asdict(config), "n_folds": folds, "complete": False,
                             "folds": results})
    doc: dict[str, Any] = {"config": dataclasses.asdict(config), "n_folds": folds, "complete": True, "folds": results}
    for key in ("final_val_acc", "test_acc"):
        values = np.array([r[key] for r in results if r.get(key) is not None], dtype=np.float64)
        if len(values):
            doc[f"{key}_mean"], doc[f"{key}_std"] = float(values.mean()), float(values.std())
    _write(run_dir, doc)
    per_fold = ", ".join(f"{r['final_val_acc']:.2%}" for r in results)
    out(f"cross-validation ({folds} folds): validation accuracy {doc['final_val_acc_mean']:.2%} "
        f"± {doc['final_val_acc_std']:.2%} (per fold {per_fold})"
        + (f"; test accuracy {doc['test_acc_mean']:.2%} ± {doc['test_acc_std']:.2%}" if "test_acc_mean" in doc else ""))
    return doc
# --8<-- [end:cross_validate]


def _write(run_dir: Path, doc: dict) -> None:
    atomic_write(run_dir / "cv.json", json.dumps(doc, indent=2).encode())


def _folds_done(run_dir: Path, config: TrainConfig, folds: int) -> list[dict]:
    """The folds an earlier, interrupted cross-validation in ``run_dir`` finished (from its cv.json)."""
    if not run_dir.is_dir():
        raise FileNotFoundError(f"cannot resume the cross-validation in {run_dir}: no such folder")
    path = run_dir / "cv.json"
    if not path.is_file():
        return []  # interrupted in its first fold
    doc = json.loads(path.read_text())
    saved = doc.get("config", {})
    for name in RESUME_MUST_MATCH:
        if saved.get(name) != getattr(config, name):
            raise ValueError(f"cannot resume the cross-validation in {run_dir}: its {name} is {saved.get(name)!r}, "
                             f"this run's is {getattr(config, name)!r}")
    n = doc.get("n_folds", len(doc.get("folds", [])))
    if n != folds:
        raise ValueError(f"cannot resume the cross-validation in {run_dir}: it has {n} folds, --folds is {folds}")
    return list(doc.get("folds", []))
