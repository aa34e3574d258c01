"""Checkpoints: one ``.npz`` of NumPy arrays (``model/<state_dict key>``, ``optim/...``, ``rng/...``)
and a JSON ``meta`` entry, written to a temporary file and renamed, readable by either backend."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..data.sources import atomic_write
from .backend import Backend
from .config import TrainConfig


# --8<-- [start:checkpoint]
def save_checkpoint(path: Path, backend: Backend, config: TrainConfig, epoch: int,
                    rng: np.random.Generator, history: list[dict]) -> None:
    """Write model, optimizer, config, epoch, RNG state and history to ``path`` atomically.

    The file is an ``.npz`` of NumPy arrays (``model/<key>``, ``optim/...``) plus a JSON
    ``meta`` entry, so a checkpoint from either backend loads into the other.
    """
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
