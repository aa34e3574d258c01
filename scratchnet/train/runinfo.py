"""A run folder that explains itself: ``config.json`` and the configuration table printed at the start.

``config.json`` holds every resolved option (the :class:`TrainConfig` after the model's defaults),
the backend, the versions, when the run started, the command line (``sys.argv`` as it was, and
the ``scratchnet`` command it amounts to) and, for a resumed run, the checkpoint it continued
from. A run resumed in its own folder rewrites the file for the invocation now running and
appends that invocation to ``invocations``, so the folder's whole story stays in it.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data.sources import atomic_write
from .config import TORCH_ONLY, TrainConfig

#: The file name, in the run folder.
CONFIG_FILE = "config.json"
#: The width of the table's first column (the longest option name, so runs line up alike).
TABLE_WIDTH = len("weight_decay")


def _versions(backend: str) -> dict[str, str]:
    import numba
    import numpy

    from .. import __version__
    from ..kernels import tiers

    out = {"scratchnet": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
           "numba": numba.__version__, "kernels": tiers.current()}
    if backend == "torch" and "torch" in sys.modules:  # imported by the torch backend already; never here
        out["torch"] = str(sys.modules["torch"].__version__)
    return out


def run_config(config: TrainConfig, command: Sequence[str], *, argv: Sequence[str] | None = None,
               resumed_from: str | Path | None = None, folds: int | None = None) -> dict[str, Any]:
    """The ``config.json`` document of one invocation (see the module's docstring).

    ``command``: the ``scratchnet`` arguments after the program name (``["train", "book_mlp", ...]``);
    ``argv``: the process's own command line (default ``sys.argv``).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"run_config: config must be a TrainConfig, got {type(config).__name__}")
    invocation = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": shlex.join(["scratchnet", *command]),
                  "argv": list(sys.argv if argv is None else argv),
                  "resumed_from": None if resumed_from is None else str(resumed_from)}
    return {"config": dataclasses.asdict(config), "backend": config.backend, "folds": folds,
            "versions": _versions(config.backend), **invocation, "invocations": [invocation]}


def write_run_config(run_dir: str | Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` (from :func:`run_config`) as ``run_dir/config.json``, atomically; return its path.

    For a resumed run (``doc["resumed_from"]`` set) whose folder already holds a config.json, the
    earlier ``invocations`` are kept in front of this one; a fresh run replaces the file.
    """
    path = Path(run_dir) / CONFIG_FILE
    doc = dict(doc)
    if doc.get("resumed_from") and path.is_file():
        try:
            earlier = json.loads(path.read_text()).get("invocations", [])
        except (OSError, ValueError, AttributeError):
            earlier = []  # unreadable: this invocation starts the list again
        doc["invocations"] = [*earlier, *doc["invocations"]]
    atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode())
    return path


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_table(config: TrainConfig, extra: dict[str, Any] | None = None) -> str:
    """The options that matter for ``config`` as an aligned two-column table, one per line.

    Always the model, backend, data and optimisation; the others when they are in use (momentum
    with SGD, a non-zero weight decay, augmentation, a subset, patience, the torch device and
    options (nproc, amp, channels_last, compile), dropout, the VAE's beta and latent size).
    ``extra`` adds rows at the end (the run folder, --folds, --resume).
    """
    c = config
    rows: dict[str, Any] = {"model": c.model, "backend": c.backend, "dataset": c.dataset}
    if c.subset:
        rows["subset"] = f"first {c.subset} training images"
    rows.update(epochs=c.epochs, batch_size=c.batch_size, optimizer=c.optimizer, lr=c.lr)
    if c.optimizer == "sgd":
        rows["momentum"] = c.momentum
    if c.weight_decay:
        rows["weight_decay"] = c.weight_decay
    if c.augment:
        rows["augment"] = "random crop and flip"
    if c.patience:
        rows["patience"] = c.patience
    if c.model == "vae":
        rows.update(beta=c.beta, latent_dim=c.latent_dim)
    rows.update(seed=c.seed, split_seed=c.split_seed, dtype=c.dtype)
    if c.backend == "torch":
        rows["device"] = c.device or "cuda when present, else cpu"
    rows.update({k: getattr(c, k) for k, default in TORCH_ONLY.items() if getattr(c, k) != default})
    if c.dropout is not None:
        rows["dropout"] = c.dropout
    rows.update({k: v for k, v in (extra or {}).items() if v is not None})
    width = max(TABLE_WIDTH, *map(len, rows))
    return "\n".join(f"  {name:<{width}}  {_fmt(value)}" for name, value in rows.items())
