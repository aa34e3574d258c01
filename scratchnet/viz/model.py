"""Pictures drawn by the trained model itself: decoded latent sweeps and grids, test predictions.

The run's ``last.npz`` is loaded into a *scratch* backend built from the run's configuration (the
checkpoint format is one for both libraries), so a torch run's folder gives the same pictures
without torch.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .frames import frame, pyplot, write_gif


def run_backend(run_dir: Path):
    """``(config, backend)``: the run's configuration and its last weights in a scratch backend."""
    from ..train import TrainConfig, load_checkpoint
    from ..train.config import TORCH_ONLY
    from ..train.scratch import make_backend

    checkpoint = run_dir / "last.npz"
    arrays, meta = load_checkpoint(checkpoint)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in meta["config"].items() if k in fields})
    config = dataclasses.replace(config, backend="scratch", device=None, **TORCH_ONLY).resolved()
    backend = make_backend(config)
    backend.load_state(arrays)
    return config, backend


def _vae(run_dir: Path, picture: str):
    config, backend = run_backend(run_dir)
    if config.model != "vae":
        raise ValueError(f"{run_dir}: {picture} decodes latent points; this is a {config.model} run, not a vae")
    return config, backend


# --8<-- [start:traverse]
def traverse(run_dir: Path, steps: int = 13, span: float = 3.0) -> Path:
    """``traverse.png`` (one row per latent, ``steps`` columns from ``-span`` to ``span``, the other
    latents at 0) and ``traverse.gif`` (one frame per column: every latent's image at that value)."""
    config, backend = _vae(run_dir, "traverse")
    J, values = config.latent_dim, np.linspace(-span, span, steps)
    Z = np.zeros((J, steps, J))
    for j in range(J):
        Z[j, :, j] = values                                       # latent j swept, the rest at 0
    images = backend.decode(Z.reshape(-1, J)).reshape(J, steps, 28, 28)
    plt = pyplot()
    fig, axes = plt.subplots(J, steps, figsize=(steps * 0.7, J * 0.8), squeeze=False)
    for j in range(J):
        for k in range(steps):
            axes[j, k].imshow(images[j, k], cmap="gray", vmin=0, vmax=1)
            axes[j, k].axis("off")
            if j == 0:
                axes[j, k].set_title(f"{values[k]:+.1f}", fontsize=7)
    fig.suptitle("each row: one latent swept from -3 to 3, the others at 0", fontsize=9)
    png = run_dir / "traverse.png"
    fig.savefig(png, dpi=80)
    plt.close(fig)
    frames = []
    for k in range(steps):
        fig, axes = plt.subplots(1, J, figsize=(1.6 * J, 2.0), squeeze=False)
        for j in range(J):
            axes[0, j].imshow(images[j, k], cmap="gray", vmin=0, vmax=1)
            axes[0, j].set_title(f"z{j + 1} = {values[k]:+.1f}", fontsize=8)
            axes[0, j].axis("off")
        frames.append(frame(fig))
    return write_gif(frames, run_dir / "traverse.gif")
# --8<-- [end:traverse]


def manifold(run_dir: Path, n: int = 20, span: float = 3.0) -> Path:
    """``manifold.png``: the decoded images of an ``n x n`` grid over the 2-D latent space."""
    config, backend = _vae(run_dir, "manifold")
    if config.latent_dim != 2:
        raise ValueError(f"{run_dir}: manifold.png covers a 2-D latent space, this run's has {config.latent_dim}")
    values = np.linspace(-span, span, n)
    Z = np.array([[x, y] for y in values[::-1] for x in values])  # top row: the largest z2
    images = backend.decode(Z).reshape(n, n, 28, 28)
    canvas = images.transpose(0, 2, 1, 3).reshape(n * 28, n * 28)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, extent=(-span, span, -span, span))
    ax.set(xlabel="z1", ylabel="z2", title="decoded latent grid")
    out = run_dir / "manifold.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def predictions(run_dir: Path, count: int = 32) -> Path:
    """``predictions.png``: test images with the guess and the truth; mistakes (red) first, the
    most confident ones first, then correct guesses."""
    from ..data import load
    from ..data.splits import standard_splits

    config, backend = run_backend(run_dir)
    if config.model == "vae":
        raise ValueError(f"{run_dir}: predictions.png shows a classifier's guesses; a vae makes none")
    X, y = standard_splits(config.dataset, load(config.dataset), config.split_seed)["test"]
    scores = backend.scores(X)                                       # (N, 10)
    guess = scores.argmax(1)
    z = scores - scores.max(1, keepdims=True)
    confidence = (np.exp(z) / np.exp(z).sum(1, keepdims=True)).max(1)  # softmax of the outputs
    wrong = np.flatnonzero(guess != y)
    wrong = wrong[np.argsort(-confidence[wrong])]
    right = np.flatnonzero(guess == y)
    order = np.concatenate([wrong, right])[:count]
    plt = pyplot()
    cols = 8
    rows = int(np.ceil(len(order) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.35), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, order, strict=False):
        ax.imshow(X[i].reshape(X.shape[-2], X.shape[-1]) if X.shape[1] == 1 else X[i].transpose(1, 2, 0),
                  cmap="gray")
        bad = guess[i] != y[i]
        ax.set_title(f"{guess[i]} ({y[i]})", fontsize=8, color="red" if bad else "black")
    fig.suptitle(f"{config.model}: guess (truth); {len(wrong)} of {len(y)} test images wrong, "
                 f"most confident mistakes first", fontsize=9)
    out = run_dir / "predictions.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
