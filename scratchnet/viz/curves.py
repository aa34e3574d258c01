"""``curves.png``: the per-epoch metrics of ``metrics.csv``, training beside validation."""

from __future__ import annotations

import csv
from pathlib import Path

from .frames import pyplot


def curves(run_dir: Path) -> Path:
    """One panel per metric the run reports (``loss``, ``acc``, the VAE's ``reconstruction`` and
    ``kl``): its ``train_`` and ``val_`` values per epoch."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metrics (is {run_dir} a run folder?)")
    rows = list(csv.DictReader(open(path)))
    if not rows:
        raise ValueError(f"{path}: no epoch finished yet")
    names = [k[4:] for k in rows[0] if k.startswith("val_")] or [k[6:] for k in rows[0] if k.startswith("train_")]
    epochs = [int(r["epoch"]) for r in rows]
    plt = pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            key = f"{split}_{name}"
            if key in rows[0] and rows[0][key] != "":
                ax.plot(epochs, [float(r[key]) for r in rows], style, marker="o", ms=3,
                        label={"train": "training", "val": "validation"}[split])
        ax.set(xlabel="epoch", title=name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = run_dir / "curves.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
