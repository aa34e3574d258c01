"""``curves.png``: the per-epoch metrics of ``metrics.csv``, training beside validation."""

from __future__ import annotations

import csv
from pathlib import Path

from .frames import COLOURS, pyplot


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
    per_class = [k for k in rows[0] if k.startswith("val_acc_")]
    names = [k[4:] for k in rows[0] if k.startswith("val_") and k not in per_class] or \
        [k[6:] for k in rows[0] if k.startswith("train_")]
    if per_class:
        names.append("per-class accuracy")
    steps_path = run_dir / "steps.csv"
    steps = list(csv.DictReader(open(steps_path))) if steps_path.is_file() else []
    panels = [(rows, [float(r["epoch"]) for r in rows], "epoch")]
    if steps:  # the first epoch, every N batches (StepLog): a second row of panels
        panels.append((steps, [float(r["batch"]) for r in steps], "batch of the first epoch"))
    plt = pyplot()
    fig, axes = plt.subplots(len(panels), len(names), figsize=(4 * len(names), 3.2 * len(panels)), squeeze=False)
    for (table, x, xlabel), axrow in zip(panels, axes, strict=True):
        for ax, name in zip(axrow, names, strict=True):
            if name == "per-class accuracy":
                for k in per_class if table is rows else []:
                    ax.plot(x, [float(r[k]) for r in table], color=COLOURS[int(k[8:]) % 10], label=k[8:])
                ax.set(xlabel=xlabel, title="validation accuracy per class")
                if table is rows:
                    ax.legend(fontsize=6, ncol=2)
                continue
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


def follow(run_dir: Path, interval: float = 2.0, timeout: float | None = None, out=print) -> Path:
    """Redraw ``curves.png`` whenever the run appends an epoch, until it finishes (its
    ``metrics.json`` then holds a summary) or ``timeout`` seconds pass: the live plot."""
    import json
    import time

    start, stamp = time.monotonic(), None
    csv_path, json_path = run_dir / "metrics.csv", run_dir / "metrics.json"
    while True:
        if csv_path.is_file() and csv_path.stat().st_mtime_ns != stamp:
            stamp = csv_path.stat().st_mtime_ns
            out(f"redrew {curves(run_dir)}")
        done = json_path.is_file() and json.loads(json_path.read_text() or "{}").get("summary")
        if done or (timeout is not None and time.monotonic() - start > timeout):
            return run_dir / "curves.png"
        time.sleep(interval)
