"""``curves.png``: the per-epoch metrics of ``metrics.csv``, training beside validation."""

from __future__ import annotations

import csv
from pathlib import Path

from .frames import pyplot


def curves(run_dir: Path) -> Path:
    """One panel per metric the run reports (``loss``, ``acc``, the VAE's ``reconstruction`` and
    ``kl``): its ``train_`` and ``val_`` values per epoch; below, the same every N batches of the
    first epoch when the run logged them (``--log-every``, ``steps.csv``)."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metrics (is {run_dir} a run folder?)")
    rows = list(csv.DictReader(open(path)))
    if not rows:
        raise ValueError(f"{path}: no epoch finished yet")
    names = [k[4:] for k in rows[0] if k.startswith("val_")] or [k[6:] for k in rows[0] if k.startswith("train_")]
    steps_path = run_dir / "steps.csv"
    steps = list(csv.DictReader(open(steps_path))) if steps_path.is_file() else []
    panels = [(rows, [float(r["epoch"]) for r in rows], "epoch")]
    if steps:  # the first epoch, every N batches (StepLog): a second row of panels
        panels.append((steps, [float(r["batch"]) for r in steps], "batch of the first epoch"))
    plt = pyplot()
    fig, axes = plt.subplots(len(panels), len(names), figsize=(4 * len(names), 3.2 * len(panels)), squeeze=False)
    for (table, x, xlabel), axrow in zip(panels, axes, strict=True):
        for ax, name in zip(axrow, names, strict=True):
            for split, style in (("train", "-"), ("val", "--")):
                key = f"{split}_{name}"
                if key in table[0] and table[0][key] != "":
                    ax.plot(x, [float(r[key]) for r in table], style, marker="o", ms=3,
                            label={"train": "training", "val": "validation"}[split])
            ax.set(xlabel=xlabel, title=name)
            ax.legend(fontsize=8)
    fig.tight_layout()
    out = run_dir / "curves.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
