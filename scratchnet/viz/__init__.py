"""Pictures of a run folder (``scratchnet viz KIND RUN_DIR``), with matplotlib; GIFs with Pillow.

Each reads what the run wrote (``metrics.csv``, ``snapshots/*.npz``) and writes its file into the
run folder, the same from a scratch run as from a torch one:

    latents  -> latents.gif   the VAE's 2-D latent means per class, each class's fitted Gaussian
    masks    -> masks.gif     linear_mask's ten weight vectors as 28 x 28 images
    hidden3  -> hidden3.gif   latent3's three hidden units, test digits as points in 3-D
    curves   -> curves.png    loss and accuracy (or the VAE's losses) per epoch
    traverse -> traverse.gif, traverse.png   each VAE latent swept from -3 to 3, decoded
    manifold -> manifold.png  the decoded grid over a 2-D latent space
    predictions -> predictions.png   test images with guess and truth, confident mistakes first
"""

from __future__ import annotations

from pathlib import Path

from .curves import curves
from .model import manifold, predictions, traverse
from .snapshots import hidden3, latents, masks

COMMANDS = {"latents": latents, "masks": masks, "hidden3": hidden3, "curves": curves, "traverse": traverse,
            "manifold": manifold, "predictions": predictions}


def draw(kind: str, run_dir: str | Path) -> Path:
    """Write picture ``kind`` of ``run_dir`` into it; returns the file written."""
    if kind not in COMMANDS:
        raise ValueError(f"unknown picture {kind!r}; expected one of {sorted(COMMANDS)}")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: not a run folder (train with --out DIR first)")
    return COMMANDS[kind](run_dir)


__all__ = ["COMMANDS", "draw"]
