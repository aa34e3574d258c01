"""``make figures``: the notes' pictures, from short real runs (``python -m scratchnet.viz.figures``).

Trains, on MNIST from the cache: the ``vae`` with beta 1 and beta 10 (2-D latent, snapshots every
100 batches and at each epoch's end, the first epoch's losses every 10 batches), ``latent3`` and
``linear_mask`` (a snapshot per epoch); draws every picture into each run folder and copies the ones the notes show
into ``--out`` (default ``notes/figures``). ``--subset`` and ``--epochs`` make it a quick test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

# model, extra settings, snapshot cadence, the pictures the notes show: (picture, file, notes name)
RUNS = [
    ("vae", {"beta": 1.0}, 100, [("latents", "latents.gif", "vae-latents.gif"),
                                ("manifold", "manifold.png", "vae-manifold.png"),
                                ("traverse", "traverse.png", "vae-traverse.png"),
                                ("curves", "curves.png", "vae-curves.png")]),
    ("vae", {"beta": 10.0}, 100, [("latents", "latents.gif", "beta10-latents.gif"),
                                 ("manifold", "manifold.png", "beta10-manifold.png")]),
    ("latent3", {}, None, [("hidden3", "hidden3.gif", "latent3-hidden3.gif")]),
    ("linear_mask", {}, None, [("masks", "masks.gif", "linear-mask-masks.gif")]),
]


def main(argv: list[str] | None = None) -> int:
    """Train the runs, draw, copy; returns 0 (an exception says what failed)."""
    from ..data import load
    from ..data.splits import standard_splits
    from ..train import Checkpointer, MetricsLogger, TrainConfig, Trainer
    from ..train.snapshots import Snapshots, StepLog
    from . import draw

    parser = argparse.ArgumentParser(prog="python -m scratchnet.viz.figures", description=__doc__)
    parser.add_argument("--out", default="notes/figures", help="where the notes' pictures go")
    parser.add_argument("--runs", default="runs/figures", help="the run folders")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--subset", type=int, help="train on the first N images (a quick test)")
    args = parser.parse_args(argv)
    out, runs = Path(args.out), Path(args.runs)
    out.mkdir(parents=True, exist_ok=True)
    data = standard_splits("mnist", load("mnist"))
    if args.subset:
        data = {k: (X[:args.subset], y[:args.subset]) for k, (X, y) in data.items()}
    for model, extra, every, pictures in RUNS:
        config = TrainConfig(model=model, epochs=args.epochs, seed=0, **extra).resolved()
        run_dir = runs / f"{model}-{'-'.join(f'{k}{v:g}' for k, v in extra.items()) or 'default'}"
        shutil.rmtree(run_dir, ignore_errors=True)
        callbacks = [MetricsLogger(), Checkpointer(), Snapshots(every)] + ([StepLog(10)] if model == "vae" else [])
        Trainer(config, data, run_dir, callbacks).fit()
        for kind, name, target in pictures:
            draw(kind, run_dir)
            shutil.copyfile(run_dir / name, out / target)
            print(f"{out / target}  ({(out / target).stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
