"""The animations of what a run learnt, one frame per snapshot (``train/snapshots.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..train.snapshots import load_snapshots
from .frames import COLOURS, frame, pyplot, write_gif


def _need(snapshots: list[dict], key: str, run_dir: Path, model: str) -> None:
    if key not in snapshots[0]:
        raise ValueError(f"{run_dir}: its snapshots hold no {key!r}; this picture needs a {model} run "
                         f"(found {sorted(k for k in snapshots[0] if k not in ('epoch', 'batch', 'labels'))})")


def _title(s: dict) -> str:
    if int(s["epoch"]) == 0:
        return "before training"
    return f"epoch {int(s['epoch'])}" + (f", batch {int(s['batch'])}" if int(s["batch"]) else "")


def ellipse(mean: np.ndarray, cov: np.ndarray, n_std: float = 2.0, points: int = 60) -> np.ndarray:
    """``(points, 2)`` on the ``n_std`` contour of the Gaussian ``N(mean, cov)``: ``mean + n L u``
    with ``L`` the Cholesky factor of ``cov`` and ``u`` the unit circle."""
    t = np.linspace(0, 2 * np.pi, points)
    L = np.linalg.cholesky(cov + 1e-9 * np.eye(2))
    return mean + n_std * (L @ np.stack([np.cos(t), np.sin(t)])).T


# --8<-- [start:latents]
def latents(run_dir: Path) -> Path:
    """``latents.gif``: per snapshot, the encoder's means of the fixed test images, one colour per
    digit, and each digit's fitted Gaussian (its mean and 2-sigma covariance ellipse)."""
    snaps = load_snapshots(run_dir)
    _need(snaps, "latent_mu", run_dir, "vae")
    if snaps[0]["latent_mu"].shape[1] != 2:
        raise ValueError(f"{run_dir}: latents.gif draws a 2-D latent space, this run's has "
                         f"{snaps[0]['latent_mu'].shape[1]} dimensions")
    allmu = np.concatenate([s["latent_mu"] for s in snaps])
    lo, hi = np.percentile(allmu, 1, axis=0) - 0.5, np.percentile(allmu, 99, axis=0) + 0.5
    plt, frames = pyplot(), []
    for s in snaps:
        mu, y = s["latent_mu"], s["labels"]
        fig, ax = plt.subplots(figsize=(5, 5))
        for c in np.unique(y):
            pts = mu[y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=6, color=COLOURS[int(c) % 10], alpha=0.5, label=str(c))
            if len(pts) > 2:
                e = ellipse(pts.mean(0), np.cov(pts.T))
                ax.plot(e[:, 0], e[:, 1], color=COLOURS[int(c) % 10], lw=1.5)
                ax.plot(*pts.mean(0), "x", color=COLOURS[int(c) % 10], ms=8)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="z1", ylabel="z2", title=_title(s))
        ax.legend(loc="upper right", fontsize=6, markerscale=2, ncol=2)
        frames.append(frame(fig))
    return write_gif(frames, run_dir / "latents.gif")
# --8<-- [end:latents]


def masks(run_dir: Path) -> Path:
    """``masks.gif``: what linear_mask's ten weight vectors have learnt, as 28 x 28 images (red +,
    blue -), per snapshot: ``W - W_0``, the change since the untrained network (snapshot 0), so
    the random initial weights of pixels that are always dark (MNIST's border) do not hide it."""
    snaps = load_snapshots(run_dir)
    _need(snaps, "weights", run_dir, "linear_mask")
    W0 = snaps[0]["weights"] if int(snaps[0]["epoch"]) == 0 else np.zeros_like(snaps[0]["weights"])
    plt, frames = pyplot(), []
    for s in snaps:
        W = s["weights"] - W0
        m = float(np.abs(W).max()) or 1.0
        fig, axes = plt.subplots(2, 5, figsize=(7.5, 3.4))
        for d, ax in enumerate(axes.flat):
            ax.imshow(W[d].reshape(28, 28), cmap="RdBu_r", vmin=-m, vmax=m)
            ax.set_title(str(d), fontsize=9)
            ax.axis("off")
        fig.suptitle(_title(s))
        frames.append(frame(fig))
    return write_gif(frames, run_dir / "masks.gif")


def hidden3(run_dir: Path) -> Path:
    """``hidden3.gif``: latent3's three sigmoid units, each test digit a point in the unit cube."""
    snaps = load_snapshots(run_dir)
    _need(snaps, "hidden", run_dir, "latent3")
    plt, frames = pyplot(), []
    for s in snaps:
        H, y = s["hidden"], s["labels"]
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection="3d")
        for c in np.unique(y):
            pts = H[y == c]
            ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=5, color=COLOURS[int(c) % 10], label=str(c))
        ax.set(xlim=(0, 1), ylim=(0, 1), zlim=(0, 1), title=_title(s))
        ax.legend(loc="upper left", fontsize=6, ncol=2)
        frames.append(frame(fig))
    return write_gif(frames, run_dir / "hidden3.gif")
